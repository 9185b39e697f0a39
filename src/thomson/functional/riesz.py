"""Hyperspherical energy (MHE): the Riesz ``s``-energy of a set of directions."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Literal, get_args

import torch
from torch import Tensor

from thomson._validate import one_of
from thomson.engine import Backend, Normalization, pair_count, pairwise_sum, pairwise_sums
from thomson.engine.normalization import REFERENCE_EPS
from thomson.functional.rows import as_rows
from thomson.kernels import METRICS, Metric, Riesz

Reduction = Literal["mean", "sum"]
REDUCTIONS: tuple[Reduction, ...] = get_args(Reduction)

DEFAULT_EPS = 1e-6
"""Default-mode cosine contraction: cosines are scaled by ``1 - ε`` so no distance vanishes."""


def riesz_kernel(s: float, metric: Metric, *, reference: bool, eps: float | None) -> Riesz:
    """The pair kernel of :func:`hyperspherical_energy` for these arguments; validates them."""
    return _kernel(float(s), metric, reference, eps)


def _kernel(s: float, metric: Metric, reference: bool, eps: float | None) -> Riesz:
    # Cached: a training loop asks for the same kernel at every call, and building one validates its fields.
    # (Not while torch.compile traces: the kernel is then built once, at tracing.)
    build = _build_kernel if torch.compiler.is_compiling() else _cached_kernel
    return build(s, metric, reference, eps)


def _build_kernel(s: float, metric: Metric, reference: bool, eps: float | None) -> Riesz:
    one_of("metric", metric, METRICS)
    if eps is not None and not (eps >= 0 and (reference or eps < 1)):
        raise ValueError(f"eps must be >= 0 (and < 1 unless reference=True), got {eps!r}")
    if reference:
        return Riesz(s=s, metric=metric, angle_scale=1.0 / math.pi, angle_shift=1e-4)
    return Riesz(s=s, metric=metric, contraction=DEFAULT_EPS if eps is None else eps)


def hyperspherical_energy(
    x: Tensor,
    s: float = 2.0,
    *,
    metric: Metric = "euclidean",
    half_space: bool = False,
    reduction: Reduction = "mean",
    eps: float | None = None,
    reference: bool = False,
    backend: Backend = "auto",
) -> Tensor:
    """Hyperspherical energy of the rows of ``x: [N, D]``, each taken as a direction.

        E_s = Σ_{i<j} f_s(z_ij),   f_s(z) = z^(-s) (s > 0),  -log z (s = 0),  -z^(-s) (s < 0)

    with ``z_ij = |x̂_i - x̂_j| = sqrt(2 - 2 c_ij)`` (``metric="euclidean"``) or the geodesic angle
    ``z_ij = arccos c_ij`` (``metric="angular"``), ``x̂`` the normalized rows and ``c_ij = x̂_iᵀx̂_j``.
    ``reduction="sum"`` with unit rows and ``eps=0`` is the classical Riesz energy (``s=1``, ``D=3``: the
    Thomson problem); ``"mean"`` divides by the number of pairs, ``N(N-1)/2``.

    ``half_space=True`` takes the energy of the ``2N`` directions ``[x̂; -x̂]`` (the MHE paper's half-space
    variant, which also pushes neurons away from each other's negations); the mean is then over
    ``2N(2N-1)/2`` pairs. It is computed from the ``N×N`` cosines alone.

    Two modes, differing only in the constants:

    * default: ``x̂_i = x_i/|x_i|``, and cosines contracted to ``(1 - ε) c`` with ``ε = 1e-6`` so duplicate
      rows give a large, finite term and ``arccos`` a finite slope. Invariant to rescaling rows.
    * ``reference=True``, the MHE authors' code: ``x̂_i = x_i/sqrt(|x_i|² + ε)`` with ``ε = 1e-4`` (not scale
      invariant: small rows have ``|x̂| < 1``), the logarithmic term ``-log z²`` (twice ``-log z``), and the
      angular distance ``z = θ/π + 1e-4``.

    Args:
        x: rows ``[N, D]``; need not be unit vectors. Half precision is computed in float32.
        s: Riesz exponent, any real number. Default 2.
        metric: ``"euclidean"`` or ``"angular"``. Default ``"euclidean"``.
        half_space: energy of ``[x̂; -x̂]``. Default False.
        reduction: ``"mean"`` over pairs or ``"sum"``. Default ``"mean"``.
        eps: default mode: cosine contraction (default 1e-6; 0 is exact). Reference mode: ε inside the
            norm (default 1e-4).
        reference: reproduce the reference code's constants. Default False.
        backend: engine backend, see :func:`thomson.engine.pairwise_sum`. Default ``"auto"``.

    Returns:
        A 0-dim tensor (float32 at least). 0 when there is no pair (``N = 1`` in full space).

    Example:
        >>> tetrahedron = torch.tensor([[1., 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64)
        >>> round(float(hyperspherical_energy(tetrahedron, s=1, reduction="sum", eps=0)), 9)  # 3·sqrt(6)/2
        3.674234614
    """
    if reduction not in REDUCTIONS:
        one_of("reduction", reduction, REDUCTIONS)
    x = as_rows(x)
    return pairwise_sum(
        x,
        _kernel(float(s), metric, reference, eps),
        half_space=half_space,
        backend=backend,
        normalize=_normalization(reference, eps),
        weight=_pair_weight(x.shape[0], half_space, s, metric, reference, reduction),
    )


def hyperspherical_energies(
    sets: Sequence[Tensor],
    s: float = 2.0,
    *,
    metric: Metric = "euclidean",
    half_space: bool | Sequence[bool] = False,
    reduction: Reduction = "mean",
    eps: float | None = None,
    reference: bool = False,
    backend: Backend = "auto",
) -> Tensor:
    """:func:`hyperspherical_energy` of each of several row sets ``[N_b, D_b]`` (several layers), ``[L]``.

    One autograd node and as few engine passes as pay (:func:`thomson.engine.pairwise_sums`): on small layers
    about the cost of one call. ``half_space`` is one flag, or one per set; the other arguments are
    :func:`hyperspherical_energy`'s, and each value is exactly what it gives for that set.

    Example:
        >>> sets = [torch.randn(8, 5, dtype=torch.float64), torch.randn(8, 27, dtype=torch.float64)]
        >>> together = hyperspherical_energies(sets, half_space=[True, False])
        >>> one_by_one = [hyperspherical_energy(sets[0], half_space=True), hyperspherical_energy(sets[1])]
        >>> torch.allclose(together, torch.stack(one_by_one))
        True
    """
    if reduction not in REDUCTIONS:
        one_of("reduction", reduction, REDUCTIONS)
    rows = [as_rows(x, f"sets[{b}]") for b, x in enumerate(sets)]
    flags = [half_space] * len(rows) if isinstance(half_space, bool) else [bool(h) for h in half_space]
    return pairwise_sums(
        rows,
        _kernel(float(s), metric, reference, eps),
        half_space=flags,
        weights=[_pair_weight(len(x), h, s, metric, reference, reduction) for x, h in zip(rows, flags, strict=True)],
        backend=backend,
        normalize=_normalization(reference, eps),
    )


def _pair_weight(n: int, half_space: bool, s: float, metric: Metric, reference: bool, reduction: Reduction) -> float:
    """What the pair sum of ``n`` rows is multiplied by: 1/#pairs for a mean; twice for the reference's ``-log z²``."""
    weight = _log_factor(s, metric, reference)
    return weight / max(pair_count(n, half_space), 1) if reduction == "mean" else weight


def _log_factor(s: float, metric: Metric, reference: bool) -> float:
    """2 for the reference code's ``-log z²`` (twice ``-log z``), else 1."""
    return 2.0 if reference and s == 0 and metric == "euclidean" else 1.0


def _normalization(reference: bool, eps: float | None) -> Normalization:
    return Normalization(reference, REFERENCE_EPS if eps is None or not reference else eps)


_cached_kernel = functools.lru_cache(maxsize=256)(_build_kernel)


def energy_terms(
    x: Tensor, s: float, metric: Metric, *, reference: bool, eps: float | None
) -> tuple[Tensor, Riesz, float]:
    """What :func:`hyperspherical_energy` sums, for the functions that evaluate it otherwise (estimators).

    Checks the arguments and returns the normalized rows, the pair kernel and the factor of the pair term
    (2 for the reference code's ``-log z²``, else 1). Call it with autocast disabled.
    """
    kernel = riesz_kernel(float(s), metric, reference=reference, eps=eps)
    unit = _normalization(reference, eps).normalize(as_rows(x))
    return unit, kernel, _log_factor(s, metric, reference)
