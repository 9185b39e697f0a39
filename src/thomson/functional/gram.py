"""Log-determinant of the Gaussian-kernel Gram matrix of a set of directions (MGD)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from thomson._validate import real
from thomson.functional.rows import as_rows, unit_rows
from thomson.kernels import Gaussian

MGD_JITTER = 1e-6
"""Added to the Gram matrix's diagonal in the Sphere-Uniformity code."""


def gram_logdet(
    x: Tensor,
    *,
    bandwidth: float = 1.0,
    jitter: float = MGD_JITTER,
    half_space: bool = False,
    reference: bool = False,
) -> Tensor:
    """``log det K`` for the Gaussian-kernel Gram matrix of the directions of the rows of ``x: [N, D]``.

        K_ij = exp(-d²_ij / σ²) + jitter · δ_ij,   d²_ij = 2 - 2 u_iᵀu_j

    ``det K`` is the squared volume spanned by the rows' images in the kernel's feature space; it is largest
    when the directions are spread out and ``log det`` falls towards ``N log(jitter)`` as rows coincide
    (MGD maximizes it). The Gram matrix is always positive definite (Gaussian kernel plus jitter), so the
    value is computed by a Cholesky factorization in float64, ``log det K = 2 Σ log L_ii``, and is finite
    and differentiable for duplicate or zero rows.

    ``half_space=True`` uses the ``2N`` directions ``[u; -u]`` without forming the ``2N × 2N`` matrix: it
    is ``[[A, B], [B, A]]`` with ``A = exp(-(2 - 2C)/σ²) + jitter·I`` and ``B = exp(-(2 + 2C)/σ²)``, whose
    determinant is ``det(A + B) · det(A - B)``: two ``N × N`` factorizations.

    ``reference=True``: rows ε-normalized twice as the Sphere-Uniformity code (which uses ``σ = 1`` and
    jitter 1e-6); otherwise exact normalization.

    Args:
        x: rows ``[N, D]``.
        bandwidth: σ > 0. Default 1 (the reference).
        jitter: added to the diagonal, > 0. Default 1e-6 (the reference).
        half_space: use ``[u; -u]``. Default False.
        reference: the reference code's normalization. Default False.

    Returns:
        A 0-dim tensor of ``x``'s dtype (float32 at least).

    Example:
        >>> x = torch.eye(2, dtype=torch.float64)                  # K = [[1 + j, e⁻²], [e⁻², 1 + j]]
        >>> round(float(gram_logdet(x)), 6), round(math.log((1 + 1e-6) ** 2 - math.exp(-4)), 6)
        (-0.018483, -0.018483)
    """
    real("bandwidth", bandwidth, low=0.0, strict=True)
    real("jitter", jitter, low=0.0, strict=True)
    with torch.autocast(x.device.type, enabled=False):
        rows = as_rows(x)
        unit = unit_rows(rows.double(), reference=reference)
        c: Tensor = _Gram.apply(unit)  # type: ignore[no-untyped-call]
        kernel = Gaussian(width=bandwidth * bandwidth)
        eye = jitter * torch.eye(rows.shape[0], dtype=c.dtype, device=c.device)
        if half_space:
            same, opposite = kernel.value(c), kernel.value(-c)
            total = _logdet(same + opposite + eye) + _logdet(same - opposite + eye)
        else:
            total = _logdet(kernel.value(c) + eye)
        return total.to(rows.dtype)


class _Gram(torch.autograd.Function):
    """``C = U Uᵀ`` with the backward ``(G + Gᵀ) U``: one ``N×N×D`` product instead of autograd's two (one per
    factor). Differentiable again (the backward is made of differentiable operations)."""

    @staticmethod
    def forward(ctx: Any, unit: Tensor) -> Tensor:
        ctx.save_for_backward(unit)
        return unit @ unit.mT

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        (unit,) = ctx.saved_tensors
        gradient: Tensor = (grad + grad.mT) @ unit
        return gradient


def _logdet(k: Tensor) -> Tensor:
    factor, info = torch.linalg.cholesky_ex(k)
    value = 2.0 * torch.log(torch.diagonal(factor)).sum()
    # K is positive definite by construction; only non-finite weights fail, and they give NaN, never a number
    # (decided on the device: nothing waits for it).
    return torch.where(info == 0, value, math.nan)
