"""The CIFAR reader on tiny archives written here in the exact format of the official python version."""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from numpy._core.multiarray import _reconstruct

from thomson.data import CifarFormatError, load_cifar, load_dataset


class Py2Pickler(pickle._Pickler):  # type: ignore[name-defined,misc]
    """Writes pickles as Python 2's cPickle did for the official archives: protocol 2, ``str`` as (SHORT_)BINSTRING,
    numpy arrays through ``numpy.core.multiarray._reconstruct`` with the raw bytes as a ``str``."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_py2_str(self, obj: bytes) -> None:
        n = len(obj)
        self.write(
            pickle.SHORT_BINSTRING + bytes([n]) + obj if n < 256 else pickle.BINSTRING + struct.pack("<i", n) + obj
        )
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if obj is _reconstruct:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            return (_reconstruct, (np.ndarray, (0,), b"b"), (1, obj.shape, obj.dtype, False, obj.tobytes()))
        if isinstance(obj, np.dtype):
            return (np.dtype, (obj.str[1:].encode(), 0, 1), (3, b"|", None, None, None, -1, -1, 0))
        return NotImplemented


def py2_pickle(content: dict[bytes, Any]) -> bytes:
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(content)
    return buffer.getvalue()


def rows_of_images(images: np.ndarray) -> np.ndarray:
    """The official row layout: 1024 red values, then 1024 green, then 1024 blue, each 32×32 row-major."""
    return np.stack([np.concatenate([img[c].ravel() for c in range(3)]) for img in images]).astype(np.uint8)


def make_images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)


def cifar10_files(
    images: list[np.ndarray], labels: list[list[int]], test: tuple[np.ndarray, list[int]]
) -> dict[str, bytes]:
    files = {}
    for i, (x, y) in enumerate(zip(images, labels, strict=True), start=1):
        files[f"data_batch_{i}"] = py2_pickle(
            {
                b"batch_label": f"training batch {i} of 5".encode(),
                b"labels": y,
                b"data": rows_of_images(x),
                b"filenames": [f"img_{i}_{k}.png".encode() for k in range(len(y))],
            }
        )
    files["test_batch"] = py2_pickle(
        {
            b"batch_label": b"testing batch 1 of 1",
            b"labels": test[1],
            b"data": rows_of_images(test[0]),
            b"filenames": [],
        }
    )
    files["batches.meta"] = py2_pickle(
        {b"num_cases_per_batch": 10000, b"label_names": [f"c{k}".encode() for k in range(10)], b"num_vis": 3072}
    )
    return files


def write_folder(root: Path, folder: str, files: dict[str, bytes]) -> Path:
    (root / folder).mkdir(parents=True)
    for name, content in files.items():
        (root / folder / name).write_bytes(content)
    return root / folder


def write_tar(path: Path, folder: str, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


@pytest.fixture(scope="module")
def cifar10(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("c10")
    images = [make_images(2 + i, seed=i) for i in range(5)]
    labels = [[(3 * i + k) % 10 for k in range(2 + i)] for i in range(5)]
    test = (make_images(3, seed=9), [9, 0, 4])
    files = cifar10_files(images, labels, test)
    folder = write_folder(root, "cifar-10-batches-py", files)
    archive = write_tar(root / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    return {"folder": folder, "archive": archive, "images": images, "labels": labels, "test": test, "files": files}


def check_cifar10(dataset: Any, data: dict[str, Any]) -> None:
    assert dataset.num_classes == 10 and dataset.train_x.dtype == torch.uint8
    assert np.array_equal(dataset.train_x.numpy(), np.concatenate(data["images"]))  # batches 1..5 in order
    assert dataset.train_y.tolist() == [y for labels in data["labels"] for y in labels]
    assert np.array_equal(dataset.test_x.numpy(), data["test"][0]) and dataset.test_y.tolist() == data["test"][1]


def test_cifar10_from_folder_parent_and_archive(cifar10: dict[str, Any]) -> None:
    for where in (cifar10["folder"], cifar10["folder"].parent, cifar10["archive"]):
        check_cifar10(load_cifar("cifar10", where), cifar10)


def test_cifar100_layout_uses_fine_labels(tmp_path: Path) -> None:
    train, test = make_images(6, seed=1), make_images(2, seed=2)
    fine, coarse = [0, 99, 5, 42, 7, 13], [0, 19, 1, 8, 1, 3]
    files = {
        "train": py2_pickle(
            {
                b"filenames": [],
                b"batch_label": b"training batch 1 of 1",
                b"fine_labels": fine,
                b"coarse_labels": coarse,
                b"data": rows_of_images(train),
            }
        ),
        "test": py2_pickle(
            {
                b"filenames": [],
                b"batch_label": b"testing batch 1 of 1",
                b"fine_labels": [98, 1],
                b"coarse_labels": [2, 3],
                b"data": rows_of_images(test),
            }
        ),
        "meta": py2_pickle(
            {
                b"fine_label_names": [f"f{k}".encode() for k in range(100)],
                b"coarse_label_names": [f"c{k}".encode() for k in range(20)],
            }
        ),
    }
    folder = write_folder(tmp_path, "cifar-100-python", files)
    archive = write_tar(tmp_path / "cifar-100-python.tar.gz", "cifar-100-python", files)
    for where in (folder, archive):
        ds = load_dataset("cifar100", data_dir=where)
        assert ds.num_classes == 100 and ds.augment
        assert np.array_equal(ds.train_x.numpy(), train) and ds.train_y.tolist() == fine
        assert np.array_equal(ds.test_x.numpy(), test) and ds.test_y.tolist() == [98, 1]


def test_batches_are_scaled_and_augmented(cifar10: dict[str, Any]) -> None:
    ds = load_cifar("cifar10", cifar10["folder"])
    x, _ = next(ds.test_batches(2))
    torch.testing.assert_close(x, (torch.from_numpy(cifar10["test"][0][:2]).double() - 127.5).float() / 128)
    index = torch.tensor([0, 1])
    plain, _ = load_cifar("cifar10", cifar10["folder"], augment=False).train_batch(index)
    augmented, _ = ds.train_batch(index, torch.Generator().manual_seed(0))
    assert torch.equal(plain, (ds.train_x[:2].float() - 127.5) / 128)
    assert not torch.equal(plain, augmented) and augmented.shape == plain.shape


def test_train_size_takes_a_subset(cifar10: dict[str, Any]) -> None:
    ds = load_cifar("cifar10", cifar10["archive"], train_size=7, seed=3)
    everything = np.concatenate(cifar10["images"])
    assert len(ds.train_y) == 7
    for image in ds.train_x.numpy():
        assert any(np.array_equal(image, other) for other in everything)


def test_missing_data_says_what_and_where(tmp_path: Path) -> None:
    with pytest.raises(CifarFormatError) as error:
        load_cifar("cifar100", tmp_path)
    message = str(error.value)
    assert "cifar-100-python.tar.gz" in message and "meta, train, test" in message
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in message and "never downloads" in message
    with pytest.raises(ValueError, match="needs data_dir"):
        load_dataset("cifar10")


def test_missing_member_and_corrupt_files(cifar10: dict[str, Any], tmp_path: Path) -> None:
    files = dict(cifar10["files"])
    incomplete = write_folder(
        tmp_path / "a", "cifar-10-batches-py", {k: v for k, v in files.items() if k != "data_batch_3"}
    )
    with pytest.raises(CifarFormatError, match="data_batch_3 is missing"):
        load_cifar("cifar10", incomplete)
    garbage = write_folder(tmp_path / "b", "cifar-10-batches-py", {**files, "test_batch": b"not a pickle at all"})
    with pytest.raises(CifarFormatError, match="test_batch is not a readable python-format CIFAR pickle"):
        load_cifar("cifar10", garbage)
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(cifar10["archive"].read_bytes()[:200])
    with pytest.raises(CifarFormatError, match=r"cut\.tar\.gz"):
        load_cifar("cifar10", truncated)
    bad_shape = py2_pickle({b"labels": [1], b"data": np.zeros((1, 100), dtype=np.uint8)})
    with pytest.raises(CifarFormatError, match=r"expected 'data' uint8 \[n, 3072\]"):
        load_cifar("cifar10", write_folder(tmp_path / "c", "x", {**files, "data_batch_1": bad_shape}))


def test_pickles_with_other_objects_are_refused(cifar10: dict[str, Any], tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (print, ("this would run",))

    files = {**cifar10["files"], "batches.meta": pickle.dumps({"label_names": Evil()}, protocol=2)}
    with pytest.raises(CifarFormatError, match=r"unexpected object __builtin__\.print"):
        load_cifar("cifar10", write_folder(tmp_path, "evil", files))
