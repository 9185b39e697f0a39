"""How uniform is each layer of a trained network? Per-layer measures against random and best-known values.

For every layer (a Linear or Conv weight, the rule of :mod:`thomson.layers` that ``Regularizer`` uses too; rows
``weight.flatten(1)``: ``N`` neurons in ``D`` dims) the report gives five measures of the neurons' directions,

    mhe_s0, mhe_s1, mhe_s2   MHE at s = 0, 1, 2: :func:`thomson.hyperspherical_energy` (mean over pairs)
    min_angle                the smallest angle between two neurons, in degrees
    mean_abs_cos             the mean over pairs of |cos|

each beside (a) its expectation for ``N`` independent uniformly random directions in ``D`` dims and (b) the
best value known for ``N`` points in ``D`` dims. How far a layer is from the best, relative to random, is
``gap = (value - best) / (random - best)``: 0 at the best configuration, about 1 for random directions.

(a) The cosine ``c`` of two independent uniform unit vectors in ``R^D`` has density ``∝ (1 - c²)^((D-3)/2)``,
i.e. their angle has density ``∝ sin^(D-2) θ`` on ``[0, π]``. A mean over pairs has the expectation of one
pair, computed by tanh-sinh quadrature on ``[0, π/2]`` and ``[π/2, π]`` (the kink of ``|cos|`` and, for
large ``D``, the peak of the density sit at the shared endpoint, where the rule puts its nodes). The energy
at ``s >= D - 1`` has an infinite expectation (the integrand ``θ^(D-2-s)`` is not integrable at 0). The
minimum angle over the ``M = N(N-1)/2`` pairs is approximated by treating the pairs as independent,
``P(θ_min > θ) ≈ (1 - F(θ))^M`` with ``F`` the angle's distribution function (exact for N = 2; pairs sharing a
point are in fact weakly dependent, so this is an approximation: tests bound its error by Monte Carlo).

(b) Best known, each evaluated by the same measure on the configuration that attains it: the regular simplex
for ``N <= D + 1`` (optimal for every energy here and for the minimum angle), the regular polygon for
``D = 2``, the cross-polytope ``±e_i`` for ``N = 2D`` (universally optimal, Cohn & Kumar 2007), ``N`` of its
vertices for the minimum angle when ``D + 2 <= N <= 2D`` (90°, Rankin 1955); for ``mean_abs_cos`` the lower
bound ``(N/D - 1)/(N - 1)``, attained by repeated orthonormal bases when ``D`` divides ``N`` (0 for
``N <= D``). Other small cases are solved by :func:`thomson.solve` (the best of a few starts: an upper
bound for the energies, a lower bound for the angle); larger ones have no best value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from thomson._optional import available, require
from thomson._validate import integer
from thomson.engine import block_rows
from thomson.functional import hyperspherical_energy, normalize_rows
from thomson.functional.rows import weight_rows
from thomson.layers import layer_weights
from thomson.solve import solve
from thomson.solve.separation_problem import min_angle
from thomson.solve.starts import cross_polytope, polygon, regular_simplex

MEASURES: tuple[str, ...] = ("mhe_s0", "mhe_s1", "mhe_s2", "min_angle", "mean_abs_cos")
"""The per-layer measures, in report order."""

SOLVER_LIMIT = 2048
"""Largest ``N·D`` for which a best energy is computed by the solver (the minimum angle: a quarter of it)."""

_SOLVER_ITER = 1000
"""Iterations per local search when solving for a best value (enough for the digits a report shows)."""


@dataclass(frozen=True)
class Measure:
    """One measure of one layer: its value (None where it is undefined for the layer, see
    :attr:`LayerReport.note`), its expectation for random directions, and the best known value with where that
    comes from (None where not known)."""

    value: float | None
    random: float | None
    best: float | None
    best_source: str | None

    @property
    def gap(self) -> float | None:
        """``(value - best) / (random - best)``: 0 at the best known configuration, about 1 when random."""
        if self.value is None or self.random is None or self.best is None:
            return None
        if not math.isfinite(self.random) or self.random == self.best:
            return None
        return (self.value - self.best) / (self.random - self.best)


UNDEFINED = Measure(None, None, None, None)
"""A measure that is undefined for a layer (a degenerate one: see :attr:`LayerReport.note`)."""


@dataclass(frozen=True)
class LayerReport:
    """The measures of one layer's rows (``n`` neurons in ``dim`` dims), keyed by :data:`MEASURES`.

    ``note`` says why a layer is not measured as others are: a degenerate layer (fewer than 2 neurons, rows of
    ``D <= 1`` dims, only zero rows, non-finite weights, or a measure that failed on it) has every measure
    undefined; a layer with some zero rows is measured on its other rows. None for an ordinary layer."""

    name: str
    n: int
    dim: int
    measures: dict[str, Measure]
    note: str | None = None


def measure_rows(rows: Tensor) -> dict[str, float]:
    """The five :data:`MEASURES` of the rows ``[N, D]`` (float64; ``N >= 2``).

    Example:
        >>> m = measure_rows(torch.eye(3, dtype=torch.float64))   # orthonormal: all chords √2, all angles 90°
        >>> round(m["mhe_s2"], 6), round(m["min_angle"], 9), m["mean_abs_cos"]
        (0.5, 90.0, 0.0)
    """
    x = rows.detach().to(torch.float64)
    unit = normalize_rows(x)
    n = x.shape[0]
    with torch.no_grad():
        out = {f"mhe_s{s}": float(hyperspherical_energy(x, s)) for s in (0, 1, 2)}
        out["min_angle"] = min_angle(x)
        total = 0.0  # Σ_{i≠j} |c_ij|, a block of rows at a time
        step = block_rows(n)
        for start in range(0, n, step):
            block = (unit[start : start + step] @ unit.T).abs()
            total += float(block.sum()) - float(block.diagonal(offset=start).sum())
        out["mean_abs_cos"] = total / (n * (n - 1))
    return out


def _tanh_sinh(f: Callable[[np.ndarray], np.ndarray], a: float, b: float) -> float:
    """``∫_a^b f`` by tanh-sinh quadrature, halving the step until two levels agree to 1e-13.

    The nodes are placed from the nearer endpoint (``a + δ`` or ``b - δ`` with ``δ`` computed directly), so
    the nodes that crowd an endpoint are exact there and an integrable endpoint singularity is resolved.
    """
    previous = math.nan
    for level in range(3, 16):
        h = 2.0**-level
        t = np.arange(-3.5, 3.5 + h / 2, h)
        u = 0.5 * math.pi * np.sinh(t)
        from_a = (b - a) / (1.0 + np.exp(-2.0 * u))  # node - a
        from_b = (b - a) / (1.0 + np.exp(2.0 * u))  # b - node
        weight = h * 0.5 * math.pi * np.cosh(t) / np.cosh(u) ** 2 * (b - a) / 2.0
        keep = (from_a > 0) & (from_b > 0)
        nodes = np.where(t < 0, a + from_a, b - from_b)
        total = float(np.sum(weight[keep] * f(nodes[keep])))
        if abs(total - previous) <= 1e-13 * abs(total):
            return total
        previous = total
    return total


def _angle_expectation(term: Callable[[np.ndarray], np.ndarray], dim: int) -> float:
    """``E[term(θ)]`` for the angle ``θ`` between two independent uniform directions in ``R^dim``."""

    def density(theta: np.ndarray) -> np.ndarray:
        return np.asarray(np.exp((dim - 2) * np.log(np.sin(theta))))

    def weighted(theta: np.ndarray) -> np.ndarray:
        return np.asarray(term(theta) * density(theta))

    halves = ((0.0, math.pi / 2), (math.pi / 2, math.pi))
    norm = sum(_tanh_sinh(density, a, b) for a, b in halves)
    return sum(_tanh_sinh(weighted, a, b) for a, b in halves) / norm


def _riesz_term(s: float) -> Callable[[np.ndarray], np.ndarray]:
    """The pair term of MHE as a function of the angle: ``chord^(-s)``, ``-log chord`` at ``s = 0``."""

    def term(theta: np.ndarray) -> np.ndarray:
        log_chord = np.log(2.0 * np.sin(theta / 2.0))
        return np.asarray(-log_chord if s == 0 else np.exp(-s * log_chord))

    return term


def random_expectations(n: int, dim: int) -> dict[str, float]:
    """The expectation of each of :data:`MEASURES` for ``n >= 2`` independent uniform directions in ``R^dim``.

    ``inf`` for the energy at ``s >= dim - 1``; ``min_angle`` by the independent-pairs approximation.

    Example:
        >>> e = random_expectations(2, 3)     # on S², c is uniform on [-1, 1]
        >>> round(e["mean_abs_cos"], 12), round(e["min_angle"], 6), round(e["mhe_s1"], 12)
        (0.5, 90.0, 1.0)
    """
    out = {}
    for s in (0, 1, 2):
        out[f"mhe_s{s}"] = math.inf if s >= dim - 1 else _angle_expectation(_riesz_term(s), dim)
    out["min_angle"] = math.degrees(_expected_min_angle(n, dim))
    out["mean_abs_cos"] = _angle_expectation(lambda theta: np.abs(np.cos(theta)), dim)
    return out


def _expected_min_angle(n: int, dim: int) -> float:
    """``∫_0^π (1 - F(θ))^M dθ`` (radians), ``M = n(n-1)/2``, ``F`` the distribution function of one pair's angle.

    ``F`` is accumulated by the trapezoid rule on a grid uniform in ``log θ`` (step 1e-4), which resolves both
    the power law ``F ∝ θ^(D-1)`` of small angles and the narrow peak near ``π/2`` of large ``D``. The grid starts
    where ``M·F`` is 1e-9 by the small-angle law, below which ``(1 - F)^M = 1`` to that accuracy.
    """
    pairs = n * (n - 1) / 2.0
    log_norm = math.log(math.sqrt(math.pi)) + math.lgamma((dim - 1) / 2.0) - math.lgamma(dim / 2.0)
    # small angles: F(θ) ≈ θ^(D-1) / ((D-1)·norm); start where pairs·F = 1e-9
    log_start = (math.log(1e-9 / pairs) + math.log(dim - 1) + log_norm) / (dim - 1)
    log_theta = np.arange(min(log_start, math.log(math.pi) - 1.0), math.log(math.pi), 1e-4)
    theta = np.exp(log_theta)
    pdf = np.exp((dim - 2) * np.log(np.sin(theta)) - log_norm) * theta  # d F / d log θ
    f0 = math.exp((dim - 1) * log_theta[0] - math.log(dim - 1) - log_norm)
    cdf = f0 + np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(log_theta))])
    survival = np.exp(pairs * np.log1p(-np.minimum(cdf, 1.0 - 2.0**-53)))
    tail = survival * theta
    return float(theta[0] + np.sum(0.5 * (tail[1:] + tail[:-1]) * np.diff(log_theta)))


def _orthonormal_repeats(n: int, dim: int) -> Tensor:
    """``n`` rows cycling through ``±e_1, …, ±e_dim``: |cos| is 0 or 1, the least mean |cos| when dim | n."""
    basis = torch.cat([torch.eye(dim, dtype=torch.float64), -torch.eye(dim, dtype=torch.float64)])
    return basis[torch.arange(n) % dim + dim * ((torch.arange(n) // dim) % 2)]


def best_known(n: int, dim: int, *, solver_limit: int = SOLVER_LIMIT, seed: int = 0) -> dict[str, tuple[float, str]]:
    """The best known value of each of :data:`MEASURES` for ``n >= 2`` points in ``R^dim`` and its source.

    Example:
        >>> best = best_known(4, 3)     # the regular tetrahedron: every chord sqrt(8/3)
        >>> round(best["mhe_s2"][0], 6), best["mhe_s2"][1], round(best["min_angle"][0], 7)
        (0.375, 'regular simplex', 109.4712206)
    """
    configs: dict[str, tuple[Tensor, str]] = {}
    energies = ("mhe_s0", "mhe_s1", "mhe_s2")
    if n <= dim + 1:
        configs |= {key: (regular_simplex(n, dim), "regular simplex") for key in (*energies, "min_angle")}
    elif dim == 2:
        configs |= {key: (polygon(n), "regular polygon") for key in (*energies, "min_angle")}
    elif n == 2 * dim:
        configs |= {key: (cross_polytope(dim), "cross-polytope") for key in (*energies, "min_angle")}
    else:
        if n < 2 * dim:
            configs["min_angle"] = (cross_polytope(dim)[:n], "cross-polytope vertices (Rankin)")
        elif n * dim * 4 <= solver_limit and available("scipy"):
            found = solve(n, dim, objective="separation", restarts=2, seed=seed, max_iter=_SOLVER_ITER)
            configs["min_angle"] = (found.points, "thomson.solve")
        if n * dim <= solver_limit:
            for s in (0, 1, 2):
                found = solve(n, dim, s=float(s), restarts=2, seed=seed, max_iter=_SOLVER_ITER)
                configs[f"mhe_s{s}"] = (found.points, "thomson.solve")
    if n <= dim or n % dim == 0:
        configs["mean_abs_cos"] = (_orthonormal_repeats(n, dim), "orthonormal basis" if n <= dim else "repeated ±basis")
    return {key: (measure_rows(points)[key], source) for key, (points, source) in configs.items()}


def load_weights(path: str | Path) -> dict[str, Tensor]:
    """The tensors of a checkpoint file: a ``.pt`` state_dict, a thomson training checkpoint (a dict whose
    ``"model"`` entry is the state_dict; ``"state_dict"`` is accepted too), or a ``.safetensors`` file.

    ``.pt`` files are read with ``weights_only=True`` (no code from the file is run), in the file's order. A
    ``.safetensors`` file keeps no order (its names are stored sorted), so its tensors come in the natural order
    of their names, numbers compared as numbers (``layers.2`` before ``layers.10``), which is a model's order
    for numbered blocks.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if path.suffix == ".safetensors":
        safetensors = require("safetensors.torch", extra="inspect", purpose=f"reading {path.name}")
        try:
            tensors: dict[str, Tensor] = safetensors.load_file(str(path), device="cpu")
        except Exception as err:  # safetensors raises its own error class for a damaged file
            raise ValueError(f"{path} is not a readable .safetensors file ({err}); write it again") from err
        return {name: tensors[name] for name in sorted(tensors, key=_natural_key)}
    try:
        obj: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"{path} is not a checkpoint that loads safely with torch.load(weights_only=True): {err}. "
            "Save the model's state_dict (torch.save(model.state_dict(), path)) and inspect that."
        ) from err
    for key in ("model", "state_dict"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not any(isinstance(v, Tensor) for v in obj.values()):
        raise ValueError(
            f"{path} holds no state_dict: expected a dict of tensors, or a training checkpoint whose "
            f"'model' entry is one; got {type(obj).__name__}"
        )
    return {str(k): v for k, v in obj.items() if isinstance(v, Tensor)}


def _natural_key(name: str) -> list[tuple[int, int | str]]:
    """Sort key of a dotted name with its numbers compared as numbers."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name)]


def layer_rows(weights: nn.Module | Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The rows (float64) of each layer to inspect: the weights :func:`thomson.layers.layer_weights` selects from a
    model (by module type) or a state_dict (by name and shape; embeddings and objectives' state are left out).

    Raises ValueError naming the layer if a weight holds a non-finite value.
    """
    out = {}
    for name, tensor in layer_weights(weights).items():
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"layer {name!r} has non-finite weights (NaN or inf)")
        out[name] = weight_rows(tensor.detach()).to(torch.float64)
    return out


