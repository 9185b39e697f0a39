"""MNIST-1D: the published data set, generation options, caching, subsets, no network, and a missing package."""

from __future__ import annotations

import random
import socket
import sys
import urllib.request
from typing import Any

import numpy as np
import pytest
import torch

mnist1d_data = pytest.importorskip("mnist1d.data")

from thomson.data import load_dataset, load_mnist1d  # noqa: E402

# From the authors' published file mnist1d_data.pkl (github.com/greydanus/mnist1d, the paper's data set).
PUBLISHED_Y = [2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9, 4, 3, 4, 5, 1, 9, 0, 3]
PUBLISHED_Y_TEST = [2, 6, 3, 9, 4, 3, 1, 9, 5, 2, 0, 7, 7, 1, 4, 6, 1, 4, 3, 9]
PUBLISHED_X0 = [-0.332006, -0.47191, -0.778697, -1.009741, -0.882353, 0.103935]
PUBLISHED_X_TEST_LAST = [-0.395911, -0.098646, 0.447233, 0.659876, 0.877734, 1.193152]
PUBLISHED_ABS_SUMS = (118338.29510719894, 29977.877540866408)


def test_defaults_give_the_published_data_set() -> None:
    ds = load_mnist1d()
    assert ds.train_x.shape == (4000, 1, 40) and ds.test_x.shape == (1000, 1, 40)
    assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.long and ds.num_classes == 10
    assert ds.train_y[:20].tolist() == PUBLISHED_Y and ds.test_y[:20].tolist() == PUBLISHED_Y_TEST
    assert np.allclose(ds.train_x[0, 0, :6].numpy(), PUBLISHED_X0, atol=1e-6)
    assert np.allclose(ds.test_x[-1, 0, -6:].numpy(), PUBLISHED_X_TEST_LAST, atol=1e-6)
    sums = (float(ds.train_x.double().abs().sum()), float(ds.test_x.double().abs().sum()))
    assert np.allclose(sums, PUBLISHED_ABS_SUMS, rtol=1e-6)
    every = torch.cat([ds.train_x, ds.test_x]).double()  # standardized over the whole set, as the paper's code
    assert abs(float(every.mean())) < 1e-6 and abs(float(every.std(unbiased=False)) - 1) < 1e-6


def test_options_reach_the_package_generator() -> None:
    options: dict[str, Any] = {
        "num_samples": 1200,
        "train_split": 0.75,
        "padding": [30, 50],
        "iid_noise_scale": 0.1,
        "shear_scale": 0.5,
        "final_seq_length": 32,
        "generation_seed": 3,
    }
    ds = load_dataset("mnist1d", **options)
    args = mnist1d_data.get_dataset_args()
    for key, value in options.items():
        setattr(args, "seed" if key == "generation_seed" else key, value)
    expected = mnist1d_data.make_dataset(args)
    assert ds.train_x.shape == (900, 1, 32) and ds.test_x.shape == (300, 1, 32)
    assert torch.equal(ds.train_x[:, 0], torch.tensor(expected["x"], dtype=torch.float32))
    assert torch.equal(ds.test_y, torch.tensor(expected["y_test"]))


def test_generation_is_cached_and_leaves_global_random_states_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = mnist1d_data.make_dataset

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(mnist1d_data, "make_dataset", counting)
    options = {"num_samples": 500, "generation_seed": 1001}  # arguments no other test uses: not cached yet
    np.random.seed(123)  # noqa: NPY002 — the global generator, which the package reseeds
    random.seed(123)
    numpy_before, python_before = np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002
    first = load_mnist1d(**options)
    assert np.array_equal(np.random.get_state()[1], numpy_before) and random.getstate() == python_before  # noqa: NPY002
    kept = first.train_x.clone()
    first.train_x.add_(1.0)  # a caller changing its tensors must not change the cache
    second = load_mnist1d(**options, train_size=200, seed=1)
    assert len(calls) == 1
    assert torch.equal(second.test_x, first.test_x)  # the test split is the same; the training subset is drawn
    assert torch.equal(load_mnist1d(**options).train_x, kept)
    load_mnist1d(num_samples=500, generation_seed=1002)
    assert len(calls) == 2


def test_nothing_is_downloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("network access attempted")

    requests = pytest.importorskip("requests")
    monkeypatch.setattr(mnist1d_data, "get_dataset", refuse)
    monkeypatch.setattr(requests, "get", refuse)
    monkeypatch.setattr(requests.Session, "request", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert load_mnist1d(num_samples=300, generation_seed=1003).train_x.shape == (240, 1, 40)  # not cached yet


def test_train_subsets_are_stratified_and_seeded() -> None:
    full = load_mnist1d()
    a, b = load_mnist1d(train_size=1000, seed=0), load_mnist1d(train_size=1000, seed=1)
    assert len(a.train_y) == 1000 and torch.equal(a.test_x, full.test_x)
    full_counts = torch.bincount(full.train_y).double()
    assert torch.all((torch.bincount(a.train_y) - full_counts / 4).abs() <= 1)
    rows = {r.numpy().tobytes() for r in full.train_x}
    assert all(r.numpy().tobytes() in rows for r in a.train_x)
    assert not torch.equal(a.train_x, b.train_x)
    assert torch.equal(a.train_x, load_dataset("mnist1d", train_size=1000, seed=0).train_x)
    assert len(load_mnist1d(train_fraction=0.25).train_y) == 1000


def test_bad_options_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"bad option for data set 'mnist1d'.*\['noise'\]"):
        load_dataset("mnist1d", noise=0.1)
    with pytest.raises(ValueError, match="num_samples must be an integer >= 10"):
        load_mnist1d(num_samples=5)
    with pytest.raises(ValueError, match="train_split must be a finite real number > 0 and < 1"):
        load_mnist1d(train_split=1.0)
    with pytest.raises(ValueError, match=r"generation_seed must be an integer >= 0 and < 2\*\*32"):
        load_mnist1d(generation_seed=2**32)  # numpy's legacy seed, which the package uses, stops there
    with pytest.raises(ValueError, match="padding must be"):
        load_mnist1d(padding=[10, 5])
    with pytest.raises(ValueError, match="iid_noise_scale must be a finite real number >= 0"):
        load_mnist1d(iid_noise_scale=-1)
    with pytest.raises(ValueError, match="data_dir is only for cifar10/cifar100"):
        load_dataset("mnist1d", data_dir="/tmp")
    with pytest.raises(ValueError, match=r"train_size must be an integer in 1\.\.4000"):
        load_mnist1d(train_size=5000)


def test_a_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(ImportError, match=r'needs mnist1d, which is not installed: pip install "thomson\[mnist1d\]"'):
        load_mnist1d(num_samples=100, generation_seed=1004)  # not cached
