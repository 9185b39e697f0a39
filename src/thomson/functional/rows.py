"""Turning a tensor of vectors into the rows the energies work on: shape checks, precision, normalization."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

REFERENCE_EPS = 1e-4
"""ε of the reference code: ``n_i = sqrt(|w_i|² + ε)``."""


def as_rows(x: Tensor, name: str = "x") -> Tensor:
    """Check that ``x`` is a 2-D floating tensor ``[N, D]`` and return it in float32 at least.

    Half-precision inputs (float16, bfloat16) are promoted so that energies are computed in float32 even
    under autocast; float32 and float64 pass unchanged.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [N, D], got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(
            f"{name} must have shape [N, D] (rows are items), got shape {tuple(x.shape)}; "
            "for a layer weight pass weight.flatten(1)"
        )
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def normalize_rows(x: Tensor, *, reference: bool = False, eps: float = REFERENCE_EPS) -> Tensor:
    """Scale each row to unit length.

        default:    x̂_i = x_i / |x_i|              (a zero row stays zero, with a zero gradient)
        reference:  x̂_i = x_i / sqrt(|x_i|² + ε)   (the reference code; |x̂_i| < 1, so every |cos| < 1)

    Example:
        >>> normalize_rows(torch.tensor([[3.0, 4.0], [0.0, 0.0]]))
        tensor([[0.6000, 0.8000],
                [0.0000, 0.0000]])
    """
    return _NormalizeRows.apply(x, reference, eps)  # type: ignore[no-any-return, no-untyped-call]


def _row_scale(x: Tensor, reference: bool, eps: float) -> Tensor:
    """``s_i`` with ``x̂_i = s_i x_i``: ``1/max(|x_i|, tiny)`` (0 for a zero row), or ``1/sqrt(|x_i|² + ε)``
    for the reference."""
    norm: Tensor = torch.linalg.vector_norm(x, dim=1, keepdim=True)
    if reference:
        return torch.rsqrt(norm * norm + eps)
    return norm.clamp_min(torch.finfo(x.dtype).tiny).reciprocal() * (norm > 0)  # a zero row: scale 0, gradient 0


class _NormalizeRows(torch.autograd.Function):
    """``x̂ = s x`` with the gradient ``s (g - (x̂·g) x̂)`` written out: two passes over ``[N, D]`` each way
    instead of autograd's chain of broadcast products. The backward is made of differentiable operations (and
    recomputes ``s`` from ``x``), so second derivatives work."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, reference: bool, eps: float) -> Tensor:
        out = x * _row_scale(x, reference, eps)
        ctx.save_for_backward(x, out)
        ctx.reference, ctx.eps = reference, eps
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        x, out = ctx.saved_tensors
        scale = _row_scale(x, ctx.reference, ctx.eps)
        radial = torch.einsum("nd,nd->n", grad, out).unsqueeze(1)
        if not ctx.reference:  # a (sub)zero row: the clamped norm is a constant, only 1/tiny remains
            radial = radial * (scale < 1.0 / torch.finfo(x.dtype).tiny)
        return torch.addcmul(grad, out, radial, value=-1.0).mul_(scale), None, None
