"""Rows: the ``[N, D]`` matrix of ``N`` items (a layer's neurons) in ``D`` dimensions that every energy works on.

One module for the word: :func:`as_rows` checks a tensor given as rows, :func:`weight_rows` takes the rows of a
layer's weight ``[N, ...]``, :func:`normalize_rows` scales rows to unit length, and :func:`unit_rows` does it the
way the hyperspherical-uniformity objectives (and their reference code) do.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from thomson.engine.normalization import REFERENCE_EPS as REFERENCE_EPS
from thomson.engine.normalization import Normalization


def as_rows(x: Tensor, name: str = "x") -> Tensor:
    """Check that ``x`` is a 2-D floating tensor ``[N, D]`` and return it in float32 at least.

    Half-precision inputs (float16, bfloat16) are promoted so that energies are computed in float32 even
    under autocast; float32 and float64 pass unchanged. The gradient goes back to a half-precision input
    saturated at its dtype's largest finite value (65504 for float16) rather than overflowing to inf: near-duplicate
    rows (common after a projection to 2 or 3 dimensions) have exact gradients beyond float16's range.
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
    return _Promote.apply(x) if x.dtype in (torch.float16, torch.bfloat16) else x  # type: ignore[no-any-return, no-untyped-call]


def weight_rows(weight: Tensor, owner: str = "the objective", *, allow_empty: bool = False) -> Tensor:
    """The rows ``weight.flatten(1)`` of a layer's weight ``[N, ...]``: one row per neuron (output unit or channel).

    Raises ValueError, naming ``owner``, for a tensor with fewer than 2 dims (biases and norm scales have no
    neurons to spread) and for an empty one: no neuron (``N = 0``, unless ``allow_empty``, as a shard of a
    classifier split across processes may be) or rows of no dimension (``D = 0``); TypeError for anything but a
    tensor.

    Example:
        >>> weight_rows(torch.zeros(64, 3, 3, 3)).shape   # a conv weight: 64 neurons in D = 27
        torch.Size([64, 27])
    """
    if not isinstance(weight, Tensor):
        raise TypeError(f"{owner} needs a weight tensor, got {type(weight).__name__}")
    if weight.dim() < 2:
        raise ValueError(
            f"{owner} needs a weight with neurons on dim 0 and at least 2 dims, got {tuple(weight.shape)}; "
            "biases and norm scales are not regularized"
        )
    rows = weight.flatten(1)
    if rows.shape[1] == 0 or (rows.shape[0] == 0 and not allow_empty):
        raise ValueError(
            f"{owner} needs a weight with at least one neuron (dim 0) and rows of at least one dimension, got shape "
            f"{tuple(weight.shape)}; leave empty layers out"
        )
    return rows


def normalize_rows(x: Tensor, *, reference: bool = False, eps: float = REFERENCE_EPS) -> Tensor:
    """Scale each row to unit length.

        default:    x̂_i = x_i / |x_i|              (a zero row stays zero, with a zero gradient)
        reference:  x̂_i = x_i / sqrt(|x_i|² + ε)   (the reference code; |x̂_i| < 1, so every |cos| < 1)

    Example:
        >>> normalize_rows(torch.tensor([[3.0, 4.0], [0.0, 0.0]]))
        tensor([[0.6000, 0.8000],
                [0.0000, 0.0000]])
    """
    return Normalization(reference, eps).normalize(x)


def unit_rows(x: Tensor, *, reference: bool = False) -> Tensor:
    """The rows of ``x`` scaled to unit length, or as the Sphere-Uniformity reference code scales them.

        default:    u_i = x_i / |x_i|                                   (a zero row stays zero)
        reference:  u_i = y_i / sqrt(|y_i|² + ε),  y_i = x_i / sqrt(|x_i|² + ε),  ε = 1e-4

    The reference code normalizes the neurons (its ``norm``) and divides by the norms once more inside its
    cosine (``cal``), so there ``|u_i| < 1`` and every cosine ``|u_iᵀu_j| < 1``. MHS, MHP, MHC and MGD take their
    rows this way; MHE's reference mode normalizes once (:func:`normalize_rows` with ``reference=True``).

    Example:
        >>> unit_rows(torch.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    if reference:
        return normalize_rows(normalize_rows(x, reference=True), reference=True)
    return normalize_rows(x)


class _Promote(torch.autograd.Function):
    """``x`` in float32, with the gradient cast back to ``x``'s dtype saturated at its largest finite value (made of
    differentiable operations, so second derivatives work)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        ctx.dtype = x.dtype
        return x.float()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        largest = torch.finfo(ctx.dtype).max
        return grad.clamp(-largest, largest).to(ctx.dtype)
