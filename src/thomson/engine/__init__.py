"""How a pairwise reduction ``Σ_{i<j} f(x_iᵀx_j)`` over the rows of ``x`` is evaluated.

Backends take rows that are already normalized (the caller decides how) and a :class:`~thomson.kernels.Kernel`.
``half_space=True`` evaluates the same reduction over the ``2N`` rows ``[x; -x]`` from the ``N×N`` cosines alone:

    Σ_{pairs of [x; -x]} f = 2 Σ_{i<j} (f(c_ij) + f(-c_ij)) + Σ_i f(-c_ii)

(``c_ii = |x_i|²``, which is 1 for unit rows; the last sum is each row against its own negation).
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from thomson.engine.dense import dense_pairwise_sum
from thomson.kernels import Kernel

Backend = Literal["auto", "dense"]
BACKENDS: tuple[Backend, ...] = ("auto", "dense")


def pair_count(n: int, half_space: bool = False) -> int:
    """Number of unordered pairs among ``n`` rows, or among the ``2n`` rows ``[x; -x]`` when ``half_space``."""
    m = 2 * n if half_space else n
    return m * (m - 1) // 2


def pairwise_sum(x: Tensor, kernel: Kernel, *, half_space: bool = False, backend: Backend = "auto") -> Tensor:
    """``Σ_{i<j} f(x_iᵀx_j)`` over the rows of ``x: [N, D]`` (over ``[x; -x]`` when ``half_space``).

    Differentiable with respect to ``x``. Returns a 0-dim tensor of ``x``'s dtype (0 when there is no pair).

    Example:
        >>> import torch
        >>> from thomson.kernels import Riesz
        >>> x = torch.eye(3, dtype=torch.float64)      # three orthogonal unit vectors, all chords √2
        >>> round(float(pairwise_sum(x, Riesz(s=2))), 6)  # 3 pairs × 1/2
        1.5
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return dense_pairwise_sum(x, kernel, half_space=half_space)


__all__ = ["BACKENDS", "Backend", "pair_count", "pairwise_sum"]
