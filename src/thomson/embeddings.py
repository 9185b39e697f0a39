"""How uniform is a set of embeddings? Wang & Isola's measures and the MHE ones, against random and the best.

For embeddings ``z: [N, D]`` (one per row, taken as directions) the report gives

    uniformity               :func:`thomson.functional.uniformity` at ``t`` (default 2)
    alignment                :func:`thomson.functional.alignment` at ``alpha``, when positive pairs are given
    mhe_s0, mhe_s1, mhe_s2,  the measures of :mod:`thomson.inspection` (MHE at s = 0, 1, 2, the smallest
    min_angle, mean_abs_cos  angle in degrees, the mean |cos|), with its random expectations and best values

each beside its expectation for ``N`` independent uniformly random directions in ``D`` dims and the best value
known, as :func:`thomson.inspection.inspect_checkpoint` does for a layer (``gap = (value - best)/(random -
best)``: 0 at the best, about 1 when random).

Uniformity, random. Write ``k = exp(-2t(1 - c))`` for the pair term and ``μ_1 = E[k]``, ``μ_2 = E[k²]`` over the
cosine ``c`` of two independent uniform directions (quadrature, as in :mod:`thomson.inspection`). The mean
``m`` of ``k`` over the ``P = N(N-1)/2`` pairs has mean ``μ_1`` and variance ``(μ_2 - μ_1²)/P`` exactly (a
U-statistic whose one-point projection ``E[k | z_i] = μ_1`` is constant by rotation invariance), so

    E[U] ≈ log μ_1 - (μ_2 - μ_1²) / (2 P μ_1²)          (second order in the spread of m)

which is what the report shows (the correction is below 1e-4 once ``P`` is a few thousand). As ``D`` grows,
``log μ_1 → -2t + 2t²/D``, so ``-2t`` in high dimension.

Uniformity, best: the regular simplex for ``N <= D + 1`` (``-2t·N/(N-1)``: every ``d² = 2N/(N-1)``, the
largest mean squared distance, and ``exp(-t d²)`` is convex), the regular polygon for ``D = 2`` and the
cross-polytope for ``N = 2D`` (universally optimal, Cohn & Kumar 2007: optimal for every completely monotone
function of ``d²``, ``exp(-t d²)`` among them); otherwise unknown. Alignment: random ``E|x̂ - ŷ|^α`` for independent
uniform directions, best 0 (every pair coincides).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from thomson.functional import alignment, uniformity
from thomson.inspection import (
    MEASURES,
    SOLVER_LIMIT,
    LayerReport,
    Measure,
    _angle_expectation,
    best_known,
    load_weights,
    measure_rows,
    random_expectations,
)
from thomson.solve.starts import cross_polytope, polygon

EMBEDDING_MEASURES: tuple[str, ...] = ("uniformity", "alignment", *MEASURES)
"""The measures of an embeddings report, in report order (``alignment`` only when pairs are given)."""


def inspect_embeddings(
    z: Tensor,
    pairs: Tensor | None = None,
    *,
    t: float = 2.0,
    alpha: float = 2.0,
    name: str = "embeddings",
    solver_limit: int = SOLVER_LIMIT,
    seed: int = 0,
) -> LayerReport:
    """Uniformity report of the embeddings ``z: [N, D]`` (``N >= 2``), and their alignment with ``pairs``.

    Args:
        z: embeddings, one per row; taken as directions (normalized).
        pairs: the positive of each row of ``z`` (another view), ``[N, D]``, or None. Default None.
        t: the uniformity's scale. Default 2.
        alpha: the alignment's power. Default 2.
        name: the report's name (e.g. the file). Default ``"embeddings"``.
        solver_limit, seed: as in :func:`thomson.inspection.inspect_checkpoint` (best energies for small cases).

    Returns:
        A :class:`~thomson.inspection.LayerReport` whose measures are :data:`EMBEDDING_MEASURES`.

    Example:
        >>> report = inspect_embeddings(torch.eye(4))      # 4 orthonormal rows in 4 dims
        >>> m = report.measures["uniformity"]
        >>> round(m.value, 6), round(m.best, 6), m.best_source      # -2t at 90°; the simplex reaches -2t·4/3
        (-4.0, -5.333333, 'regular simplex')
    """
    rows = _finite_rows(z, "z")
    n, dim = rows.shape
    if n < 2 or dim < 2:
        raise ValueError(f"an embeddings report needs N >= 2 rows of D >= 2 dims, got shape {tuple(rows.shape)}")
    measures: dict[str, Measure] = {}
    with torch.no_grad():
        best_unif = _best_uniformity(n, dim, t)
        measures["uniformity"] = Measure(
            float(uniformity(rows, t)), _random_uniformity(n, dim, t), *(best_unif or (None, None))
        )
        if pairs is not None:
            other = _finite_rows(pairs, "pairs")
            value = float(alignment(rows, other, alpha))
            random = _angle_expectation(lambda theta: (2.0 * np.sin(theta / 2.0)) ** alpha, dim)
            measures["alignment"] = Measure(value, random, 0.0, "identical pairs")
        values, random_values = measure_rows(rows), random_expectations(n, dim)
        best = best_known(n, dim, solver_limit=solver_limit, seed=seed)
    for key in MEASURES:
        measures[key] = Measure(values[key], random_values[key], *(best[key] if key in best else (None, None)))
    return LayerReport(name, n, dim, measures)


def _finite_rows(x: Tensor, name: str) -> Tensor:
    if not isinstance(x, Tensor) or x.dim() != 2 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a floating-point tensor [N, D] of embeddings, one per row; got {shape}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} holds non-finite values (NaN or inf)")
    return x.detach().to(torch.float64)


def _random_uniformity(n: int, dim: int, t: float) -> float:
    """``log μ_1 - (μ_2 - μ_1²)/(2 P μ_1²)``: the expected uniformity of ``n`` uniform random directions."""
    mu1 = _angle_expectation(lambda theta: np.exp(-2.0 * t * (1.0 - np.cos(theta))), dim)
    mu2 = _angle_expectation(lambda theta: np.exp(-4.0 * t * (1.0 - np.cos(theta))), dim)
    pairs = n * (n - 1) / 2.0
    return math.log(mu1) - (mu2 - mu1 * mu1) / (2.0 * pairs * mu1 * mu1)


def _best_uniformity(n: int, dim: int, t: float) -> tuple[float, str] | None:
    if n <= dim + 1:
        return -2.0 * t * n / (n - 1), "regular simplex"
    if dim == 2:
        return float(uniformity(polygon(n), t)), "regular polygon"
    if n == 2 * dim:
        return float(uniformity(cross_polytope(dim), t)), "cross-polytope"
    return None


def load_embeddings(path: str | Path, key: str | None = None) -> Tensor:
    """A tensor of embeddings ``[N, D]`` from a file: ``.npy``, ``.safetensors``, or a ``.pt`` holding a tensor or
    a dict of tensors (``key`` chooses one; needed when there are several).

    ``.pt`` files are read with ``weights_only=True`` and ``.npy`` files with ``allow_pickle=False`` (no code from
    the file is run).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no embeddings file at {path}")
    tensors: Mapping[str, Any]
    if path.suffix == ".npy":
        try:
            tensors = {"": torch.from_numpy(np.load(path, allow_pickle=False))}
        except ValueError as err:
            raise ValueError(f"{path} is not a plain .npy array: {err}") from err
    elif path.suffix == ".safetensors":
        tensors = load_weights(path)
    else:
        try:
            obj: Any = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise ValueError(
                f"{path} does not load safely with torch.load(weights_only=True): {err}. "
                "Save the embeddings as a tensor: torch.save(z, path)"
            ) from err
        if isinstance(obj, Tensor):
            tensors = {"": obj}
        elif isinstance(obj, Mapping):
            tensors = {str(k): v for k, v in obj.items() if isinstance(v, Tensor)}
        else:
            raise ValueError(f"{path} holds a {type(obj).__name__}, not a tensor or a dict of tensors")
    if key is not None:
        if key not in tensors:
            raise ValueError(f"{path} has no tensor named {key!r}; it has {sorted(tensors)}")
        return tensors[key]  # type: ignore[no-any-return]
    if len(tensors) != 1:
        raise ValueError(f"{path} holds {len(tensors)} tensors {sorted(tensors)}: choose one with --key NAME")
    return next(iter(tensors.values()))  # type: ignore[no-any-return]
