"""Starting configurations: closed-form symmetric ones and seeded random and basin-hopping starts."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers import regular_simplex as numpy_simplex
from thomson.solve.starts import (
    cross_polytope,
    fibonacci_sphere,
    perturbed_start,
    polygon,
    random_start,
    regular_simplex,
    symmetric_start,
)


def gram(x: torch.Tensor) -> torch.Tensor:
    return x @ x.T


@given(dim=st.integers(2, 12), data=st.data())
def test_regular_simplex_has_equal_cosines(dim: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(2, dim + 1))
    x = regular_simplex(n, dim)
    assert x.shape == (n, dim)
    expected = torch.full((n, n), -1.0 / (n - 1), dtype=torch.float64) + (1 + 1.0 / (n - 1)) * torch.eye(n)
    assert torch.allclose(gram(x), expected, atol=1e-13)


def test_regular_simplex_matches_the_centred_basis() -> None:
    x = regular_simplex(5, 5)
    y = torch.tensor(numpy_simplex(5))  # conftest's independent construction, in R^5
    assert torch.allclose(gram(x), gram(y), atol=1e-13)
    with pytest.raises(ValueError, match="n <= dim \\+ 1"):
        regular_simplex(5, 3)


def test_polygon_and_cross_polytope() -> None:
    p = polygon(7)
    assert torch.allclose(gram(p)[0, 1], torch.tensor(math.cos(2 * math.pi / 7), dtype=torch.float64))
    c = cross_polytope(4)
    assert sorted(gram(c)[0].tolist()) == [-1.0] + [0.0] * 6 + [1.0]


def test_fibonacci_sphere_is_unit_and_spread() -> None:
    x = fibonacci_sphere(200)
    assert torch.allclose(x.norm(dim=1), torch.ones(200, dtype=torch.float64), atol=1e-14)
    g = gram(x) - 2 * torch.eye(200, dtype=torch.float64)
    closest = math.degrees(math.acos(float(g.max())))
    assert closest > 0.5 * math.degrees(math.sqrt(4 * math.pi / 200))  # no two points much closer than the spacing
    assert torch.allclose(x.mean(dim=0), torch.zeros(3, dtype=torch.float64), atol=1e-2)


@pytest.mark.parametrize(
    ("n", "dim", "expected"),
    [(4, 3, "simplex"), (9, 2, "polygon"), (8, 4, "cross"), (30, 3, "spiral"), (7, 4, None), (11, 5, None)],
)
def test_symmetric_start_choice(n: int, dim: int, expected: str | None) -> None:
    x = symmetric_start(n, dim)
    if expected is None:
        assert x is None
        return
    assert x is not None and x.shape == (n, dim)
    make = {
        "simplex": lambda: regular_simplex(n, dim),
        "polygon": lambda: polygon(n),
        "cross": lambda: cross_polytope(dim),
        "spiral": lambda: fibonacci_sphere(n),
    }[expected]
    assert torch.equal(x, make())


def test_random_and_perturbed_starts_are_seeded() -> None:
    a = random_start(10, 4, torch.Generator().manual_seed(3))
    b = random_start(10, 4, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert torch.allclose(a.norm(dim=1), torch.ones(10, dtype=torch.float64), atol=1e-14)
    p = perturbed_start(a, 0.3, torch.Generator().manual_seed(1))
    q = perturbed_start(a, 0.3, torch.Generator().manual_seed(1))
    assert torch.equal(p, q) and not torch.equal(p, a)
    assert torch.allclose(p.norm(dim=1), torch.ones(10, dtype=torch.float64), atol=1e-14)


def test_perturbation_scales_with_the_spacing() -> None:
    x = fibonacci_sphere(100)
    small = perturbed_start(x, 0.05, torch.Generator().manual_seed(0))
    large = perturbed_start(x, 0.5, torch.Generator().manual_seed(0))
    move_small = float((small - x).norm(dim=1).mean())
    move_large = float((large - x).norm(dim=1).mean())
    spacing = math.sqrt(4 * math.pi / 100)  # about the nearest-neighbour chord of 100 spread points
    assert move_small < 0.15 * spacing < move_large < 1.5 * spacing
