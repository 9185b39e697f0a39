"""The order of training batches: a pure function of (seed, step), so a resumed run sees the same batches."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def derived_seed(*keys: int) -> int:
    """A 63-bit seed derived from integers (numpy's ``SeedSequence``): independent streams per key tuple.

    Example:
        >>> derived_seed(0, 1) == derived_seed(0, 1) != derived_seed(1, 0)
        True
    """
    if any(k < 0 for k in keys):
        raise ValueError(f"seeds must be >= 0, got {keys}")
    return int(np.random.SeedSequence(list(keys)).generate_state(1, np.uint64)[0]) >> 1


class BatchOrder:
    """Epochs of shuffled, equal-size batches; the batch of any step computed from the seed alone.

        epoch e = step // B_e,  batch = perm_e[(step mod B_e)·b : (step mod B_e + 1)·b],  B_e = ⌊N / b⌋

    Each epoch is a fresh permutation (seeded by ``(seed, epoch)``); the last ``N mod b`` items of a
    permutation are left out of that epoch, as in the reference code (390 batches of 128 out of 50,000). With
    ``world > 1`` ranks, each rank takes a contiguous ``b / world`` share of the same global batch. The state
    is the step number, so resuming needs nothing else.

    Args:
        n: training-set size.
        batch_size: global batch size ``b``, ``1..n``, divisible by ``world``.
        seed: shuffling seed.
        rank: this process's rank. Default 0.
        world: number of processes. Default 1.

    Example:
        >>> order = BatchOrder(10, 5, seed=0)
        >>> sorted(order.indices(0).tolist() + order.indices(1).tolist())
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """

    def __init__(self, n: int, batch_size: int, seed: int, *, rank: int = 0, world: int = 1) -> None:
        if not 1 <= batch_size <= n:
            raise ValueError(f"batch_size must lie in 1..{n} (the training-set size), got {batch_size}")
        if batch_size % world:
            raise ValueError(f"batch_size {batch_size} must be divisible by the number of processes {world}")
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.batches_per_epoch = n // batch_size
        self._epoch = -1
        self._perm = torch.empty(0, dtype=torch.long)

    def indices(self, step: int) -> Tensor:
        """This rank's item indices for ``step`` (0-based)."""
        epoch, position = divmod(step, self.batches_per_epoch)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(derived_seed(self.seed, 1, epoch))
            self._perm, self._epoch = torch.randperm(self.n, generator=generator), epoch
        share = self.batch_size // self.world
        start = position * self.batch_size + self.rank * share
        return self._perm[start : start + share]

    def generator(self, step: int) -> torch.Generator:
        """A generator for ``step``'s augmentation on this rank, independent of every other step and rank."""
        return torch.Generator().manual_seed(derived_seed(self.seed, 2, step, self.rank))