def inspect_checkpoint(
    source: str | Path | Mapping[str, Tensor] | nn.Module, *, solver_limit: int = SOLVER_LIMIT, seed: int = 0
) -> list[LayerReport]:
    """Per-layer uniformity report of a checkpoint (path, see :func:`load_weights`), a state_dict or a model.

    Every layer gets a report, in the checkpoint's order. A degenerate layer (fewer than 2 neurons, rows of
    ``D <= 1`` dims, only zero rows, non-finite weights) is not scored: its measures are undefined (None) and
    its ``note`` says why; a layer with some zero rows (no direction) is measured on its other rows, with a
    note. One layer on which a measure fails gets a note too; the others are reported as usual.

    Args:
        source: a checkpoint path, a mapping of names to tensors (e.g. ``model.state_dict()``), or the model
            itself (its layers are then chosen by module type, see :mod:`thomson.layers`).
        solver_limit: largest ``N·D`` whose best energies are solved for (see :data:`SOLVER_LIMIT`);
            0 never runs the solver. Default 2048.
        seed: seed of the solver's starts. Default 0.

    Returns:
        One :class:`LayerReport` per layer, in the checkpoint's order.

    Raises:
        ValueError: the source holds no layer (see :mod:`thomson.layers`), or the file cannot be read.

    Example:
        >>> layer = torch.nn.Linear(4, 3)
        >>> [report] = inspect_checkpoint(layer.state_dict())
        >>> report.name, report.n, report.dim, report.measures["mhe_s1"].best_source
        ('weight', 3, 4, 'regular simplex')
    """
    integer("solver_limit", solver_limit, low=0)
    weights = load_weights(source) if isinstance(source, (str, Path)) else source
    layers = layer_weights(weights)
    if not layers:
        where = source if isinstance(source, (str, Path)) else f"the {type(source).__name__}"
        raise ValueError(
            f"{where} holds no layer to inspect: a layer is the weight of a Linear or Conv module (in a state_dict, "
            "a tensor named <module>.weight with 2 to 5 dims, not an embedding)"
        )
    cache: dict[tuple[int, int], tuple[dict[str, float], dict[str, tuple[float, str]]]] = {}

    def reference_values(n: int, dim: int) -> tuple[dict[str, float], dict[str, tuple[float, str]]]:
        if (n, dim) not in cache:
            cache[n, dim] = (random_expectations(n, dim), best_known(n, dim, solver_limit=solver_limit, seed=seed))
        return cache[n, dim]

    return [_layer_report(name, tensor, reference_values) for name, tensor in layers.items()]


