"""``thomson.solve``: N points on the sphere S^(D-1) that minimize an energy, or best separate or cover it."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import Tensor

from thomson._validate import integer, real
from thomson.solve import limits
from thomson.solve.lbfgs import LocalRun
from thomson.solve.problem import ObjectiveName, make_problem
from thomson.solve.result import HIT_RTOL, SolveResult, StartKind
from thomson.solve.starts import perturbed_start, random_start, symmetric_start


def solve(
    n: int,
    dim: int = 3,
    s: float | None = None,
    *,
    objective: ObjectiveName = "riesz",
    restarts: int = 10,
    seed: int = 0,
    symmetric: bool = True,
    hop: float = 0.25,
    target: float | None = None,
    time_limit: float | None = None,
    max_iter: int = 20000,
    device: str | torch.device | None = None,
    callback: Callable[[int, float], None] | None = None,
    memory_limit: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> SolveResult:
    """Find ``n`` unit vectors in ``R^dim`` (points on ``S^(dim-1)``) optimizing ``objective``.

        riesz:       minimize  E_s = Σ_{i<j} |x_i - x_j|^(-s)   (s = 1, dim = 3: the Thomson problem)
        log:         minimize  E_0 = Σ_{i<j} -log |x_i - x_j|
        separation:  maximize  min_{i<j} ∠(x_i, x_j)              (the Tammes problem; value in degrees)
        covering:    minimize  max_{v ∈ S} min_i ∠(v, x_i)        (covering radius; value in degrees)

    Each start is taken to a local optimum by Riemannian L-BFGS on the product of spheres (float64, strong
    Wolfe line search, gradients by autograd through :func:`thomson.functional.hyperspherical_energy`),
    polished until the gradient vanishes to round-off; separation and covering go on from a high-``s``
    energy minimum with an SLSQP polish of the max-min (min-max) problem (needs scipy:
    ``pip install thomson[solve]``). The best local optimum wins. The starts: the symmetric configuration
    when ``symmetric`` and one is known, then ``restarts`` more, drawn from the seeded generator in a fixed
    pattern — a random start, then two basin-hopping starts (the best configuration so far, every point
    moved by a Gaussian step of a scale times the mean nearest-neighbour distance), and again. The scale
    starts at ``hop`` and adapts: ×1.2 after a hop that falls back into the best configuration's basin,
    ÷1.2 after one that leaves it, so that about half the hops explore whatever the size of the problem.

    Args:
        n: number of points, >= 2.
        dim: dimension of the ambient space, >= 2. Default 3.
        s: Riesz exponent for ``objective="riesz"`` (any real; default 1). Leave unset for the others.
        objective: ``"riesz"``, ``"log"``, ``"separation"`` or ``"covering"``. Default ``"riesz"``.
        restarts: starts after the symmetric one (random and basin-hopping), >= 0 (>= 1 when there is no
            symmetric start). Default 10.
        seed: seed of those starts. Default 0.
        symmetric: also start from a symmetric configuration where one is known (simplex, polygon,
            cross-polytope, Fibonacci spiral on S²). Default True.
        hop: first basin-hopping step, in mean nearest-neighbour distances; 0 makes every restart random.
            Default 0.25.
        target: stop as soon as a start reaches this value (at or below it; at or above for separation).
            Default None (run every start).
        time_limit: stop after this many seconds and return the best configuration so far: the optimizer checks
            the deadline at every iteration and line-search step, so the run ends within one evaluation of the
            objective after it (``SolveResult.timed_out`` says whether it did). Default None.
        max_iter: iteration limit of one local search. Default 20000.
        device: where the objective is evaluated (e.g. ``"cuda"``); starts are drawn on the CPU, so a seed
            gives the same starts everywhere. Default: CPU.
        callback: called as ``callback(start_index, value)`` after each start. Default None.
        memory_limit: bytes the solve may use. Before anything is allocated its peak memory is estimated
            (:func:`thomson.solve.limits.memory_estimate`) and a solve beyond the limit is refused with a
            ValueError naming both. Default None: the memory the machine has available; ``math.inf``: no check.
        progress: called with a line saying where the solve is (start, iteration, value, seconds) every 5
            seconds, and, for a large solve, once at the start with its size (pair terms per evaluation, memory).
            Default None.

    Returns:
        A :class:`~thomson.solve.SolveResult`: ``points``, ``value``, ``history`` and the value of each start.

    Example:
        >>> import thomson
        >>> result = thomson.solve(12, 3, s=1, restarts=2)   # the icosahedron, 30/a + 30/b + 3
        >>> round(result.value, 6)
        49.165253
    """
    _check_arguments(n, dim, restarts, max_iter, seed, time_limit, hop, memory_limit)
    problem = make_problem(objective, s, n, dim)
    need = limits.check_memory(n, dim, objective, memory_limit, symmetric=symmetric)
    if progress is not None and n * (n - 1) // 2 >= limits.LONG_RUN_PAIRS:
        progress(
            f"{n} points in R^{dim}: about {n * (n - 1) / 2:.1e} pair terms per evaluation, "
            f"about {limits.format_bytes(need)} of memory; a progress line every 5 s"
        )
    sym = symmetric_start(n, dim) if symmetric else None
    if sym is None and restarts == 0:
        raise ValueError(f"restarts must be >= 1 when there is no symmetric start (n={n}, dim={dim})")

    def better(a: float, b: float) -> bool:
        return a > b if problem.maximize else a < b

    generator = torch.Generator().manual_seed(seed)
    began = time.perf_counter()
    best: LocalRun | None = None
    best_index = 0
    values: list[float] = []
    kinds: list[StartKind] = []
    scale = hop
    starts = restarts + (sym is not None)
    with limits.watch(time_limit, progress) as watch:
        for index in range(starts):
            kind, x0 = _start(index, sym, best, scale, hop, (n, dim), generator)
            limits.stage(f"start {index + 1} of {starts} ({kind})")
            run = problem.local_search(x0.to(device), max_iter)
            values.append(run.value)
            kinds.append(kind)
            if callback is not None:
                callback(index, run.value)
            if kind == "hop" and best is not None:
                scale = _adapted_scale(scale, hop, run.value, best.value)
            if best is None or better(run.value, best.value):
                best, best_index = run, index
            if target is not None and not better(target, run.value):
                break
            if limits.expired():
                break
    assert best is not None
    return SolveResult(
        points=best.points.detach().cpu(),
        value=best.value,
        objective=objective,
        s=problem.s,
        history=best.history,
        start_values=tuple(values),
        best_start=best_index,
        start_kinds=tuple(kinds),
        seconds=time.perf_counter() - began,
        timed_out=watch.timed_out,
    )


def _check_arguments(
    n: int,
    dim: int,
    restarts: int,
    max_iter: int,
    seed: int,
    time_limit: float | None,
    hop: float,
    memory_limit: float | None,
) -> None:
    for name, value, low in (("n", n, 2), ("dim", dim, 2), ("restarts", restarts, 0), ("max_iter", max_iter, 1)):
        integer(name, value, low=low)
    integer("seed", seed)
    if time_limit is not None:
        real("time_limit", time_limit, low=0.0, strict=True)
    real("hop", hop, low=0.0, high=10.0)
    if memory_limit is not None and not (isinstance(memory_limit, (int, float)) and memory_limit > 0):
        raise ValueError(f"memory_limit must be a number of bytes > 0 (math.inf: no limit), got {memory_limit!r}")


def _start(
    index: int,
    sym: Tensor | None,
    best: LocalRun | None,
    scale: float,
    hop: float,
    shape: tuple[int, int],
    generator: torch.Generator,
) -> tuple[StartKind, Tensor]:
    """Start ``index``: the symmetric configuration first (when there is one); then a random start, followed,
    with ``hop > 0``, by two basin-hopping steps of size ``scale`` from the best configuration so far."""
    k = index - (sym is not None)
    if k < 0 and sym is not None:
        return "symmetric", sym
    if hop > 0 and best is not None and k % 3 != 0:
        return "hop", perturbed_start(best.points, scale, generator)
    return "random", random_start(*shape, generator)


def _adapted_scale(scale: float, hop: float, value: float, best: float) -> float:
    """The next hop's size: larger after a hop that fell back to the best value (×1.2), smaller otherwise, kept
    within ``[hop/4, 4·hop]``."""
    returned = abs(value - best) <= HIT_RTOL * max(1.0, abs(best))
    return min(max(scale * (1.2 if returned else 1 / 1.2), hop / 4), 4 * hop)
