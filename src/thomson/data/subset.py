"""Stratified random subsets: the small-data regimes of ``--train-size`` / ``--train-fraction``."""

from __future__ import annotations

import torch
from torch import Tensor


def stratified_subset(labels: Tensor, size: int, seed: int) -> Tensor:
    """Indices of ``size`` items drawn without replacement, each class in proportion to its frequency.

    Items are shuffled with ``seed``; an item that is the ``k``-th of its class (of ``n_c``) in that order gets
    the key ``(k + ½)/n_c``, and the ``size`` smallest keys are taken, so every class gets ``size·n_c/N``
    items up to rounding (at least one each when ``size`` ≥ the number of classes). Returned sorted.

    Args:
        labels: class of each item ``[N]`` (int).
        size: how many to take, ``1..N``.
        seed: the shuffle's seed.

    Example:
        >>> labels = torch.tensor([0] * 6 + [1] * 3)
        >>> torch.bincount(labels[stratified_subset(labels, 6, seed=0)]).tolist()
        [4, 2]
    """
    n = labels.shape[0]
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= n:
        raise ValueError(f"size must be an integer in 1..{n}, got {size!r}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    shuffled = labels[order]
    counts = torch.bincount(shuffled)
    rank_in_class = torch.zeros(n, dtype=torch.long)
    for c in torch.unique(shuffled).tolist():
        members = (shuffled == c).nonzero().squeeze(1)
        rank_in_class[members] = torch.arange(members.numel())
    keys = (rank_in_class.double() + 0.5) / counts[shuffled].double()
    chosen = order[torch.argsort(keys, stable=True)[:size]]
    return chosen.sort().values


def subset_size(n: int, train_size: int | None, train_fraction: float | None) -> int | None:
    """The number of training items to keep out of ``n``, or None for all; validates the two options."""
    if train_size is not None and train_fraction is not None:
        raise ValueError("give train_size or train_fraction, not both")
    if train_size is not None:
        if isinstance(train_size, bool) or not isinstance(train_size, int) or not 1 <= train_size <= n:
            raise ValueError(f"train_size must be an integer in 1..{n} (the training pool), got {train_size!r}")
        return train_size
    if train_fraction is not None:
        if not 0 < train_fraction <= 1:
            raise ValueError(f"train_fraction must lie in (0, 1], got {train_fraction!r}")
        return max(1, round(train_fraction * n))
    return None
