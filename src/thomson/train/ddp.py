"""The process group of a ``torchrun`` launch (gloo on CPU, NCCL on GPU), or a single process."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class ProcessGroup:
    """This process's place in the run: ``rank`` of ``world`` processes, and its device."""

    rank: int
    world: int
    device: torch.device
    owns_group: bool  # this object initialized the process group (and destroys it)

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that writes files."""
        return self.rank == 0

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over the processes (identity for one process)."""
        if self.world == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self._comm_device)
        dist.all_reduce(tensor)
        return [float(v) for v in tensor.tolist()]

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any process."""
        return bool(self.sum([float(flag)])[0]) if self.world > 1 else flag

    def broadcast_buffers(self, module: nn.Module) -> None:
        """Copy rank 0's buffers (BatchNorm statistics) to every process, so evaluation agrees everywhere."""
        if self.world > 1:
            for buffer in module.buffers():
                dist.broadcast(buffer, src=0)

    @property
    def _comm_device(self) -> torch.device:
        return self.device if dist.get_backend() == "nccl" else torch.device("cpu")

    def close(self) -> None:
        """Destroy the process group if this object created it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def join_process_group(device: str = "auto") -> ProcessGroup:
    """Join the process group described by torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``),
    or describe a single process.

    The device: ``"auto"`` is ``cuda:LOCAL_RANK`` when CUDA is available and CPU otherwise; the backend is
    NCCL on CUDA and gloo on CPU.

    Args:
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. Default ``"auto"``.

    Example:
        >>> join_process_group("cpu").world   # outside torchrun
        1
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "auto":
        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and world > 1:
        device = f"cuda:{local_rank}"
    try:
        target = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}") from error
    if target.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for but CUDA is not available")
    if target.type == "cuda":
        torch.cuda.set_device(target)
    owns = False
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if target.type == "cuda" else "gloo")
        owns = True
    return ProcessGroup(rank, world, target, owns)
