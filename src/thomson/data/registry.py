"""Load a data set by name, for the command line and config files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from thomson.data.cifar import load_cifar
from thomson.data.dataset import Dataset
from thomson.data.digits import load_digits
from thomson.data.synthetic import load_synthetic

DATASETS = ("digits", "cifar10", "cifar100", "synthetic")
"""Names :func:`load_dataset` knows."""


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
        name: one of :data:`DATASETS` (case-insensitive).
        data_dir: the CIFAR archive or folder; required for CIFAR, refused otherwise. Default None.
        train_size: training items to keep (stratified subset drawn with ``seed``). Default None (all).
        train_fraction: or the fraction to keep. Default None.
        seed: seed of the training subset (and of the synthetic data). Default 0.
        options: keyword arguments of the loader (``augment`` for CIFAR; ``num_classes``, ``dim``, ... for
            synthetic).

    Example:
        >>> load_dataset("synthetic", train_size=16).train_x.shape
        torch.Size([16, 16])
    """
    key = name.lower()
    if key not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; available: {', '.join(DATASETS)}")
    if key.startswith("cifar"):
        if data_dir is None:
            raise ValueError(f"{key} needs data_dir (--data-dir): the python-format archive or its folder")
        loader: Any = load_cifar
        options = {"data_dir": data_dir, **options}
        args: tuple[str, ...] = (key,)
    else:
        if data_dir is not None:
            raise ValueError(f"data_dir is only for cifar10/cifar100, not {key}")
        loader, args = (load_digits if key == "digits" else load_synthetic), ()
    if train_fraction is not None:
        options = {"train_fraction": train_fraction, **options}
    try:
        dataset: Dataset = loader(*args, train_size=train_size, seed=seed, **options)
    except TypeError as error:
        raise ValueError(f"bad option for data set {key!r}: {error}") from error
    return dataset
