"""Sharded energies in real process groups: 4 gloo processes on the CPU (torch.multiprocessing), in groups of 2,
3 and 4 ranks.

The processes are spawned once (starting them costs far more than the cases). In each group, whose ranks are not
the global ranks except for the whole world, the members evaluate every case on every layout of shards (uneven,
one rank empty) and save what they got. The tests compare each rank's value and the concatenation of the ranks'
gradients with the single-process functions on the concatenated rows (float64), and check the sampled estimators
against the exact energy with a tolerance of several standard errors. Two ranks use only the ring's shared step
(``k = P/2``), three only owned pairs with gradients sent back, four both.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import thomson
import thomson.distributed as td
from thomson.engine import pairwise_sum
from thomson.kernels import Gaussian

N, D = 23, 5
WORLD = 4
GROUPS = {2: (0, 3), 3: (1, 2, 3), 4: (0, 1, 2, 3)}
"""The global ranks of the group of each size."""
LAYOUTS = {2: [(9, 14), (0, 23)], 3: [(7, 11, 5), (10, 0, 13)], 4: [(6, 3, 9, 5), (4, 0, 12, 7)]}
"""Rows per group rank, for each group size: uneven shards, and one rank with no rows."""

ENERGIES: dict[str, dict[str, Any]] = {
    "s=0": {"s": 0.0},
    "s=1": {"s": 1.0},
    "s=2": {"s": 2.0},
    "s=2 sum": {"s": 2.0, "reduction": "sum"},
    "angular s=1": {"s": 1.0, "metric": "angular"},
    "half space s=2": {"s": 2.0, "half_space": True},
    "half space angular s=0": {"s": 0.0, "metric": "angular", "half_space": True},
    "reference s=0": {"s": 0.0, "reference": True},
    "reference half space s=2": {"s": 2.0, "reference": True, "half_space": True},
    "eps=0 s=-1": {"s": -1.0, "eps": 0.0},
}
"""Keyword arguments of ``hyperspherical_energy``, single-process and sharded."""

KERNELS = {"gaussian": (Gaussian(width=0.7, shift=0.3), False), "gaussian half space": (Gaussian(width=0.4), True)}
"""Kernels for ``pairwise_sum`` (the engine level, any kernel)."""

ESTIMATES: dict[str, dict[str, Any]] = {
    "rows": {"s": 1.0, "samples": 6},
    "rows half space": {"s": 2.0, "samples": 6, "half_space": True},
    "rows all": {"s": 2.0, "samples": N},
    "pairs": {"s": 1.0, "samples": 40, "sampling": "pairs"},
    "pairs half space reference": {"s": 0.0, "samples": 40, "sampling": "pairs", "half_space": True, "reference": True},
}
"""Keyword arguments of ``estimate_energy`` (the generator is seeded by the test)."""

REPEATS = 60
"""Draws per estimator in the unbiasedness check."""
UNBIASED = 2
"""The group size that draws them."""
DRAWN = ("rows", "pairs")

OBJECTIVES = {
    "mhe half space": {"s": 2.0, "half_space": True},
    "mhe reference angular": {"s": 0.0, "metric": "angular", "reference": True},
}


def full_rows() -> torch.Tensor:
    """The rows of the whole set, the same in every process: norms in [0.5, 1.5] (the normalization matters)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, D, generator=g, dtype=torch.float64)
    return x * (0.5 + torch.rand(N, 1, generator=g, dtype=torch.float64)) / x.norm(dim=1, keepdim=True)


def inner_rows() -> torch.Tensor:
    """Rows for the kernels, which take rows as they are: norms in [0.3, 0.9], so that no cosine of a row with
    itself (the half-space term against its own negation) is at the clamp of ±1, where round-off would decide
    whether the kernel's derivative is 0."""
    return 0.6 * full_rows()


def split(x: torch.Tensor, sizes: tuple[int, ...], rank: int) -> torch.Tensor:
    start = sum(sizes[:rank])
    return x[start : start + sizes[rank]].clone()


def value_and_grad(fn: Any, x: torch.Tensor) -> tuple[float, torch.Tensor]:
    x = x.detach().requires_grad_()
    value = fn(x)
    value.backward()
    assert x.grad is not None
    return float(value.detach()), x.grad


def make_model(classes: int, weight: torch.Tensor) -> nn.Module:
    """A hidden layer (the same everywhere) and a classifier whose rows are ``weight``."""
    torch.manual_seed(1)
    with warnings.catch_warnings():  # a rank without classes: initializing its empty weight is a no-op, and says so
        warnings.simplefilter("ignore", UserWarning)
        model = nn.Sequential(nn.Linear(D, 6), nn.ReLU(), nn.Linear(6, classes, bias=False))
    with torch.no_grad():
        model[2].weight.copy_(weight)
    return model


def classifier_weight() -> torch.Tensor:
    return torch.randn(N, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float32)


