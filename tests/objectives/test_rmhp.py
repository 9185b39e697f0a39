"""R-MHP: the reference code's raw sum, the normalized default, coefficients, arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import thomson
from helpers import as_tensor


@pytest.mark.parametrize("scale", [0.01, 1.0, 5.0])
def test_reference_equals_the_code(scale: float) -> None:
    """The r_mhp code: filt [D, N], tf.norm(reduce_sum(filt, axis=1)); same for hidden layers and classifier."""
    w = np.random.default_rng(0).normal(size=(16, 3, 3, 3)) * scale
    filt = w.reshape(16, -1).T
    expected = float(np.linalg.norm(filt.sum(axis=1)))
    rmhp = thomson.RMHP(reference=True)
    for classifier in (False, True):
        assert float(rmhp(as_tensor(w), classifier=classifier)) == pytest.approx(expected, rel=1e-12)
    assert (rmhp.coef, rmhp.classifier_coef, rmhp.normalized) == (0.01, 0.1, False)


def test_default_sums_directions() -> None:
    w = np.random.default_rng(1).normal(size=(7, 5)) * np.arange(1, 8)[:, None]
    expected = float(np.linalg.norm((w / np.linalg.norm(w, axis=1, keepdims=True)).sum(axis=0)))
    assert thomson.RMHP().normalized
    assert float(thomson.RMHP()(as_tensor(w))) == pytest.approx(expected, rel=1e-12)
    assert float(thomson.RMHP(normalized=False)(as_tensor(w))) == pytest.approx(np.linalg.norm(w.sum(0)), rel=1e-12)


def test_raw_gradient_is_the_same_for_every_neuron() -> None:
    w = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    thomson.RMHP(reference=True)(w).backward()
    assert w.grad is not None
    torch.testing.assert_close(w.grad, w.grad[:1].expand(6, 4))


def test_balanced_and_zero_neurons_are_finite() -> None:
    for normalized in (True, False):
        w = torch.tensor([[1.0, 2.0], [-1.0, -2.0], [0.0, 0.0]], requires_grad=True)
        value = thomson.RMHP(normalized=normalized)(w)
        value.backward()
        assert w.grad is not None and torch.isfinite(w.grad).all() and float(value.detach()) == 0.0


def test_contradictory_arguments_raise() -> None:
    with pytest.raises(ValueError, match="normalized"):
        thomson.RMHP(normalized=True, reference=True)
    assert "normalized=False" in repr(thomson.RMHP(reference=True))
