"""Chosen rows against all rows: ``r_b = Σ_{j ≠ i_b} h(q_bᵀx_j)``, streamed over column tiles of ``x``.

The building block of the row-sampled estimator and of mini-batch classifier MHE: ``q = x[index]`` are some rows
of ``x`` (``B`` of them), each reduced against every other row of ``x`` in tiles of ``B×tile`` cosines, the
weighted total ``Σ_b w_b r_b`` and its gradient accumulated together as in :mod:`thomson.engine.streaming`. In
half space the row's partners are ``[x; -x]`` without itself: ``r_b = Σ_{j ≠ i_b} (f(c_bj) + f(-c_bj)) + f(-c_bb)``.
Memory ``O((N + B)·D + B·tile)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

from thomson.engine.streaming import accumulator, pair_terms, tile_rows
from thomson.kernels import Kernel


def row_block_sums(
    q: Tensor, x: Tensor, index: Tensor, weight: Tensor, kernel: Kernel, half_space: bool, tile: int, grad: bool
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """Sums ``r_b = Σ_{j ≠ index_b} h(q_bᵀx_j)`` of the queries ``q: [B, D]`` against the rows ``x: [N, D]``.

    ``index_b`` is the row of ``x`` that ``q_b`` is (no pair with itself; in half space the pair with its own
    negation, ``f(-c_bb)``, is added), or any value outside ``[0, N)`` for a query that is not a row of ``x``.
    Returns the sums ``[B]`` (accumulator precision) and, when ``grad``, the gradients of ``Σ_b w_b r_b`` with
    respect to ``q`` and ``x`` (else None).
    """
    n, b = x.shape[0], q.shape[0]
    rows = torch.arange(b, device=q.device)
    sums = accumulator(b, q.device)
    gq = torch.zeros_like(q) if grad else None
    gx = torch.zeros_like(x) if grad else None
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
        if gq is not None and gx is not None and dv is not None and fix is not None:
            gq.addmm_(dv, xj)
            gx[j0 : j0 + tile].addmm_(dv.T, qw)
            gq.index_add_(0, r, fix.unsqueeze(1) * xj[col])
            gx.index_add_(0, index[mine], fix.unsqueeze(1) * qw[r])
    if gq is not None:
        gq.mul_(weight.to(q.dtype).unsqueeze(1))
    return sums, gq, gx


class _RowSums(torch.autograd.Function):
    """``(Σ_b w_b r_b, r)`` for ``q: [B, D]`` (``q_b = x[index_b]``), ``x: [N, D]``; differentiable in the total."""

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
        grad = bool(ctx.needs_input_grad[0] or ctx.needs_input_grad[1])  # type: ignore[attr-defined]
        with torch.autocast(q.device.type, enabled=False):
            sums, gq, gx = row_block_sums(q, x, index, weight, kernel, half_space, tile, grad)
        if gq is not None and gx is not None:  # backward runs only when they were computed
            ctx.save_for_backward(gq, gx)
        sums_out = sums.to(q.dtype)
        ctx.mark_non_differentiable(sums_out)
        return (sums * weight.to(sums.dtype)).sum().to(q.dtype), sums_out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_total: Tensor, grad_sums: Tensor | None) -> tuple[Tensor | None, ...]:
        gq, gx = ctx.saved_tensors
        return grad_total * gq, grad_total * gx, None, None, None, None, None


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
