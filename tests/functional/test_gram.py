"""``gram_logdet`` against numpy's slogdet of the explicit Gram matrix; stability for degenerate rows."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import as_tensor
from thomson.functional import gram_logdet


def numpy_logdet(x: np.ndarray, bandwidth: float, jitter: float, half_space: bool, reference: bool) -> float:
    pts = np.concatenate([x, -x]) if half_space else x
    if reference:
        pts = pts / np.sqrt((pts * pts).sum(axis=1, keepdims=True) + 1e-4)
        pts = pts / np.sqrt((pts * pts).sum(axis=1, keepdims=True) + 1e-4)
    else:
        pts = pts / np.linalg.norm(pts, axis=1, keepdims=True)
    k = np.exp(-(2.0 - 2.0 * pts @ pts.T) / bandwidth**2) + jitter * np.eye(len(pts))
    sign, logdet = np.linalg.slogdet(k)
    assert sign == 1.0
    return float(logdet)


@pytest.mark.parametrize("shape", [(7, 4), (5, 9)])
@pytest.mark.parametrize("bandwidth", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("half_space", [False, True])
@pytest.mark.parametrize("reference", [False, True])
def test_equals_numpy_slogdet(shape: tuple[int, int], bandwidth: float, half_space: bool, reference: bool) -> None:
    x = np.random.default_rng(0).normal(size=shape)
    got = gram_logdet(as_tensor(x), bandwidth=bandwidth, half_space=half_space, reference=reference)
    expected = numpy_logdet(x, bandwidth, 1e-6, half_space, reference)
    assert float(got) == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_other_jitter() -> None:
    x = np.random.default_rng(1).normal(size=(6, 3))
    assert float(gram_logdet(as_tensor(x), jitter=0.1)) == pytest.approx(numpy_logdet(x, 1.0, 0.1, False, False))


@pytest.mark.parametrize("half_space", [False, True])
def test_gradcheck(half_space: bool) -> None:
    x = as_tensor(np.random.default_rng(2).normal(size=(5, 3))).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda w: gram_logdet(w, bandwidth=0.8, half_space=half_space), (x,))
    assert torch.autograd.gradgradcheck(lambda w: gram_logdet(w, bandwidth=0.8, half_space=half_space), (x,))


@pytest.mark.parametrize("half_space", [False, True])
def test_duplicate_and_zero_rows_are_finite_and_differentiable(half_space: bool) -> None:
    rows = np.random.default_rng(3).normal(size=(4, 3))
    for x in (np.concatenate([rows, rows[:2]]), np.concatenate([rows, np.zeros((1, 3))]), rows[:1]):
        for dtype in (torch.float32, torch.float64):
            w = torch.tensor(x, dtype=dtype, requires_grad=True)
            value = gram_logdet(w, half_space=half_space)
            value.backward()
            assert w.grad is not None
            assert torch.isfinite(value) and torch.isfinite(w.grad).all()
            assert value.dtype == dtype
    # Two identical rows: K = [[1 + j, 1], [1, 1 + j]], det K = (1 + j)² - 1 ≈ 2j.
    twins = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    assert float(gram_logdet(twins)) == pytest.approx(math.log((1 + 1e-6) ** 2 - 1.0), rel=1e-9)


def test_float32_is_computed_in_float64() -> None:
    x = np.random.default_rng(4).normal(size=(40, 8))
    x[1] = x[0] + 1e-7  # nearly duplicate: float32 Cholesky of K would fail without float64
    got = gram_logdet(torch.tensor(x, dtype=torch.float32))
    assert got.dtype == torch.float32
    assert float(got) == pytest.approx(float(gram_logdet(torch.tensor(x, dtype=torch.float32).double())), rel=1e-6)


def test_non_finite_rows_give_nan_not_a_number() -> None:
    x = torch.randn(4, 3, dtype=torch.float64)
    x[0, 0] = math.nan
    assert math.isnan(float(gram_logdet(x)))


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"bandwidth": 0.0}, "bandwidth"), ({"jitter": 0.0}, "jitter"), ({"jitter": -1.0}, "jitter")]
)
def test_bad_arguments_raise(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        gram_logdet(torch.randn(3, 2), **kwargs)  # type: ignore[arg-type]
