from __future__ import annotations

import pytest
import torch

from thomson.data import BatchOrder, stratified_subset
from thomson.data.order import derived_seed


def test_each_epoch_visits_distinct_items_and_epochs_differ() -> None:
    order = BatchOrder(103, 10, seed=5)
    epochs = [torch.cat([order.indices(e * 10 + b) for b in range(10)]) for e in range(3)]
    for items in epochs:
        assert len(set(items.tolist())) == 100  # 3 left out per epoch (n mod b)
    assert not torch.equal(epochs[0], epochs[1])


def test_order_is_a_function_of_seed_and_step_only() -> None:
    a, b = BatchOrder(50, 8, seed=1), BatchOrder(50, 8, seed=1)
    late = a.indices(17)
    assert torch.equal(late, b.indices(17)) and torch.equal(a.indices(3), b.indices(3))
    assert not torch.equal(BatchOrder(50, 8, seed=2).indices(17), late)
    assert torch.equal(
        torch.randint(0, 9, (5,), generator=a.generator(4)), torch.randint(0, 9, (5,), generator=b.generator(4))
    )


def test_ranks_split_the_global_batch() -> None:
    whole = BatchOrder(40, 8, seed=0)
    shares = [BatchOrder(40, 8, seed=0, rank=r, world=2) for r in range(2)]
    for step in (0, 6):
        assert torch.equal(torch.cat([s.indices(step) for s in shares]), whole.indices(step))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"batch_size must lie in 1\.\.5"):
        BatchOrder(5, 6, seed=0)
    with pytest.raises(ValueError, match="divisible"):
        BatchOrder(50, 9, seed=0, world=2)
    with pytest.raises(ValueError, match="seeds must be >= 0"):
        derived_seed(-1)


def test_stratified_subset_keeps_class_proportions() -> None:
    labels = torch.tensor([0] * 500 + [1] * 300 + [2] * 200)
    for size, seed in [(100, 0), (37, 1), (3, 2)]:
        chosen = stratified_subset(labels, size, seed)
        assert len(set(chosen.tolist())) == size
        counts = torch.bincount(labels[chosen], minlength=3).tolist()
        for count, share in zip(counts, (0.5, 0.3, 0.2), strict=True):
            assert abs(count - size * share) <= 1
    assert not torch.equal(stratified_subset(labels, 50, 0), stratified_subset(labels, 50, 1))
    with pytest.raises(ValueError, match=r"size must be an integer in 1\.\.1000"):
        stratified_subset(labels, 0, 0)
