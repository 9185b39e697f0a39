"""Unbiased estimates of ``mean_{i<j} f(x_iᵀx_j)`` over rows sharded across processes.

The sample is the one :func:`thomson.engine.sampled_pair_mean` draws for the concatenation of the shards: group
rank 0 draws it from ``generator`` (global row indices: the engine's own drawing functions) and broadcasts it, so
the estimate is exactly the single-process estimator on all rows, hence unbiased for the same reason (every pair,
or every row, is equally likely), whatever the sizes of the shards. Rows never move except the sampled ones:

* ``"pairs"``: the ``2S`` rows of the sampled pairs are fetched with one all-reduce (each row is filled in by the
  rank that holds it, zeros elsewhere: the sum is the row, exactly). Every rank then evaluates the same ``S``
  terms (``O(S·D)``, negligible), so estimate and standard error are already equal everywhere; each rank keeps
  the gradient of its own fetched rows, and the backward pass communicates nothing.
* ``"rows"``: the ``S`` sampled rows are fetched the same way, every rank sums their terms against its own rows
  (``O(S·N_r·D)``, streamed), and one all-reduce of ``[S, 1 + D]`` values combines the per-row sums (the estimate
  and its standard error) with the gradients of the sampled rows, which go to their owners.

Communication per call: ``S·D`` (rows) or ``2S·D`` (pairs) values for the fetch, ``S·(1 + D)`` for the rows'
combination, and the ``S`` or ``2S`` drawn indices; independent of ``N``. The draw itself is the engine's: for
``"rows"``, a permutation of ``N`` indices on rank 0.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor
from torch.autograd.function import FunctionCtx, once_differentiable

from thomson.distributed.shards import Shards, gather_shards
from thomson.engine.chosen_rows import row_block_sums
from thomson.engine.sampled import SAMPLINGS, Estimate, Sampling, draw_pairs, draw_rows, pairs_estimate, rows_stderr
from thomson.engine.streaming import tile_rows
from thomson.functional.rows import as_rows
from thomson.kernels import Kernel


def _fetch_rows(x: Tensor, index: Tensor, shards: Shards) -> tuple[Tensor, Tensor, Tensor]:
    """The rows ``index`` (global) of the concatenation on every rank, and which of them are this rank's (the
    positions in ``index`` and in ``x``)."""
    local = index - shards.offset
    owned = ((local >= 0) & (local < x.shape[0])).nonzero().squeeze(1)
    rows = x.new_zeros((index.shape[0], x.shape[1]))
    rows[owned] = x[local[owned]]
    return shards.all_reduce(rows), owned, local[owned]


class _FetchRows(torch.autograd.Function):
    """Rows of the concatenation, replicated on every rank; the backward pass keeps the gradient of this rank's
    rows (every rank computed the same function of them, so no gradient needs to travel)."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, index: Tensor, shards: Shards) -> Tensor:
        rows, owned, local = _fetch_rows(x.detach(), index, shards)
        ctx.save_for_backward(owned, local)
        ctx.n = x.shape[0]  # type: ignore[attr-defined]
        return rows

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        owned, local = ctx.saved_tensors
        out = grad.new_zeros((ctx.n, grad.shape[1]))
        return out.index_add_(0, local, grad[owned]), None, None


class _ShardedRowSums(torch.autograd.Function):
    """``(Σ_b w_b r_b, r)`` for the sampled rows ``index`` (global) against all ranks' rows; the gradient of this
    rank's rows is computed in the forward pass."""

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        x: Tensor,
        index: Tensor,
        weight: Tensor,
        kernel: Kernel,
        half_space: bool,
        tile: int,
        shards: Shards,
    ) -> tuple[Tensor, Tensor]:
        with torch.autocast(x.device.type, enabled=False):
            x = x.detach()
            q, owned, local = _fetch_rows(x, index, shards)
            own_index = torch.full_like(index, -1)  # a query that is not one of this rank's rows has no self pair
            own_index[owned] = local
            sums, gq, gx = row_block_sums(q, x, own_index, weight, kernel, half_space, tile, shards.grad)
            if gq is None or gx is None:
                sums = shards.all_reduce(sums)
            else:  # one all-reduce: the row sums and the sampled rows' gradients, which their owners keep
                both = shards.all_reduce(torch.cat([sums.unsqueeze(1), gq.to(sums.dtype)], 1))
                sums = both[:, 0]
                gx.index_add_(0, local, both[owned, 1:].to(gx.dtype))
                ctx.save_for_backward(gx)
        sums_out = sums.to(x.dtype)
        ctx.mark_non_differentiable(sums_out)
        return (sums * weight.to(sums.dtype)).sum().to(x.dtype), sums_out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_total: Tensor, grad_sums: Tensor | None) -> tuple[Tensor | None, ...]:
        (gx,) = ctx.saved_tensors
        return grad_total * gx, None, None, None, None, None, None


