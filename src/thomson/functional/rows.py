"""Turning a tensor of vectors into the rows the energies work on: shape checks, precision, normalization."""

from __future__ import annotations

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
    if reference:
        return x * torch.rsqrt((x * x).sum(dim=1, keepdim=True) + eps)
    norm: Tensor = torch.linalg.vector_norm(x, dim=1, keepdim=True)
    # The mask gives zero rows a zero gradient (instead of 1/tiny); other rows are unchanged bit for bit.
    return x / norm.clamp_min(torch.finfo(x.dtype).tiny) * (norm > 0)
