"""The solver's separation (Tammes) measure and polish."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import as_tensor, icosahedron, octahedron
from thomson.solve.separation_problem import SeparationProblem, min_angle, polish


def test_min_angle_equals_brute_force() -> None:
    x = np.random.default_rng(1).normal(size=(15, 5))
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    expected = min(math.degrees(math.acos(np.clip(u[i] @ u[j], -1, 1))) for i in range(15) for j in range(i + 1, 15))
    assert min_angle(as_tensor(x)) == pytest.approx(expected, abs=1e-10)


def test_min_angle_in_blocks_of_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(40, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    whole = min_angle(x)
    monkeypatch.setattr("thomson.engine.streaming.GRAM_BLOCK", 7 * 40)  # 7 rows per block, the last one short
    assert min_angle(x) == whole


def test_min_angle_is_accurate_for_tiny_angles() -> None:
    eps = 1e-9
    x = torch.tensor([[1.0, 0.0], [math.cos(eps), math.sin(eps)], [-1.0, 0.0]], dtype=torch.float64)
    assert min_angle(x) == pytest.approx(math.degrees(eps), rel=1e-6)


def test_polish_restores_the_icosahedron() -> None:
    g = torch.Generator().manual_seed(0)
    start = torch.nn.functional.normalize(
        as_tensor(icosahedron()) + 0.02 * torch.randn(12, 3, dtype=torch.float64, generator=g), dim=1
    )
    seen: list[float] = []
    out = polish(start, lambda x: seen.append(min_angle(x)))
    assert min_angle(start) < 62.0
    assert min_angle(out) == pytest.approx(math.degrees(math.acos(1 / math.sqrt(5))), abs=1e-8)
    assert seen  # the callback followed the iterations


def test_polish_never_makes_it_worse() -> None:
    x = as_tensor(octahedron())
    assert min_angle(polish(x)) == pytest.approx(90.0, abs=1e-12)


def test_problem_reports_degrees_and_maximizes() -> None:
    problem = SeparationProblem()
    assert problem.maximize and problem.s is None
    run = problem.local_search(torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)), 500)
    assert run.value == pytest.approx(90.0, abs=1e-7)
    assert run.history[-1] == run.value
