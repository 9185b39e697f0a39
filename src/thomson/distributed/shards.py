"""Where the rows are: this process's place in a process group and every rank's number of rows.

Every distributed reduction starts with one all-gather of a few integers per rank (rows, dimension, dtype,
whether a gradient is needed, a checksum of the options), so that the ranks agree on the schedule before any row
moves, shards may differ in size (or be empty), and a mismatch raises the same clear error on every rank instead
of hanging.
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class Shards:
    """The rows of ``world`` processes: ``sizes[r]`` rows on group rank ``r``; this process is ``rank``.

    The concatenation of the shards in rank order is the set of rows being reduced; this rank's rows are
    ``offset .. offset + sizes[rank]`` of it. ``grad``: some rank needs the gradient of its rows.
    """

    group: dist.ProcessGroup | None
    rank: int
    world: int
    sizes: tuple[int, ...]
    grad: bool

    @property
    def total(self) -> int:
        """Rows on all ranks together."""
        return sum(self.sizes)

    @property
    def offset(self) -> int:
        """Index of this rank's first row in the concatenation."""
        return sum(self.sizes[: self.rank])

    def peer(self, rank: int) -> int:
        """The global rank of group rank ``rank`` (what point-to-point operations address)."""
        return rank if self.group is None else dist.get_global_rank(self.group, rank)

    def all_reduce(self, tensor: Tensor) -> Tensor:
        """Sum ``tensor`` over the ranks, in place (nothing to do for one process)."""
        if self.world > 1:
            dist.all_reduce(tensor, group=self.group)
        return tensor

    def broadcast(self, tensor: Tensor) -> Tensor:
        """Group rank 0's ``tensor`` on every rank, in place."""
        if self.world > 1:
            dist.broadcast(tensor, src=self.peer(0), group=self.group)
        return tensor


def gather_shards(rows: Tensor, group: dist.ProcessGroup | None, *, grad: bool, options: tuple[Any, ...]) -> Shards:
    """Describe the shards of ``rows: [N_r, D]`` over ``group`` (one all-gather), checking that the ranks agree.

    ``group=None`` is the default group, or a single process when ``torch.distributed`` is not initialized (and
    the environment does not announce several processes). ``options`` (kernel, half space, sample size...)
    must be equal on every rank; they are compared through a checksum.
    """
    if group is not None and not isinstance(group, dist.ProcessGroup):
        raise TypeError(f"group must be a torch.distributed ProcessGroup or None, got {type(group).__name__}")
    if not (dist.is_available() and dist.is_initialized()):
        if group is not None or int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ValueError(
                "torch.distributed is not initialized although this is a run of several processes (WORLD_SIZE="
                f"{os.environ.get('WORLD_SIZE', '?')}); call torch.distributed.init_process_group() first"
            )
        return Shards(None, 0, 1, (rows.shape[0],), grad)
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    if rank < 0:
        raise ValueError("this process is not a member of the process group it was given")
    code = zlib.crc32(repr(tuple(_stable(o) for o in options)).encode()) & 0x7FFFFFFF
    mine = torch.tensor([rows.shape[0], rows.shape[1], _DTYPES.index(rows.dtype), int(grad), code], device=rows.device)
    every = [torch.empty_like(mine) for _ in range(world)]
    dist.all_gather(every, mine, group=group)
    table = torch.stack(every).tolist()
    for column, what in ((1, "row dimension D"), (2, "dtype"), (4, "options (kernel, half_space, samples...)")):
        values = [row[column] for row in table]
        if len(set(values)) > 1:
            shown = [_DTYPES[v] for v in values] if column == 2 else values
            raise ValueError(
                f"the ranks disagree on the {what}: {shown} by rank; every rank must call with rows of the same "
                "dimension and dtype and the same arguments"
            )
    return Shards(group, rank, world, tuple(row[0] for row in table), any(row[3] for row in table))


def _stable(option: Any) -> Any:
    """A representation that is the same in every process: dataclasses (kernels) by value, plain values as is,
    anything else by its type's name (the default repr of an object holds its address)."""
    if dataclasses.is_dataclass(option) and not isinstance(option, type):
        return repr(option)
    if option is None or isinstance(option, (bool, int, float, str)):
        return option
    return type(option).__qualname__
