"""Chosen rows against all rows: ``r_b = Σ_{j ≠ i_b} h(q_bᵀx_j)``, streamed over column tiles of ``x``.

The building block of the row-sampled estimator and of mini-batch classifier MHE: ``q = x[index]`` are some rows
of ``x`` (``B`` of them), each reduced against every other row of ``x`` in tiles of ``B×tile`` cosines, the
weighted total ``Σ_b w_b r_b`` and its gradient accumulated together as in :mod:`thomson.engine.streaming`. In
half space the row's partners are ``[x; -x]`` without itself: ``r_b = Σ_{j ≠ i_b} (f(c_bj) + f(-c_bj)) + f(-c_bb)``.
Memory ``O((N + B)·D + B·tile)``.

:func:`cross_sums` is the same walk for rows ``q`` that are not rows of ``x`` (a batch against a memory bank):
``r_b = Σ_j h(q_bᵀx_j)`` over every row of ``x``, with no pair to exclude.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

from thomson.engine.streaming import accumulator, pair_terms, tile_rows
from thomson.kernels import Kernel


def row_block_sums(
    q: Tensor,
    x: Tensor,
    index: Tensor,
    weight: Tensor,
    kernel: Kernel,
    half_space: bool,
    tile: int,
    grad_q: bool,
    grad_x: bool | None = None,
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """Sums ``r_b = Σ_{j ≠ index_b} h(q_bᵀx_j)`` of the queries ``q: [B, D]`` against the rows ``x: [N, D]``.

    ``index_b`` is the row of ``x`` that ``q_b`` is (no pair with itself; in half space the pair with its own
    negation, ``f(-c_bb)``, is added), or any value outside ``[0, N)`` for a query that is not a row of ``x``.
    Returns the sums ``[B]`` (accumulator precision) and the gradients of ``Σ_b w_b r_b`` with respect to ``q``
    (when ``grad_q``) and ``x`` (when ``grad_x``, which defaults to ``grad_q``), else None.
    """
    grad_x = grad_q if grad_x is None else grad_x
    grad = grad_q or grad_x
    n, b = x.shape[0], q.shape[0]
    rows = torch.arange(b, device=q.device)
    sums = accumulator(b, q.device)
    gq = torch.zeros_like(q) if grad_q else None
    gx = torch.zeros_like(x) if grad_x else None
    qw = q * weight.to(q.dtype).unsqueeze(1)
    for j0 in range(0, n, tile):
        xj = x[j0 : j0 + tile]
        c = q @ xj.T
        mine = (index >= j0) & (index < j0 + xj.shape[0])  # rows whose own row is in this tile
        r, col = rows[mine], index[mine] - j0
        self_c = c[r, col]
        c[r, col] = 0.0  # a row with itself is no pair (f(1) may be infinite): zero, then take back
        v, dv = pair_terms(kernel, c, half_space, grad)
        sums += v.sum(1)
        sums.index_add_(0, r, -v[r, col].to(sums.dtype))
        fix = None if dv is None else -dv[r, col]
        if half_space:  # the row against its own negation
            self_value, self_slope = pair_terms(kernel, -self_c, False, fix is not None)
            sums.index_add_(0, r, self_value.to(sums.dtype))
            fix = None if fix is None or self_slope is None else fix - self_slope
        if gq is not None and dv is not None and fix is not None:
            gq.addmm_(dv, xj)
            gq.index_add_(0, r, fix.unsqueeze(1) * xj[col])
        if gx is not None and dv is not None and fix is not None:
            gx[j0 : j0 + tile].addmm_(dv.T, qw)
            gx.index_add_(0, index[mine], fix.unsqueeze(1) * qw[r])
    if gq is not None:
        gq.mul_(weight.to(q.dtype).unsqueeze(1))
    return sums, gq, gx


class _RowSums(torch.autograd.Function):
    """``(Σ_b w_b r_b, r)`` for ``q: [B, D]`` (``q_b = x[index_b]``), ``x: [N, D]``; differentiable in the total.

    ``index_b = N`` (no row of ``x``) says that ``q_b`` is not a row of ``x``: every row of ``x`` is its partner.
    Only the gradients that are needed are accumulated (``q``'s, ``x``'s or both).
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        q: Tensor,
        x: Tensor,
        index: Tensor,
        weight: Tensor,
        kernel: Kernel,
        half_space: bool,
        tile: int,
    ) -> tuple[Tensor, Tensor]:
        need_q, need_x = bool(ctx.needs_input_grad[0]), bool(ctx.needs_input_grad[1])  # type: ignore[attr-defined]
        with torch.autocast(q.device.type, enabled=False):
            sums, gq, gx = row_block_sums(q, x, index, weight, kernel, half_space, tile, need_q, need_x)
        ctx.save_for_backward(gq, gx)  # type: ignore[arg-type]  # None where not needed; backward runs if one is
        sums_out = sums.to(q.dtype)
        ctx.mark_non_differentiable(sums_out)
        return (sums * weight.to(sums.dtype)).sum().to(q.dtype), sums_out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_total: Tensor, grad_sums: Tensor | None) -> tuple[Tensor | None, ...]:
        gq, gx = ctx.saved_tensors
        return (
            None if gq is None else grad_total * gq,
            None if gx is None else grad_total * gx,
            None,
            None,
            None,
            None,
            None,
        )


