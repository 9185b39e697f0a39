"""Unit directions of rows as the hyperspherical-uniformity objectives (MHS, MHP, MHC, MGD) use them."""

from __future__ import annotations

from torch import Tensor

from thomson.functional.rows import normalize_rows


def directions(x: Tensor, *, reference: bool = False) -> Tensor:
    """The rows of ``x`` scaled to unit length, or as the Sphere-Uniformity reference code scales them.

        default:    u_i = x_i / |x_i|                                   (a zero row stays zero)
        reference:  u_i = y_i / sqrt(|y_i|² + ε),  y_i = x_i / sqrt(|x_i|² + ε),  ε = 1e-4

    The reference code normalizes the neurons (its ``norm``) and divides by the norms once more inside its
    cosine (``cal``), so there ``|u_i| < 1`` and every cosine ``|u_iᵀu_j| < 1``.

    Example:
        >>> import torch
        >>> directions(torch.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    if reference:
        return normalize_rows(normalize_rows(x, reference=True), reference=True)
    return normalize_rows(x)
