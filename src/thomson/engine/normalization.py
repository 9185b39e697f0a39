"""Scaling rows to unit length, forward and backward, for the engine and for :func:`thomson.functional.normalize_rows`.

    default:    x̂_i = s_i x_i,  s_i = 1/|x_i|              (a zero row stays zero, with a zero gradient)
    reference:  x̂_i = s_i x_i,  s_i = 1/sqrt(|x_i|² + ε)    (the reference code; |x̂_i| < 1)

In both modes the gradient of a function of ``x̂`` with respect to ``x``, given ``g = ∂/∂x̂``, is

    ∂/∂x_i = s_i (g_i - (x̂_i·g_i) x̂_i)

(in the default mode a row whose norm is below the smallest normal float keeps only ``s_i g_i``: its norm is
clamped there, a constant). The engine applies the scaling and this backward inside its own pass
(:func:`thomson.engine.pairwise_sum` with ``normalize=``), so that an energy of raw rows is one autograd node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

REFERENCE_EPS = 1e-4
"""ε of the reference code: ``s_i = 1/sqrt(|x_i|² + ε)``."""


@dataclass(frozen=True)
class Normalization:
    """How rows are scaled before their cosines are taken: exactly to unit length, or as the reference code does.

    Args:
        reference: ``s_i = 1/sqrt(|x_i|² + eps)`` instead of ``1/|x_i|``. Default False.
        eps: the reference's ε. Default 1e-4.

    Example:
        >>> unit, scale = Normalization().apply(torch.tensor([[3.0, 4.0], [0.0, 0.0]]))
        >>> unit, scale.flatten()
        (tensor([[0.6000, 0.8000],
                [0.0000, 0.0000]]), tensor([0.2000, 0.0000]))
    """

    reference: bool = False
    eps: float = REFERENCE_EPS

    def scale(self, x: Tensor) -> Tensor:
        """``s: [..., N, 1]`` with ``x̂ = s x`` (0 for a zero row in the default mode)."""
        # Out of place: x̂ is also taken as a differentiable function of x (second derivatives).
        if self.reference:
            return x.square().sum(-1, keepdim=True).add_(self.eps).rsqrt_()
        norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
        scale: Tensor = norm.clamp_min(_tiny(x.dtype)).reciprocal() * (norm > 0)
        return scale

    def apply(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(x̂, s)``."""
        scale = self.scale(x)
        return x * scale, scale

    def backward(self, grad: Tensor, unit: Tensor, scale: Tensor, *, inplace: bool = False) -> Tensor:
        """``s (g - (x̂·g) x̂)``, the gradient with respect to ``x`` given ``grad = ∂/∂x̂``.

        Made of differentiable operations unless ``inplace`` (which overwrites ``grad``)."""
        radial = (grad * unit).sum(-1, keepdim=True)
        if not self.reference:  # a norm below the clamp: a constant, only s g remains
            radial = radial * (scale < 1.0 / _tiny(scale.dtype))
        if inplace:
            return grad.addcmul_(unit, radial, value=-1.0).mul_(scale)
        return torch.addcmul(grad, unit, radial, value=-1.0) * scale

    def normalize(self, x: Tensor) -> Tensor:
        """``x̂`` as a differentiable function of ``x`` (to any order)."""
        return _Normalize.apply(x, self)  # type: ignore[no-any-return, no-untyped-call]


_TINY = {dtype: torch.finfo(dtype).tiny for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64)}


def _tiny(dtype: torch.dtype) -> float:
    """The smallest normal number of ``dtype``: norms are clamped there."""
    tiny = _TINY.get(dtype)
    return torch.finfo(dtype).tiny if tiny is None else tiny


class _Normalize(torch.autograd.Function):
    """``x̂ = s x`` with the backward written out: two passes over ``[N, D]`` each way instead of autograd's chain of
    broadcast products. The backward is made of differentiable operations (and recomputes ``s`` from ``x``), so
    second derivatives work."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, normalization: Normalization) -> Tensor:
        unit, _ = normalization.apply(x)
        ctx.save_for_backward(x, unit)
        ctx.normalization = normalization
        return unit

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        x, unit = ctx.saved_tensors
        normalization: Normalization = ctx.normalization
        return normalization.backward(grad, unit, normalization.scale(x)), None


__all__ = ["REFERENCE_EPS", "Normalization"]
