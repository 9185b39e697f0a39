"""Orthogonality measures of a weight's rows (Bansal et al., NeurIPS 2018): SO, DSO, MC and SRIP.

SO, DSO and SRIP act on the raw rows (orthonormality: unit length and mutually orthogonal), MC on their
directions. With ``m = min(N, D)``, ``G`` denotes the smaller Gram matrix, ``XXᵀ`` (``N <= D``) or ``XᵀX``
(``N > D``): both have the same nonzero eigenvalues ``σ_k²``, so every measure below is computed from ``G``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from thomson.functional.rows import as_rows, normalize_rows


def soft_orthogonality(x: Tensor) -> Tensor:
    """Soft orthogonality (SO) of the rows of ``x: [N, D]``: ``‖XXᵀ - I_N‖²_F``.

    Computed as ``‖G - I_m‖²_F + (N - m)`` (equal: ``‖XXᵀ‖_F = ‖XᵀX‖_F`` and the traces agree), which is
    cheaper when ``N > D``.

    Example:
        >>> float(soft_orthogonality(2 * torch.eye(3)))  # 3 diagonal entries 4 - 1
        27.0
    """
    with torch.autocast(x.device.type, enabled=False):
        rows = as_rows(x)
        n, d = rows.shape
        return _gram_residual(rows) + (n - min(n, d))


def double_soft_orthogonality(x: Tensor) -> Tensor:
    """Double soft orthogonality (DSO): ``‖XXᵀ - I_N‖²_F + ‖XᵀX - I_D‖²_F``.

    By the identity above this is ``2 ‖G - I_m‖²_F + |N - D|``: twice SO plus the constant ``D - N``, so it
    has exactly twice SO's gradient.

    Example:
        >>> float(double_soft_orthogonality(torch.eye(2, 3)))  # rows orthonormal, columns not: |N - D| = 1
        1.0
    """
    with torch.autocast(x.device.type, enabled=False):
        rows = as_rows(x)
        n, d = rows.shape
        return 2.0 * _gram_residual(rows) + abs(n - d)


def mutual_coherence(x: Tensor) -> Tensor:
    """Mutual coherence (MC): the largest ``|cos|`` between two different rows, ``max_{i≠j} |ĉ_ij|``.

    ``‖ŴŴᵀ - I‖_∞`` (largest entry) for rows normalized to unit length; the gradient reaches that pair
    only. 0 for ``N = 1``.

    Example:
        >>> round(float(mutual_coherence(torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]))), 6)
        0.707107
    """
    with torch.autocast(x.device.type, enabled=False):
        unit = normalize_rows(as_rows(x))
        n = unit.shape[0]
        cos = (unit @ unit.T).abs().masked_fill(torch.eye(n, dtype=torch.bool, device=unit.device), 0.0)
        return cos.max() if n > 1 else cos.sum()


def spectral_isometry(x: Tensor, vector: Tensor, *, iterations: int = 0) -> Tensor:
    """Power-iteration estimate of the spectral restricted isometry (SRIP), ``σ_max(G - I_m)``.

        v ← (G - I)v / |(G - I)v|   (``iterations`` times, differentiably),   then   σ = |(G - I)v|

    which is ``σ_max`` when ``v`` is the top eigenvector of the symmetric ``G - I`` (see
    :func:`power_iteration` to find it). ``σ_max(XXᵀ - I_N)`` is the same number except that for ``N > D``
    the larger matrix also has the trivial eigenvalue ``-1``, whose gradient is zero. The products
    ``G v`` are evaluated as ``X(Xᵀv)`` or ``Xᵀ(Xv)``: ``O(ND)``, no Gram matrix.

    Args:
        x: rows ``[N, D]``.
        vector: ``[min(N, D)]``, need not be unit length.
        iterations: differentiable power steps before measuring (Bansal et al.'s code: 1, from a fresh
            uniform random vector, and it squares σ). Default 0.

    Example:
        >>> x = torch.diag(torch.tensor([2.0, 1.0, 0.5]))       # G - I = diag(3, 0, -0.75)
        >>> float(spectral_isometry(x, torch.tensor([1.0, 0.0, 0.0])))
        3.0
    """
    with torch.autocast(x.device.type, enabled=False):
        rows = as_rows(x)
        v = _checked_vector(rows, vector)
        for _ in range(iterations):
            v = _unit(_residual(rows, v))
        sigma: Tensor = torch.linalg.vector_norm(_residual(rows, _unit(v)))
        return sigma


def power_iteration(x: Tensor, vector: Tensor, iterations: int = 1) -> Tensor:
    """``iterations`` power steps ``v ← (G - I)v / |(G - I)v|`` without gradient; returns a unit vector.

    Converges to the eigenvector of ``G - I`` of largest ``|eigenvalue|`` at the rate
    ``|λ₂/λ₁|`` per step. A vector that ``G - I`` maps to 0 is left unchanged.

    Example:
        >>> x = torch.diag(torch.tensor([2.0, 1.0, 0.5]))
        >>> torch.allclose(power_iteration(x, torch.ones(3), iterations=30), torch.tensor([1.0, 0.0, 0.0]))
        True
    """
    with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
        rows = as_rows(x)
        v = _unit(_checked_vector(rows, vector))
        for _ in range(iterations):
            nxt = _residual(rows, v)
            if bool(torch.linalg.vector_norm(nxt) > 0):
                v = _unit(nxt)
        return v


def _gram_residual(rows: Tensor) -> Tensor:
    """``‖G - I_m‖²_F`` for the smaller Gram matrix ``G``."""
    n, d = rows.shape
    gram = rows @ rows.T if n <= d else rows.T @ rows
    return (gram - torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)).square().sum()


def _residual(rows: Tensor, v: Tensor) -> Tensor:
    """``(G - I) v`` for the smaller Gram matrix, from two matrix-vector products."""
    n, d = rows.shape
    gv = rows @ (rows.T @ v) if n <= d else rows.T @ (rows @ v)
    return gv - v


def _unit(v: Tensor) -> Tensor:
    norm: Tensor = torch.linalg.vector_norm(v)
    return v / norm.clamp_min(torch.finfo(v.dtype).tiny)


def _checked_vector(rows: Tensor, vector: Tensor) -> Tensor:
    m = min(rows.shape)
    if vector.shape != (m,):
        raise ValueError(f"vector must have shape [min(N, D)] = [{m}] for x of shape {tuple(rows.shape)}")
    return vector.to(rows.dtype)
