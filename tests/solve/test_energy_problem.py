"""The solver's energy oracle: thomson's own energy, and a Riemannian gradient equal to the analytic one."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import as_tensor, octahedron
from thomson.solve.energy_problem import EnergyProblem, energy_and_gradient


def analytic_gradient(x: np.ndarray, s: float) -> np.ndarray:
    """``∂/∂x_i Σ_{j≠i} f(|x_i - x_j|)`` with ``f = r^(-s)`` (``-log r`` at s = 0), projected on the tangent space."""
    grad = np.zeros_like(x)
    for i in range(len(x)):
        for j in range(len(x)):
            if i != j:
                d = x[i] - x[j]
                r = np.linalg.norm(d)
                dfdr = -1.0 / r if s == 0 else -s * r ** (-s - 1)
                grad[i] += dfdr * d / r
    return grad - np.sum(grad * x, axis=1, keepdims=True) * x


@pytest.mark.parametrize("s", [0.0, 1.0, 2.0, -1.0, 3.5])
def test_gradient_is_the_projected_analytic_gradient(s: float) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 4))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    value, grad = energy_and_gradient(as_tensor(x), s)
    chords = [np.linalg.norm(x[i] - x[j]) for i in range(7) for j in range(i + 1, 7)]
    expected = sum(-math.log(r) if s == 0 else (r ** (-s) if s > 0 else -(r ** (-s))) for r in chords)
    assert value == pytest.approx(expected, rel=1e-13)
    sign = -1.0 if s < 0 else 1.0
    np.testing.assert_allclose(grad.numpy(), sign * analytic_gradient(x, s), rtol=1e-10, atol=1e-12)


def test_energy_of_the_octahedron() -> None:
    assert energy_and_gradient(as_tensor(octahedron()), 1.0)[0] == pytest.approx(6 * math.sqrt(2) + 1.5, rel=1e-15)
    assert energy_and_gradient(as_tensor(octahedron()), 0.0)[0] == pytest.approx(-9 * math.log(2), rel=1e-15)


def test_local_search_from_a_perturbed_octahedron() -> None:
    g = torch.Generator().manual_seed(0)
    start = as_tensor(octahedron()) + 0.1 * torch.randn(6, 3, dtype=torch.float64, generator=g)
    run = EnergyProblem(2.0).local_search(start, 1000)
    assert run.value == pytest.approx(27 / 4, rel=1e-13)