def row_sums(
    x: Tensor,
    index: Tensor,
    kernel: Kernel,
    *,
    weight: Tensor | None = None,
    half_space: bool = False,
    tile: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-row sums ``r_b = Σ_{j ≠ i_b} h(x_{i_b}ᵀx_j)`` for the rows ``index: [B]`` of ``x: [N, D]``.

    Returns ``(Σ_b w_b r_b, r)``: the weighted total (differentiable with respect to ``x``, once) and the sums
    ``[B]`` (not differentiable). A row may be chosen more than once.

    Args:
        x: all rows ``[N, D]``, already normalized.
        index: the chosen rows, ``[B]`` integers in ``[0, N)``.
        kernel: the pair term.
        weight: ``w: [B]``. Default all ones.
        half_space: partners from ``[x; -x]``. Default False.
        tile: columns of ``x`` per tile. Default: tiles of about ``tile_rows(device, D)²`` cosines.

    Example:
        >>> from thomson.kernels import Riesz
        >>> total, sums = row_sums(torch.eye(4, dtype=torch.float64), torch.tensor([0, 2]), Riesz(s=2))
        >>> [round(v, 9) for v in sums.tolist()], round(float(total), 9)   # each row: 3 partners at chord √2, 3 × 1/2
        ([1.5, 1.5], 3.0)
    """
    index = index.to(x.device)
    w = torch.ones(index.shape[0], dtype=x.dtype, device=x.device) if weight is None else weight.to(x.device)
    if tile is None:
        square = tile_rows(x.device, x.shape[1])
        tile = max(square, square * square // max(index.shape[0], 1))
    total, sums = _RowSums.apply(x[index], x, index, w, kernel, half_space, tile)  # type: ignore[no-untyped-call]
    return total, sums


def cross_sums(
    q: Tensor, x: Tensor, kernel: Kernel, *, weight: Tensor | None = None, tile: int | None = None
) -> tuple[Tensor, Tensor]:
    """Per-row sums ``r_b = Σ_j h(q_bᵀx_j)`` of the rows ``q: [B, D]`` against every row of ``x: [K, D]``.

    The cross term of two different sets (a batch against a memory bank of earlier embeddings): every one of
    the ``B·K`` pairs counts, none is excluded. Returns ``(Σ_b w_b r_b, r)`` as :func:`row_sums` does; the total
    is differentiable (once) with respect to ``q`` and ``x``, and only the gradients needed are computed (pass a
    detached ``x`` to send the gradient to ``q`` alone). Memory ``O((B + K)·D + B·tile)``.

    Args:
        q: rows ``[B, D]``, already normalized.
        x: rows ``[K, D]``, already normalized, of ``q``'s dtype and device.
        kernel: the pair term ``h = f`` (full space).
        weight: ``w: [B]``. Default all ones.
        tile: rows of ``x`` per tile. Default: tiles of about ``tile_rows(device, D)²`` cosines.

    Example:
        >>> from thomson.kernels import Riesz
        >>> q, x = torch.eye(4, dtype=torch.float64)[:2], -torch.eye(4, dtype=torch.float64)
        >>> total, sums = cross_sums(q, x, Riesz(s=2))   # 3 partners at chord √2, one antipodal (chord 2)
        >>> [round(v, 9) for v in sums.tolist()], round(float(total), 9)
        ([1.75, 1.75], 3.5)
    """
    if q.dim() != 2 or x.dim() != 2 or q.shape[1] != x.shape[1]:
        raise ValueError(f"q and x must be [B, D] and [K, D] with the same D, got {tuple(q.shape)}, {tuple(x.shape)}")
    w = torch.ones(q.shape[0], dtype=q.dtype, device=q.device) if weight is None else weight.to(q.device)
    if tile is None:
        square = tile_rows(q.device, q.shape[1])
        tile = max(square, square * square // max(q.shape[0], 1))
    none = torch.full((q.shape[0],), x.shape[0], dtype=torch.long, device=q.device)  # no q_b is a row of x
    total, sums = _RowSums.apply(q, x, none, w, kernel, False, tile)  # type: ignore[no-untyped-call]
    return total, sums