def sampled_pair_mean(
    shard: Tensor,
    kernel: Kernel,
    samples: int,
    *,
    half_space: bool = False,
    sampling: Sampling = "rows",
    generator: torch.Generator | None = None,
    group: dist.ProcessGroup | None = None,
) -> Estimate:
    """Unbiased estimate of ``mean_{i<j} f(x_iᵀx_j)`` over the rows of every rank's ``shard``, with its standard
    error, the same on every rank.

    Equal to :func:`thomson.engine.sampled_pair_mean` on the concatenation of the shards (in rank order) with group
    rank 0's ``generator``: the sample is drawn there and broadcast (the other ranks' generators are not used).
    ``backward()`` gives each rank the gradient of the estimate with respect to its own rows (use the same loss on
    every rank). Every rank of ``group`` must call it with the same arguments.

    Args:
        shard: this rank's rows ``[N_r, D]``, already normalized.
        kernel: the pair term.
        samples: rows (``"rows"``, at most ``N``) or pairs (``"pairs"``) to draw, >= 1.
        half_space: over ``[x; -x]``. Default False.
        sampling: ``"rows"`` or ``"pairs"``. Default ``"rows"``.
        generator: random source on rank 0 (on its rows' device). Default: torch's global generator there.
        group: the process group holding the rows. Default: the default group (one process when
            ``torch.distributed`` is not initialized).

    Example:
        >>> from thomson.kernels import Riesz
        >>> x = torch.nn.functional.normalize(torch.randn(500, 8, generator=torch.Generator().manual_seed(0)))
        >>> est = sampled_pair_mean(x, Riesz(s=1), 500)     # one process, every row: the exact value
        >>> float(est.stderr)
        0.0
    """
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    x = as_rows(shard, "shard")
    grad = torch.is_grad_enabled() and x.requires_grad
    shards = gather_shards(x, group, grad=grad, options=("sampled", kernel, bool(half_space), samples, sampling))
    n = shards.total
    m = 2 * n if half_space else n
    zero = x.new_zeros(())
    if m < 2:
        return Estimate(zero + 0.0 * x.sum(), zero)
    if sampling == "pairs":
        drawn = torch.empty(2 * samples, dtype=torch.long, device=x.device)
        if shards.rank == 0:
            drawn.copy_(torch.cat(draw_pairs(m, samples, generator, x.device)))
        shards.broadcast(drawn)
        a, b = drawn[:samples], drawn[samples:]
        rows: Tensor = _FetchRows.apply(x, torch.cat([a % n, b % n]), shards)  # type: ignore[no-untyped-call]
        sign = torch.where((a >= n) ^ (b >= n), -1.0, 1.0).to(x.dtype)
        return pairs_estimate(kernel.value(sign * (rows[:samples] * rows[samples:]).sum(1)))
    index = torch.empty(min(samples, n), dtype=torch.long, device=x.device)
    if shards.rank == 0:
        index.copy_(draw_rows(n, samples, generator, x.device))
    index = shards.broadcast(index)
    s = index.shape[0]
    weight = torch.full((s,), 1.0 / (s * (m - 1)), dtype=x.dtype, device=x.device)
    square = tile_rows(x.device, x.shape[1])
    tile = max(square, square * square // s)
    value, sums = _ShardedRowSums.apply(x, index, weight, kernel, bool(half_space), tile, shards)  # type: ignore[no-untyped-call]
    return Estimate(value, rows_stderr(sums / (m - 1), n))
