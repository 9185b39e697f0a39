"""MMA objective: minus the mean nearest-neighbour angle, the authors' code, coefficients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import thomson
from helpers import as_tensor, mma_reference


def test_reference_equals_the_code_on_conv_weights() -> None:
    w = np.random.default_rng(0).normal(size=(12, 3, 3, 3))
    w[4] = 0.0
    value = thomson.MMA(reference=True)(as_tensor(w))
    assert float(value) == pytest.approx(-mma_reference(w.reshape(12, -1)), rel=1e-12)
    assert (thomson.MMA.coef, thomson.MMA.classifier_coef) == (0.07, 0.07)


def test_regular_simplex_is_optimal_among_random_sets() -> None:
    # Four points in R^3: the tetrahedron's nearest angle arccos(-1/3) is the largest possible (Tammes, N = 4).
    tetra = as_tensor(np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float))
    best = float(thomson.MMA()(tetra))
    assert best == pytest.approx(-np.arccos(-1 / 3), rel=1e-12)
    for seed in range(20):
        other = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        assert float(thomson.MMA()(other)) > best


def test_gradient_reaches_nearest_neighbours() -> None:
    w = torch.randn(6, 8, dtype=torch.float64, requires_grad=True)
    thomson.MMA()(w).backward()
    assert w.grad is not None and torch.isfinite(w.grad).all()
    assert "reference=True" in repr(thomson.MMA(reference=True))
