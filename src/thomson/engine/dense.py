"""Dense backend: one ``N×N`` Gram matrix, autograd for the gradient. Fastest for small and medium ``N``."""

from __future__ import annotations

import torch
from torch import Tensor

from thomson.kernels import Kernel


def dense_pairwise_sum(x: Tensor, kernel: Kernel, *, half_space: bool = False) -> Tensor:
    """``Σ_{i<j} f(c_ij)`` from the upper triangle of ``x xᵀ``; see :func:`thomson.engine.pairwise_sum`."""
    n = x.shape[0]
    gram = x @ x.T
    rows, cols = torch.triu_indices(n, n, offset=1, device=x.device)
    c = gram[rows, cols]
    total = kernel.value(c).sum()
    if half_space:
        total = 2.0 * (total + kernel.value(-c).sum()) + kernel.value(-gram.diagonal()).sum()
    return total
