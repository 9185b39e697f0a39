"""scikit-learn's bundled handwritten digits (8×8, 10 classes, 1,797 images): the default data, no download."""

from __future__ import annotations

import torch

from thomson._optional import require
from thomson.data.dataset import Dataset
from thomson.data.subset import stratified_subset, subset_size

TEST_SEED = 0
"""The fixed seed of the train/test split, so every run is scored on the same 899 test images."""


def load_digits(*, train_size: int | None = None, train_fraction: float | None = None, seed: int = 0) -> Dataset:
    """The digits as ``[N, 1, 8, 8]`` float images in ``[0, 1]`` (pixel/16), split half for training.

    A fixed stratified split (seed :data:`TEST_SEED`) holds out 899 test images; the training pool is the
    other 898, of which ``train_size`` (or ``train_fraction``) are drawn, stratified, with ``seed``. Small
    training sets are where a regularizer has room to matter.

    Args:
        train_size: training images to keep, ``1..898``. Default None (all).
        train_fraction: or the fraction of the pool to keep, in ``(0, 1]``. Default None.
        seed: seed of the training subset. Default 0.

    Example:
        >>> ds = load_digits(train_size=100)
        >>> ds.train_x.shape, ds.test_x.shape, ds.num_classes
        (torch.Size([100, 1, 8, 8]), torch.Size([899, 1, 8, 8]), 10)
    """
    bunch = require("sklearn.datasets", extra="train", purpose="the digits data set").load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(bunch.target, dtype=torch.long)
    test = stratified_subset(y, 899, TEST_SEED)
    pool = torch.ones(len(y), dtype=torch.bool)
    pool[test] = False
    train = pool.nonzero().squeeze(1)
    size = subset_size(len(train), train_size, train_fraction)
    if size is not None:
        train = train[stratified_subset(y[train], size, seed)]
    return Dataset("digits", x[train], y[train], x[test], y[test], num_classes=10)
