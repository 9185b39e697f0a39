"""CIFAR-10 and CIFAR-100 read from the standard python-format archive the user already has (never downloaded)."""

from __future__ import annotations

import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np
import torch

from thomson.data.dataset import Dataset
from thomson.data.subset import stratified_subset, subset_size

URL = "https://www.cs.toronto.edu/~kriz/cifar.html"


@dataclass(frozen=True)
class _Layout:
    archive: str  # the archive's file name
    folder: str  # the folder it extracts to
    train: tuple[str, ...]
    test: str
    meta: str
    label_key: str
    names_key: str
    num_classes: int


LAYOUTS = {
    "cifar10": _Layout(
        "cifar-10-python.tar.gz",
        "cifar-10-batches-py",
        tuple(f"data_batch_{i}" for i in range(1, 6)),
        "test_batch",
        "batches.meta",
        "labels",
        "label_names",
        10,
    ),
    "cifar100": _Layout(
        "cifar-100-python.tar.gz",
        "cifar-100-python",
        ("train",),
        "test",
        "meta",
        "fine_labels",
        "fine_label_names",
        100,
    ),
}


class CifarFormatError(ValueError):
    """The CIFAR archive is missing, incomplete or not in the python format."""


class _Unpickler(pickle.Unpickler):
    """Loads the archive's pickles (written by Python 2) and refuses any object but numpy arrays and builtins."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class(module, name)


def _unpickle(stream: IO[bytes], where: str) -> dict[str, Any]:
    try:
        content = _Unpickler(stream, encoding="latin1").load()
    except Exception as error:
        raise CifarFormatError(f"{where} is not a readable python-format CIFAR pickle ({error})") from error
    if not isinstance(content, dict):
        raise CifarFormatError(f"{where} holds a {type(content).__name__}, expected a dict")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in content.items()}


def _read_all(name: str, layout: _Layout, data_dir: Path) -> dict[str, dict[str, Any]]:
    """Every file of the layout, unpickled, from the extracted folder, its parent or the ``.tar.gz``."""
    files = (layout.meta, *layout.train, layout.test)
    missing = (
        f"{name} not found at {data_dir}: expected the python version of the data set, either the archive "
        f"{layout.archive} or its extracted folder {layout.folder}/ holding {', '.join(files)}. "
        f"Get it from {URL} (thomson never downloads data)."
    )
    if data_dir.is_dir() and (data_dir / layout.archive).is_file() and not (data_dir / layout.folder).is_dir():
        data_dir = data_dir / layout.archive
    if data_dir.is_file():
        try:
            with tarfile.open(data_dir, "r:*") as tar:
                members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
                out = {}
                for file in files:
                    if file not in members:
                        raise CifarFormatError(f"{data_dir} has no member {file}. {missing}")
                    stream = tar.extractfile(members[file])
                    assert stream is not None  # a regular file
                    out[file] = _unpickle(stream, f"{data_dir}:{members[file].name}")
                return out
        except (tarfile.TarError, OSError, EOFError) as error:
            raise CifarFormatError(f"{data_dir} is not a readable tar archive ({error}). {missing}") from error
    for folder in (data_dir, data_dir / layout.folder):
        if any((folder / file).is_file() for file in files):
            out = {}
            for file in files:
                if not (folder / file).is_file():
                    raise CifarFormatError(f"{folder / file} is missing. {missing}")
                with (folder / file).open("rb") as stream:
                    out[file] = _unpickle(stream, str(folder / file))
            return out
    raise CifarFormatError(missing)


def _images_and_labels(batch: dict[str, Any], layout: _Layout, where: str) -> tuple[np.ndarray, np.ndarray]:
    if "data" not in batch or layout.label_key not in batch:
        raise CifarFormatError(f"{where} lacks the keys 'data' and {layout.label_key!r} (has {sorted(batch)})")
    data, labels = np.asarray(batch["data"]), np.asarray(batch[layout.label_key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != data.shape[:1]:
        raise CifarFormatError(
            f"{where}: expected 'data' uint8 [n, 3072] and {layout.label_key!r} of n labels, got {data.dtype} "
            f"{list(data.shape)} and {list(labels.shape)} labels"
        )
    if labels.size and not 0 <= labels.min() <= labels.max() < layout.num_classes:
        raise CifarFormatError(f"{where}: labels must lie in 0..{layout.num_classes - 1}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_cifar(
    name: str,
    data_dir: str | Path,
    *,
    augment: bool = True,
    train_size: int | None = None,
    train_fraction: float | None = None,
    seed: int = 0,
) -> Dataset:
    """CIFAR-10 or CIFAR-100 from the python-format archive: ``uint8`` images ``[N, 3, 32, 32]``.

    ``data_dir`` is the ``.tar.gz`` (``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz``), the folder it
    extracts to (``cifar-10-batches-py`` / ``cifar-100-python``) or that folder's parent. CIFAR-10 reads
    ``data_batch_1..5`` (in order), ``test_batch`` and ``batches.meta``; CIFAR-100 reads ``train``, ``test``
    and ``meta`` with the fine labels. Batches are prepared as the reference code does: ``(x − 127.5)/128``,
    and for training pad 4 (symmetric), random 32×32 crop and horizontal flip. The pickles are read with an
    unpickler that accepts only numpy arrays and builtins. A missing or malformed file raises
    :class:`CifarFormatError` saying what was expected and where to get it.

    Args:
        name: ``"cifar10"`` or ``"cifar100"``.
        data_dir: archive, folder, or the folder's parent.
        augment: random crop and flip of training batches. Default True.
        train_size: keep this many training images (stratified, drawn with ``seed``). Default None (all).
        train_fraction: or this fraction of them. Default None.
        seed: seed of the training subset. Default 0.

    Example:
        >>> load_cifar("cifar10", "/nonexistent")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        thomson.data.cifar.CifarFormatError: cifar10 not found at /nonexistent: expected the python version ...
    """
    layout = LAYOUTS.get(name)
    if layout is None:
        raise ValueError(f"name must be one of {sorted(LAYOUTS)}, got {name!r}")
    content = _read_all(name, layout, Path(data_dir).expanduser())
    meta = content[layout.meta]
    if len(meta.get(layout.names_key, ())) != layout.num_classes:
        raise CifarFormatError(f"{layout.meta} must list {layout.num_classes} names under {layout.names_key!r}")
    parts = [_images_and_labels(content[file], layout, file) for file in layout.train]
    train_x = torch.from_numpy(np.concatenate([p[0] for p in parts]))
    train_y = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    test_x, test_y = (torch.from_numpy(a) for a in _images_and_labels(content[layout.test], layout, layout.test))
    size = subset_size(len(train_y), train_size, train_fraction)
    if size is not None:
        keep = stratified_subset(train_y, size, seed)
        train_x, train_y = train_x[keep], train_y[keep]
    return Dataset(name, train_x, train_y, test_x, test_y, layout.num_classes, augment=augment)
