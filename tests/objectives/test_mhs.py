"""MHS: the reference code's per-layer term, the classifier's full space, coefficients, arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import thomson
from helpers import as_tensor
from thomson.functional import min_separation


def reference_numpy(w: np.ndarray, half: bool) -> float:
    """The Sphere-Uniformity MHS layer term before its coefficient, in numpy: neurons as columns, [W, -W] in half
    space, ε-normalized twice, d² = 2 - 2cos, upper triangle, the minimum over nonzero entries, and minus the sum
    of every entry equal to it (ties found with a 1e-12 tolerance)."""
    filt = w.T
    if half:
        filt = np.concatenate([filt, -filt], axis=1)
    filt = filt / np.sqrt((filt * filt).sum(axis=0, keepdims=True) + 1e-4)
    norm = np.sqrt((filt * filt).sum(axis=0, keepdims=True) + 1e-4)
    final = 2.0 - 2.0 * (filt.T @ filt) / (norm.T @ norm)
    final = final - np.tril(final)
    target = final[final != 0].min()
    return -float(final[np.abs(final - target) <= 1e-12].sum())


@pytest.mark.parametrize("scale", [0.01, 0.3, 2.0])
@pytest.mark.parametrize("shape", [(8, 3, 3, 3), (6, 20), (1, 5)])
def test_reference_equals_the_code(scale: float, shape: tuple[int, ...]) -> None:
    w = np.random.default_rng(0).normal(size=shape) * scale
    mhs = thomson.MHS(reference=True)
    flat = w.reshape(shape[0], -1)
    assert float(mhs(as_tensor(w))) == pytest.approx(reference_numpy(flat, half=True), rel=1e-10)
    if shape[0] > 1:
        assert float(mhs(as_tensor(w), classifier=True)) == pytest.approx(reference_numpy(flat, half=False), rel=1e-10)
    assert (mhs.coef, mhs.classifier_coef) == (0.1, 1.0)


def test_default_is_minus_the_separation() -> None:
    w = torch.randn(9, 2, 2, dtype=torch.float64)
    rows = w.reshape(9, 4)
    torch.testing.assert_close(thomson.MHS()(w), -min_separation(rows, half_space=True))
    torch.testing.assert_close(thomson.MHS()(w, classifier=True), -min_separation(rows))
    torch.testing.assert_close(thomson.MHS(0.05)(w), -min_separation(rows, temperature=0.05, half_space=True))
    torch.testing.assert_close(thomson.MHS(half_space=False)(w), -min_separation(rows))


def test_in_a_regularizer_gradient_reaches_the_closest_pair() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 5))
    reg = thomson.Regularizer(model, thomson.MHS())
    loss = reg()
    loss.backward()
    assert math.isfinite(float(loss.detach()))
    grad = model[0].weight.grad
    assert grad is not None
    assert int((grad.flatten(1).abs().sum(dim=1) > 0).sum()) == 2  # one pair of filters in half space
    assert set(reg.stats) == {"0.weight", "2.weight"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"temperature": -0.1}, "temperature"), ({"temperature": math.nan}, "temperature"), ({"backend": "x"}, "backend")],
)
def test_bad_arguments_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        thomson.MHS(**kwargs)  # type: ignore[arg-type]


def test_repr() -> None:
    assert "temperature=0.1" in repr(thomson.MHS(temperature=0.1))
