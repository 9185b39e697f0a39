"""The solver's covering measure (against dense sampling of the sphere) and polish."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import as_tensor, icosahedron, octahedron, tetrahedron
from thomson.solve.covering_problem import CoveringProblem, covering_radius, polish


def sampled_covering_radius(x: np.ndarray, samples: int = 400_000) -> float:
    """Largest angle from a random point of the sphere to its nearest row: a lower bound that converges."""
    v = np.random.default_rng(0).normal(size=(samples, x.shape[1]))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    return math.degrees(math.acos(float((v @ u.T).max(axis=1).min())))


@pytest.mark.parametrize("case", ["random", "hemisphere"])
def test_covering_radius_against_sampling(case: str) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(9, 3))
    if case == "hemisphere":  # every point above the equator: the deepest hole lies beyond the equator
        x[:, 2] = np.abs(x[:, 2]) + 0.3
    radius = covering_radius(as_tensor(x))
    sampled = sampled_covering_radius(x)
    assert sampled <= radius + 1e-9
    assert radius - sampled < 0.5
    assert (radius > 90.0) == (case == "hemisphere")


@pytest.mark.parametrize(
    ("points", "cos_radius"),
    [(tetrahedron, 1 / 3), (octahedron, 1 / math.sqrt(3)), (icosahedron, math.sqrt((5 + 2 * math.sqrt(5)) / 15))],
)
def test_platonic_solids(points, cos_radius: float) -> None:  # type: ignore[no-untyped-def]
    assert covering_radius(as_tensor(points())) == pytest.approx(math.degrees(math.acos(cos_radius)), abs=1e-10)


def test_polish_restores_the_octahedron() -> None:
    g = torch.Generator().manual_seed(0)
    start = torch.nn.functional.normalize(
        as_tensor(octahedron()) + 0.05 * torch.randn(6, 3, dtype=torch.float64, generator=g), dim=1
    )
    out = polish(start)
    assert covering_radius(start) > 55.5
    assert covering_radius(out) == pytest.approx(math.degrees(math.acos(1 / math.sqrt(3))), abs=1e-8)


def test_problem_minimizes() -> None:
    problem = CoveringProblem()
    assert not problem.maximize and problem.s is None
    run = problem.local_search(torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)), 500)
    assert run.value == pytest.approx(math.degrees(math.acos(1 / 3)), abs=1e-8)
