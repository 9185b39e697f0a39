"""Data sets by name, for the command line and config files: the registry :data:`DATASETS` and
:func:`load_dataset`.

Register a loader ``(*, train_size, seed, **options) -> Dataset`` with ``@DATASETS.register("name")``; a loader
that reads files takes ``data_dir`` too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from thomson.data.cifar import load_cifar
from thomson.data.dataset import Dataset
from thomson.data.digits import load_digits
from thomson.data.synthetic import load_synthetic
from thomson.registry import Registry

DATASETS: Registry[Callable[..., Dataset]] = Registry("data set")
"""Data set name → loader ``(*, train_size, seed, **options) -> Dataset`` (``data_dir`` too if it reads files)."""

DATASETS.add("digits", load_digits)


def _cifar(name: str) -> Callable[..., Dataset]:
    def load(
        *,
        data_dir: str | Path | None = None,
        augment: bool = True,
        train_size: int | None = None,
        train_fraction: float | None = None,
        seed: int = 0,
    ) -> Dataset:
        if data_dir is None:
            raise ValueError(f"{name} needs data_dir (--data-dir): the python-format archive or its folder")
        return load_cifar(
            name, data_dir, augment=augment, train_size=train_size, train_fraction=train_fraction, seed=seed
        )

    load.__qualname__ = f"load_{name}"
    return load


DATASETS.add("cifar10", _cifar("cifar10"))
DATASETS.add("cifar100", _cifar("cifar100"))
DATASETS.add("synthetic", load_synthetic)


def load_dataset(
    name: str,
    *,
    data_dir: str | Path | None = None,
    train_size: int | None = None,
    train_fraction: float | None = None,
    seed: int = 0,
    **options: Any,
) -> Dataset:
    """The data set ``name``: ``digits`` (default data, bundled), ``cifar10``/``cifar100`` (from ``data_dir``)
    or ``synthetic``.

    Args:
        name: one of :data:`DATASETS` (case-insensitive), or an import path ``module:loader``.
        data_dir: the archive or folder of a data set read from files (CIFAR); refused by the others. Default None.
        train_size: training items to keep (stratified subset drawn with ``seed``). Default None (all).
        train_fraction: or the fraction to keep. Default None.
        seed: seed of the training subset (and of the synthetic data). Default 0.
        options: keyword arguments of the loader (``augment`` for CIFAR; ``num_classes``, ``dim``, ... for
            synthetic).

    Example:
        >>> load_dataset("synthetic", train_size=16).train_x.shape
        torch.Size([16, 16])
    """
    loader = DATASETS.get(name)
    if data_dir is not None:
        if "data_dir" not in inspect.signature(loader).parameters:
            readers = [n for n in DATASETS if "data_dir" in inspect.signature(DATASETS.get(n)).parameters]
            raise ValueError(f"data_dir is only for {'/'.join(readers)}, not {name.lower()}")
        options = {"data_dir": data_dir, **options}
    if train_fraction is not None:
        options = {"train_fraction": train_fraction, **options}
    dataset: Dataset = DATASETS.create(name, train_size=train_size, seed=seed, **options)
    return dataset
