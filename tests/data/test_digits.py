from __future__ import annotations

import pytest
import torch
from sklearn.datasets import load_digits as sklearn_digits

from thomson.data import load_dataset, load_digits, load_synthetic


def as_set(x: torch.Tensor) -> set[bytes]:
    return {row.numpy().tobytes() for row in x.flatten(1)}


def test_split_is_fixed_disjoint_and_complete() -> None:
    full = load_digits()
    other = load_digits(train_size=100, seed=4)
    assert full.train_x.shape == (898, 1, 8, 8) and full.test_x.shape == (899, 1, 8, 8)
    assert torch.equal(full.test_x, other.test_x) and torch.equal(full.test_y, other.test_y)
    original = torch.tensor(sklearn_digits().images, dtype=torch.float32) / 16
    assert as_set(full.train_x) | as_set(full.test_x) == as_set(original)
    assert float(full.train_x.min()) == 0.0 and float(full.train_x.max()) == 1.0


def test_train_subset_is_stratified_and_depends_on_the_seed() -> None:
    a, b = load_digits(train_size=200, seed=0), load_digits(train_size=200, seed=1)
    assert len(a.train_y) == 200
    assert torch.bincount(a.train_y).min() >= 19 and torch.bincount(a.train_y).max() <= 21
    assert as_set(a.train_x) <= as_set(load_digits().train_x)
    assert not torch.equal(a.train_x, b.train_x)
    assert len(load_digits(train_fraction=0.5).train_y) == 449


def test_bad_sizes_raise() -> None:
    with pytest.raises(ValueError, match=r"train_size must be an integer in 1\.\.898"):
        load_digits(train_size=1000)
    with pytest.raises(ValueError, match="not both"):
        load_digits(train_size=10, train_fraction=0.5)
    with pytest.raises(ValueError, match=r"train_fraction must lie in \(0, 1\]"):
        load_dataset("digits", train_fraction=1.5)


def test_synthetic_and_registry_errors() -> None:
    ds = load_synthetic(train_size=40, num_classes=5, dim=3, seed=2)
    assert ds.train_x.shape == (40, 3) and torch.bincount(ds.train_y).tolist() == [8] * 5
    assert torch.equal(ds.test_x, load_dataset("synthetic", train_size=40, num_classes=5, dim=3, seed=2).test_x)
    with pytest.raises(ValueError, match="unknown data set 'mnist'; available: digits, cifar10"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="data_dir is only for cifar10/cifar100"):
        load_dataset("digits", data_dir="/tmp")
    with pytest.raises(ValueError, match="bad option for data set 'digits'"):
        load_dataset("digits", dim=3)
