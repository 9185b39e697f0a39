"""Exact ``Σ_{i<j} f(x_iᵀx_j)`` over rows sharded across processes: a ring of block exchanges.

Rank ``r`` of ``P`` holds the block ``X_r`` (``N_r`` rows). The Gram matrix of all rows is made of the blocks
``X_r X_qᵀ``; the pair sum is the sum of the diagonal blocks' upper triangles and of the ``P(P-1)/2`` blocks
``r < q``. Each is evaluated exactly once, by the engine's tile code (:func:`~thomson.engine.streaming.diagonal_block`,
:func:`~thomson.engine.streaming.off_diagonal_block`):

* rank ``r`` evaluates its diagonal block, then, at steps ``k = 1 .. ⌊P/2⌋``, receives ``X_{r+k}`` from rank
  ``r+k`` (and sends its own block to rank ``r-k``, indices mod ``P``);
* for ``k < P/2`` it owns the pair ``(r, r+k)``: it computes the value and both sides' gradients and sends the
  partner's gradient back (rank ``r+k`` receives it from the same step of its own loop, as rank ``(r+k)-k``).
  Over ``r`` and ``k ≤ ⌊(P-1)/2⌋`` every unordered pair ``{r, q}`` appears once: ``q - r ≡ k`` or ``r - q ≡ k``
  (mod ``P``), and for ``k < P/2`` exactly one of the two holds;
* for even ``P`` the step ``k = P/2`` pairs ranks ``r`` and ``r + P/2`` both ways. Both ranks have each other's
  block, so each computes its own side's gradient (two tile products instead of three, nothing to send back)
  and the lower rank counts the value. This balances the work: every rank does ``1.5 + 3(⌈P/2⌉-1) + 2·[P even]``
  block-sized products (in units of ``(N/P)²D``) against ``1.5P`` for a perfect split of the ``1.5N²D`` total.

The next partner's block is requested before the current one is evaluated (the transfer overlaps the
arithmetic), and the returned gradients travel while the next block is evaluated. Per rank and step, one block of
rows and (for ``k < P/2``) one block of gradients leave and arrive: ``⌊P/2⌋ + ⌈P/2⌉ - 1 = P - 1`` blocks of about
``N/P × D`` values each way in all. Memory beyond the rank's own rows and gradient: the current and the next
partner's rows and the gradient blocks in flight, ``O((N/P)·D)``. The value is summed over the ranks with one
all-reduce; the gradient of this rank's rows is accumulated in the forward pass (as the streaming engine does) and
only scaled in the backward pass, which therefore communicates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor
from torch.autograd.function import FunctionCtx

from thomson.distributed.shards import Shards, gather_shards
from thomson.engine.streaming import diagonal_block, off_diagonal_block, tile_rows
from thomson.functional.rows import as_rows
from thomson.kernels import Kernel


@dataclass(frozen=True)
class Step:
    """Step ``k`` of rank ``rank``'s ring: it receives the rows of ``partner`` and sends its own to ``source``.

    ``shared``: the pair is evaluated on both ranks, each for its own gradient (``k = P/2``), and the lower rank
    counts its value; otherwise this rank owns the pair ``(rank, partner)``, sends ``partner`` its gradient, and
    receives its own from ``source``.
    """

    k: int
    partner: int
    source: int
    shared: bool


def ring_steps(rank: int, world: int) -> list[Step]:
    """The steps of ``rank`` in a ring of ``world`` ranks (none for one rank)."""
    return [Step(k, (rank + k) % world, (rank - k) % world, shared=2 * k == world) for k in range(1, world // 2 + 1)]


class _Transfer:
    """Point-to-point operations in flight; ``wait()`` returns the tensor received (or None)."""

    def __init__(self, ops: list[dist.P2POp], received: Tensor | None, keep: Tensor | None = None) -> None:
        self.works = dist.batch_isend_irecv(ops) if ops else []
        self.received, self.keep = received, keep  # keep: a tensor being sent, alive until the send is done

    def wait(self) -> Tensor | None:
        for work in self.works:
            work.wait()
        self.works, self.keep = [], None
        return self.received


def _exchange(
    shards: Shards, send: Tensor | None, to: int, receive: int | None, frm: int, like: Tensor, tag: int
) -> _Transfer:
    """Send ``send`` to group rank ``to`` and receive ``receive`` rows (shaped like ``like``'s rows) from ``frm``."""
    ops = []
    received = None
    if receive is not None:
        received = like.new_empty((receive, like.shape[1]))
        ops.append(dist.P2POp(dist.irecv, received, shards.peer(frm), shards.group, tag))
    if send is not None:
        ops.append(dist.P2POp(dist.isend, send, shards.peer(to), shards.group, tag))
    return _Transfer(ops, received, send)


def ring_pair_sum(
    x: Tensor, kernel: Kernel, half_space: bool, tile: int, shards: Shards
) -> tuple[Tensor, Tensor | None]:
    """The pair sum over all ranks' rows (float64 at least, the same on every rank) and, when ``shards.grad``, its
    gradient with respect to this rank's rows ``x: [N_r, D]``. Every rank of the group must call it together."""
    r, sizes, grad = shards.rank, shards.sizes, shards.grad
    x = x.contiguous()  # sent as it is
    mine = x.unsqueeze(0)
    g = torch.zeros_like(mine) if grad else None
    total = diagonal_block(mine, kernel, half_space, tile, g)
    steps = ring_steps(r, shards.world)

    def rows_of(step: Step) -> _Transfer:  # X_{r+k} arrives, X_r leaves for r - k; nothing for an empty side
        send = x if sizes[r] and sizes[step.source] else None
        receive = sizes[step.partner] if sizes[r] and sizes[step.partner] else None
        return _exchange(shards, send, step.source, receive, step.partner, x, 2 * step.k)

    incoming = rows_of(steps[0]) if steps else None
    returning: _Transfer | None = None
    for i, step in enumerate(steps):
        assert incoming is not None
        partner_rows = incoming.wait()
        incoming = rows_of(steps[i + 1]) if i + 1 < len(steps) else None
        partner_grad = None
        if partner_rows is not None:
            partner_grad = torch.zeros_like(partner_rows) if grad and not step.shared else None
            gy = None if partner_grad is None else partner_grad.unsqueeze(0)  # accumulated in place
            value = off_diagonal_block(mine, partner_rows.unsqueeze(0), kernel, half_space, tile, g, gy)
            if not step.shared or r < step.partner:
                total += value
        if returning is not None and (back := returning.wait()) is not None and g is not None:
            g[0] += back
        returning = None
        if grad and not step.shared:  # the partner's gradient goes back; ours comes from the source
            send = partner_grad
            receive = sizes[r] if sizes[r] and sizes[step.source] else None
            returning = _exchange(shards, send, step.partner, receive, step.source, x, 2 * step.k + 1)
    if returning is not None and (back := returning.wait()) is not None and g is not None:
        g[0] += back
    return shards.all_reduce(total)[0], None if g is None else g[0]


class _RingPairSum(torch.autograd.Function):
    """The sharded pair sum as an autograd function: the gradient is computed with the value (one ring) and
    only scaled by ``grad_out`` in the backward pass."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, kernel: Kernel, half_space: bool, tile: int, shards: Shards) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            total, g = ring_pair_sum(x.detach(), kernel, half_space, tile, shards)
        ctx.save_for_backward(x)
        ctx.g, ctx.kernel, ctx.half_space, ctx.tile, ctx.shards = g, kernel, half_space, tile, shards  # type: ignore[attr-defined]
        return total.to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor, None, None, None, None]:
        if torch.is_grad_enabled():
            raise RuntimeError(
                "the distributed pair sum has no second derivative (create_graph=True); use "
                "thomson.hyperspherical_energy on gathered rows for a differentiable gradient"
            )
        (x,) = ctx.saved_tensors
        g, ctx.g = ctx.g, None
        if g is None:  # a repeated backward (retain_graph=True): every rank walks the ring again
            with torch.autocast(x.device.type, enabled=False):
                g = ring_pair_sum(x.detach(), ctx.kernel, ctx.half_space, ctx.tile, ctx.shards)[1]
            assert g is not None
        return g.mul_(grad_out), None, None, None, None


def sharded_pair_sum(
    shard: Tensor, kernel: Kernel, *, half_space: bool = False, group: dist.ProcessGroup | None = None
) -> tuple[Tensor, Shards]:
    """:func:`pairwise_sum` and the :class:`Shards` it ran on (for the caller's normalization)."""
    shard = as_rows(shard, "shard")
    grad = torch.is_grad_enabled() and shard.requires_grad
    shards = gather_shards(shard, group, grad=grad, options=("pair sum", kernel, bool(half_space)))
    tile = tile_rows(shard.device, shard.shape[1])
    total: Tensor = _RingPairSum.apply(shard, kernel, bool(half_space), tile, shards)  # type: ignore[no-untyped-call]
    return total, shards


def pairwise_sum(
    shard: Tensor, kernel: Kernel, *, half_space: bool = False, group: dist.ProcessGroup | None = None
) -> Tensor:
    """``Σ_{i<j} f(x_iᵀx_j)`` over the rows of every rank's ``shard`` (over ``[x; -x]`` when ``half_space``).

    Equal, on every rank, to :func:`thomson.engine.pairwise_sum` on the concatenation of the shards in rank order;
    ``backward()`` gives each rank the gradient with respect to its own rows (scaled by its ``grad_out``: use
    the same loss on every rank). Every rank of ``group`` must call it, with the same kernel and options; shards
    may differ in size and may be empty. No second derivatives.

    Args:
        shard: this rank's rows ``[N_r, D]``, already normalized (on the GPU for NCCL, on the CPU for gloo).
        kernel: the pair term, a :class:`~thomson.kernels.Kernel`.
        half_space: reduce over ``[x; -x]``. Default False.
        group: the process group holding the rows. Default: the default group (a single process when
            ``torch.distributed`` is not initialized).

    Example:
        >>> import torch
        >>> from thomson.kernels import Riesz
        >>> round(float(pairwise_sum(torch.eye(3, dtype=torch.float64), Riesz(s=2))), 6)  # one process: 3 × 1/2
        1.5
    """
    return sharded_pair_sum(shard, kernel, half_space=half_space, group=group)[0]