def _run_cases(rank: int, size: int, group: dist.ProcessGroup | None) -> dict[Any, Any]:
    """What group rank ``rank`` of the group of ``size`` ranks gets in every case."""
    out: dict[Any, Any] = {}
    x = full_rows()
    for li, sizes in enumerate(LAYOUTS[size]):
        shard = split(x, sizes, rank)
        for name, kwargs in ENERGIES.items():
            out[li, "energy", name] = value_and_grad(
                lambda w, k=kwargs: td.hyperspherical_energy(w, group=group, **k), shard
            )
        inner = split(inner_rows(), sizes, rank)
        for name, (kernel, half) in KERNELS.items():
            out[li, "kernel", name] = value_and_grad(
                lambda w, k=kernel, h=half: td.pairwise_sum(w, k, half_space=h, group=group), inner
            )
        for name, kwargs in ESTIMATES.items():
            w = shard.detach().requires_grad_()
            est = td.estimate_energy(w, generator=torch.Generator().manual_seed(7), group=group, **kwargs)
            est.value.backward()
            out[li, "estimate", name] = (float(est.value.detach()), float(est.stderr), w.grad)
        # a repeated backward walks the ring again; under no_grad only the value is computed
        w = shard.detach().requires_grad_()
        energy = td.hyperspherical_energy(w, s=1.0, half_space=True, group=group)
        first = torch.autograd.grad(energy, w, retain_graph=True)[0]
        second = torch.autograd.grad(energy, w)[0]
        with torch.no_grad():
            out[li, "no_grad"] = float(td.hyperspherical_energy(w, s=1.0, half_space=True, group=group))
        out[li, "repeat"] = (first, second)
        # the regularizer with a sharded classifier
        for name, options in OBJECTIVES.items():
            model = make_model(sizes[rank], split(classifier_weight(), sizes, rank))
            reg = thomson.Regularizer(model, thomson.MHE(**options), classifier_group=group or dist.group.WORLD)
            value = reg()
            value.backward()
            out[li, "regularizer", name] = (
                float(value.detach()),
                reg.stats,
                model[0].weight.grad,
                model[2].weight.grad,
            )
    if size == UNBIASED:  # many draws of each estimator on the first layout (values only)
        shard = split(x, LAYOUTS[size][0], rank)
        for name in DRAWN:
            with torch.no_grad():
                out["draws", name] = [
                    float(
                        td.estimate_energy(
                            shard, generator=torch.Generator().manual_seed(100 + i), group=group, **ESTIMATES[name]
                        ).value
                    )
                    for i in range(REPEATS)
                ]
    # a rank that disagrees raises the same clear error on every rank instead of hanging
    for what, shard in (("s", x[:3]), ("dim", x[:3, : D - (rank == 1)])):
        try:
            td.hyperspherical_energy(shard, s=1.0 + (rank == 1 and what == "s"), group=group)
            out["mismatch", what] = ""
        except ValueError as error:
            out["mismatch", what] = str(error)
    return out


