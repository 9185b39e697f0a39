"""Rows: the ``[N, D]`` matrix of ``N`` items (a layer's neurons) in ``D`` dimensions that every energy works on.

One module for the word: :func:`as_rows` checks a tensor given as rows, :func:`weight_rows` takes the rows of a
layer's weight ``[N, ...]``, :func:`normalize_rows` scales rows to unit length, and :func:`unit_rows` does it the
way the hyperspherical-uniformity objectives (and their reference code) do.
"""

from __future__ import annotations

import torch
from torch import Tensor

from thomson.engine.normalization import REFERENCE_EPS as REFERENCE_EPS
from thomson.engine.normalization import Normalization


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


def weight_rows(weight: Tensor, owner: str = "the objective") -> Tensor:
    """The rows ``weight.flatten(1)`` of a layer's weight ``[N, ...]``: one row per neuron (output unit or channel).

    Raises ValueError for a tensor with fewer than 2 dims (biases and norm scales have no neurons to spread),
    naming ``owner``, and TypeError for anything but a tensor.

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
    return weight.flatten(1)


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
