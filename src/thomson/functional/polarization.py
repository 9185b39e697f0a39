"""Polarization: the potential that a set of directions exerts at a point of the sphere (MHP), and its relaxation."""

from __future__ import annotations

import torch
from torch import Tensor

from thomson._validate import real
from thomson.engine.normalization import REFERENCE_EPS
from thomson.functional.riesz import riesz_kernel
from thomson.functional.rows import as_rows, normalize_rows, unit_rows


def polarization(
    x: Tensor, poles: Tensor, *, s: float = 2.0, half_space: bool = False, reference: bool = False
) -> Tensor:
    """Mean Riesz ``s``-potential of the directions of the rows of ``x: [N, D]`` at each pole ``v_k``.

        P_k = (1/N) Σ_i f_s(|v̂_k - u_i|),   f_s(z) = z^(-s) (s > 0), -log z (s = 0), -z^(-s) (s < 0)

    so for the reference's ``s = 2``, ``f = 1/(2 - 2 v̂ᵀu_i)``. The polarization of the set is
    ``min_v P(v)``, the potential at its weakest point; maximum polarization (MHP) spreads the rows so
    that no point of the sphere is far from all of them. ``half_space=True`` averages over the ``2N``
    directions ``[u; -u]``.

    Default mode: exact normalization of rows and poles, and the cosine contracted by ``1 - 1e-6`` (as
    :func:`~thomson.functional.hyperspherical_energy`) so a pole on top of a row gives a large, finite
    value. ``reference=True``: the Sphere-Uniformity code, rows ε-normalized twice, poles once
    (``v / sqrt(|v|² + 1e-4)``), no contraction.

    Args:
        x: rows ``[N, D]``.
        poles: ``[K, D]``, one pole per row; need not be unit vectors.
        s: Riesz exponent, any real number. Default 2.
        half_space: average over ``[u; -u]``. Default False.
        reference: the reference code's constants. Default False.

    Returns:
        ``[K]``, the potential at each pole.

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])          # two antipodal points on the circle
        >>> polarization(x, torch.tensor([[0.0, 1.0], [1.0, 1.0]]), s=2)  # 1/2 at the weakest point (±e₂)
        tensor([0.5000, 1.0000])
    """
    real("s", s)
    with torch.autocast(x.device.type, enabled=False):
        unit = unit_rows(as_rows(x), reference=reference)
        cosines = pole_cosines(unit, poles, half_space=half_space, reference=reference)
        return potential(cosines, s=s, reference=reference)


def potential(cosines: Tensor, *, s: float = 2.0, reference: bool = False) -> Tensor:
    """``[K]``: the mean Riesz ``s``-potential ``mean_i f_s(sqrt(2 - 2c_ki))`` over each row of cosines ``[K, M]``
    (the kernel of :func:`~thomson.functional.hyperspherical_energy`, contracted by ``1 - 1e-6`` unless
    ``reference``)."""
    return riesz_kernel(float(s), "euclidean", reference=reference, eps=None).value(cosines).mean(dim=1)


def relaxed_polarization(x: Tensor, *, normalized: bool = True) -> Tensor:
    """Length of the sum of the rows of ``x: [N, D]`` (relaxed MHP).

        R(X) = |Σ_i u_i|,   u_i = x_i / |x_i|  (``normalized=True``)  or  u_i = x_i  (raw, the reference code)

    With the polarization's potential relaxed to the squared distance, the weakest point has a closed
    form: for unit rows ``min_{|v|=1} Σ_i |v - u_i|² = 2N - 2|Σ_i u_i|``, so maximizing it is minimizing
    ``|Σ_i u_i|`` (no direction that the rows lean towards). The raw form (the Sphere-Uniformity ``r_mhp``
    code) sums un-normalized weights: its gradient is the same vector for every row, a shift of their mean.

    Args:
        x: rows ``[N, D]``.
        normalized: sum the directions (default) or the raw rows. Default True.

    Example:
        >>> round(float(relaxed_polarization(torch.tensor([[3.0, 0.0], [0.0, 1.0]]))), 6)  # |(1, 1)|
        1.414214
    """
    with torch.autocast(x.device.type, enabled=False):
        rows = as_rows(x)
        total = (normalize_rows(rows) if normalized else rows).sum(dim=0)
        length: Tensor = torch.linalg.vector_norm(total)
        return length


def pole_cosines(unit: Tensor, poles: Tensor, *, half_space: bool = False, reference: bool = False) -> Tensor:
    """``[K, M]`` cosines between the poles' directions and unit rows ``unit: [N, D]``; ``M = 2N`` with the
    cosines to ``[u; -u]`` when ``half_space``. Poles are normalized exactly, or as ``v / sqrt(|v|² + 1e-4)``
    (``reference``)."""
    v = as_rows(poles, "poles").to(unit.dtype)
    if v.shape[1] != unit.shape[1]:
        raise ValueError(f"poles must have shape [K, {unit.shape[1]}] to match the rows, got {tuple(v.shape)}")
    c = normalize_rows(v, reference=reference, eps=REFERENCE_EPS) @ unit.T
    return torch.cat([c, -c], dim=1) if half_space else c
