"""Covering: how far a point of the sphere is from the nearest of a set of directions (MHC)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from thomson._validate import real
from thomson.functional.polarization import pole_cosines
from thomson.functional.rows import as_rows, unit_rows

MHC_GAMMA = 10.0
"""γ of the Sphere-Uniformity code's soft minimum."""


def covering(
    x: Tensor, poles: Tensor, *, gamma: float = MHC_GAMMA, half_space: bool = False, reference: bool = False
) -> Tensor:
    """Soft distance from each pole ``v_k`` to the nearest direction of the rows of ``x: [N, D]``.

        S_k = -(1/γ) log( (1/N) Σ_i exp(-γ d²(v̂_k, u_i)) ),   d²(v, u) = 2 - 2 vᵀu

    a soft minimum of the squared chords from the pole to the rows (``min_i d² <= S_k <= min_i d² +
    (log N)/γ``). Its maximum over the sphere is a soft covering radius: the largest hole of the set, which
    minimum hyperspherical covering (MHC) shrinks. Evaluated with ``logsumexp`` (stable for any γ).
    ``half_space=True`` uses the ``2N`` directions ``[u; -u]``. ``reference=True``: rows ε-normalized
    twice, poles once, as the Sphere-Uniformity code; otherwise exact normalization.

    Args:
        x: rows ``[N, D]``.
        poles: ``[K, D]``.
        gamma: sharpness γ > 0 of the soft minimum. Default 10 (the reference).
        half_space: use ``[u; -u]``. Default False.
        reference: the reference code's normalization. Default False.

    Returns:
        ``[K]``.

    Example:
        >>> octahedron = torch.cat([torch.eye(3), -torch.eye(3)])
        >>> face, vertex = [1.0, 1.0, 1.0], [1.0, 0.0, 0.0]
        >>> s = covering(octahedron, torch.tensor([face, vertex]), gamma=100.0)
        >>> bool(s[0] > s[1])  # a face centre is a hole; a vertex is covered
        True
    """
    real("gamma", gamma, low=0.0, strict=True)
    with torch.autocast(x.device.type, enabled=False):
        unit = unit_rows(as_rows(x), reference=reference)
        return soft_distance(pole_cosines(unit, poles, half_space=half_space, reference=reference), gamma=gamma)


def soft_distance(cosines: Tensor, *, gamma: float = MHC_GAMMA) -> Tensor:
    """``[K]``: ``-(1/γ) log mean_i exp(-γ (2 - 2c_ki))`` over each row of cosines ``[K, M]``, by ``logsumexp``."""
    d2 = 2.0 - 2.0 * cosines
    return -(torch.logsumexp(-gamma * d2, dim=1) - math.log(d2.shape[1])) / gamma
