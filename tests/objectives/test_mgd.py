"""MGD: the reference code's per-layer term, the classifier's full space, coefficients, arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import thomson
from helpers import as_tensor
from thomson.functional import gram_logdet


def reference_numpy(w: np.ndarray, half: bool) -> float:
    """The Sphere-Uniformity MGD layer term before its coefficient: neurons as columns, [W, -W] in half space,
    ε-normalized twice, K = exp(-(2 - 2cos)) + 1e-6 I, minus numpy's log-determinant."""
    filt = w.reshape(w.shape[0], -1).T
    if half:
        filt = np.concatenate([filt, -filt], axis=1)
    filt = filt / np.sqrt((filt * filt).sum(axis=0, keepdims=True) + 1e-4)
    norm = np.sqrt((filt * filt).sum(axis=0, keepdims=True) + 1e-4)
    k = np.exp(-(2.0 - 2.0 * (filt.T @ filt) / (norm.T @ norm))) + np.diag([1e-6] * filt.shape[1])
    sign, logdet = np.linalg.slogdet(k)
    assert sign == 1.0
    return -float(logdet)


@pytest.mark.parametrize("scale", [0.01, 0.3, 2.0])
@pytest.mark.parametrize("shape", [(8, 2, 3, 3), (10, 4), (1, 3)])
def test_reference_equals_the_code(scale: float, shape: tuple[int, ...]) -> None:
    w = np.random.default_rng(0).normal(size=shape) * scale
    mgd = thomson.MGD(reference=True)
    assert float(mgd(as_tensor(w))) == pytest.approx(reference_numpy(w, half=True), rel=1e-10)
    assert float(mgd(as_tensor(w), classifier=True)) == pytest.approx(reference_numpy(w, half=False), rel=1e-10)
    assert (mgd.coef, mgd.classifier_coef) == (0.01, 0.1)


def test_default_is_minus_the_log_determinant() -> None:
    w = torch.randn(6, 2, 2, dtype=torch.float64)
    rows = w.reshape(6, 4)
    torch.testing.assert_close(thomson.MGD(bandwidth=0.7)(w), -gram_logdet(rows, bandwidth=0.7, half_space=True))
    torch.testing.assert_close(thomson.MGD()(w, classifier=True), -gram_logdet(rows))
    torch.testing.assert_close(thomson.MGD(jitter=1e-3, half_space=False)(w), -gram_logdet(rows, jitter=1e-3))


def test_duplicate_neurons_are_finite_and_differentiable() -> None:
    w = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], requires_grad=True)
    value = thomson.MGD()(w)
    value.backward()
    assert w.grad is not None and torch.isfinite(value) and torch.isfinite(w.grad).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"bandwidth": 0.0}, "bandwidth"), ({"bandwidth": math.inf}, "bandwidth"), ({"jitter": 0}, "jitter")],
)
def test_bad_arguments_raise(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        thomson.MGD(**kwargs)  # type: ignore[arg-type]