def _worker(rank: int, store: str, out: str) -> None:
    torch.set_num_threads(1)
    if sys.platform.startswith("linux"):
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        # every process takes part in creating every group; the whole world is the default group (None)
        groups = {size: None if len(ranks) == WORLD else dist.new_group(list(ranks)) for size, ranks in GROUPS.items()}
        results = {}
        for size, ranks in GROUPS.items():
            if rank in ranks:
                results[size] = _run_cases(ranks.index(rank), size, groups[size])
        torch.save(results, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


Results = dict[int, list[dict[Any, Any]]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """For each group size, every group rank's results (one start of all processes).

    The processes come from a fork server that has imported torch and thomson once (``spawn`` would import them
    in each process: several times the cases' own time on a 2-core machine)."""
    folder = tmp_path_factory.mktemp("sharded")
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    if method == "forkserver":
        mp.get_context(method).set_forkserver_preload(["torch", "thomson", "thomson.distributed", __name__])
    mp.start_processes(_worker, (str(folder / "store"), str(folder)), nprocs=WORLD, start_method=method)
    every = [torch.load(folder / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]
    return {size: [every[r][size] for r in ranks] for size, ranks in GROUPS.items()}


def check(results: list[dict[Any, Any]], key: tuple[Any, ...], value: float, grad: torch.Tensor) -> None:
    """Every rank's value equals ``value``; the ranks' gradients, concatenated, equal ``grad`` (float64)."""
    for rank, got in enumerate(results):
        assert got[key][0] == pytest.approx(value, rel=1e-10, abs=1e-12), (key, rank)
    grads = torch.cat([got[key][-1] for got in results])
    torch.testing.assert_close(grads, grad, rtol=1e-10, atol=1e-10 * float(grad.abs().max()), msg=str(key))


by_size = pytest.mark.parametrize("size", sorted(GROUPS))


@by_size
def test_exact_energy_matches_the_single_process_one(runs: Results, size: int) -> None:
    for li in range(len(LAYOUTS[size])):
        for name, kwargs in ENERGIES.items():
            value, grad = value_and_grad(lambda w, k=kwargs: thomson.hyperspherical_energy(w, **k), full_rows())
            check(runs[size], (li, "energy", name), value, grad)


@by_size
def test_any_kernel_of_the_engine(runs: Results, size: int) -> None:
    for li in range(len(LAYOUTS[size])):
        for name, (kernel, half) in KERNELS.items():
            value, grad = value_and_grad(lambda w, k=kernel, h=half: pairwise_sum(w, k, half_space=h), inner_rows())
            check(runs[size], (li, "kernel", name), value, grad)


def test_brute_force_reference_for_the_gaussian_pair_sum(runs: Results) -> None:
    """Independent of the engine: every pair of ``[x; -x]`` in a plain loop."""
    kernel, _ = KERNELS["gaussian half space"]
    points = torch.cat([inner_rows(), -inner_rows()])
    total = sum(float(kernel.value(points[i] @ points[j])) for i in range(2 * N) for j in range(i + 1, 2 * N))
    for size, results in runs.items():
        for li in range(len(LAYOUTS[size])):
            for got in results:
                assert got[li, "kernel", "gaussian half space"][0] == pytest.approx(total, rel=1e-12)


@by_size
def test_repeated_backward_and_no_grad(runs: Results, size: int) -> None:
    value, grad = value_and_grad(lambda w: thomson.hyperspherical_energy(w, s=1.0, half_space=True), full_rows())
    for li in range(len(LAYOUTS[size])):
        for got in runs[size]:
            first, second = got[li, "repeat"]
            torch.testing.assert_close(first, second, rtol=1e-12, atol=0)
            assert got[li, "no_grad"] == pytest.approx(value, rel=1e-10)
        grads = torch.cat([got[li, "repeat"][0] for got in runs[size]])
        torch.testing.assert_close(grads, grad, rtol=1e-10, atol=1e-12)


@by_size
def test_sampled_estimators_are_the_single_process_ones(runs: Results, size: int) -> None:
    """Rank 0's generator draws the sample: the same estimate, error and gradient as on the concatenation."""
    x = full_rows()
    for name, kwargs in ESTIMATES.items():
        w = x.detach().requires_grad_()
        est = thomson.estimate_energy(w, generator=torch.Generator().manual_seed(7), **kwargs)
        est.value.backward()
        assert w.grad is not None
        for li in range(len(LAYOUTS[size])):
            for rank, got in enumerate(runs[size]):
                value, stderr, _ = got[li, "estimate", name]
                assert value == pytest.approx(float(est.value.detach()), rel=1e-10), (name, rank)
                assert stderr == pytest.approx(float(est.stderr), rel=1e-8, abs=1e-14), (name, rank)
            grads = torch.cat([got[li, "estimate", name][2] for got in runs[size]])
            torch.testing.assert_close(grads, w.grad, rtol=1e-10, atol=1e-10 * float(w.grad.abs().max()), msg=name)
    exact = float(thomson.hyperspherical_energy(x, s=2.0))
    for got in runs[size]:  # every row drawn: the exact value, no error
        assert got[0, "estimate", "rows all"][:2] == (pytest.approx(exact, rel=1e-10), 0.0)


def test_sampled_estimators_are_unbiased(runs: Results) -> None:
    """The mean of many draws is within 4 standard errors (of that mean) of the exact energy."""
    results = runs[UNBIASED]
    for name in DRAWN:
        kwargs = {k: v for k, v in ESTIMATES[name].items() if k in ("s", "half_space")}
        exact = float(thomson.hyperspherical_energy(full_rows(), **kwargs))
        draws = torch.tensor(results[0]["draws", name], dtype=torch.float64)
        for got in results[1:]:  # every rank saw the same estimates
            assert got["draws", name] == pytest.approx(results[0]["draws", name], rel=1e-10)
        assert float(draws.std()) > 0.01 * exact  # the draws differ: the check has power
        stderr = float(draws.std()) / math.sqrt(REPEATS)
        assert abs(float(draws.mean()) - exact) < 4 * stderr, (name, float(draws.mean()), exact, stderr)


@by_size
def test_regularizer_with_a_sharded_classifier(runs: Results, size: int) -> None:
    """Each rank holds a slice of the classifier's rows: the value, the hidden layer's gradient and the
    classifier's gradient (concatenated) are those of the whole model in one process (float32)."""
    for name, options in OBJECTIVES.items():
        model = make_model(N, classifier_weight())
        reg = thomson.Regularizer(model, thomson.MHE(**options))
        value = reg()
        value.backward()
        assert model[0].weight.grad is not None and model[2].weight.grad is not None
        for li in range(len(LAYOUTS[size])):
            for rank, got in enumerate(runs[size]):
                total, stats, hidden, _ = got[li, "regularizer", name]
                assert total == pytest.approx(float(value.detach()), rel=1e-5), (name, rank)
                assert stats == pytest.approx(reg.stats, rel=1e-5)
                torch.testing.assert_close(hidden, model[0].weight.grad, rtol=1e-5, atol=1e-7)
            grads = torch.cat([got[li, "regularizer", name][3] for got in runs[size]])
            torch.testing.assert_close(grads, model[2].weight.grad, rtol=1e-4, atol=1e-6)


@by_size
def test_ranks_that_disagree_get_a_clear_error(runs: Results, size: int) -> None:
    for got in runs[size]:
        assert "disagree on the options" in got["mismatch", "s"]
        assert "disagree on the row dimension D" in got["mismatch", "dim"]