def _layer_report(
    name: str,
    tensor: Tensor,
    reference_values: Callable[[int, int], tuple[dict[str, float], dict[str, tuple[float, str]]]],
) -> LayerReport:
    """The report of one layer: measured, or undefined with a note saying why (see :func:`inspect_checkpoint`)."""
    rows = tensor.detach().flatten(1).to(torch.float64)  # not weight_rows: an empty layer is reported, not refused
    n, dim = rows.shape
    undefined = dict.fromkeys(MEASURES, UNDEFINED)
    zero = int((rows == 0).all(dim=1).sum()) if rows.numel() else 0
    problem = _degenerate(n, dim, zero, bool(torch.isfinite(rows).all()))
    if problem is not None:
        return LayerReport(name, n, dim, undefined, f"not measured: {problem}")
    note = None
    if zero:
        rows = rows[(rows != 0).any(dim=1)]
        note = f"{zero} of {n} rows are zero (no direction) and left out: measured on the other {n - zero}"
    try:
        random, best = reference_values(rows.shape[0], dim)
        values = measure_rows(rows)
    except (ValueError, ArithmeticError, RuntimeError) as err:
        return LayerReport(name, n, dim, undefined, f"not measured: {type(err).__name__}: {err}")
    measures = {
        key: Measure(values[key], random[key], *(best[key] if key in best else (None, None))) for key in MEASURES
    }
    return LayerReport(name, n, dim, measures, note)


def _degenerate(n: int, dim: int, zero: int, finite: bool) -> str | None:
    """Why a layer of ``n`` rows in ``dim`` dims (``zero`` of them zero) cannot be measured, or None."""
    if dim <= 1:
        return f"D = {dim}: " + ("rows have no direction" if dim == 0 else "every direction is +1 or -1")
    if not finite:
        return "non-finite weights (NaN or inf)"
    if n - zero < 2:
        if zero:
            return f"{zero} of {n} rows are zero (no direction): fewer than two directions to compare"
        return f"{n} neuron{'' if n == 1 else 's'}: the measures compare pairs of neurons"
    return None
