"""The Riemannian L-BFGS of ``thomson.solve`` against closed-form minima on products of spheres."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from thomson.solve.lbfgs import minimize_on_spheres, project


def rayleigh(a: torch.Tensor):  # type: ignore[no-untyped-def]
    """``f(x) = Σ_i x_iᵀ A_i x_i`` and its Riemannian gradient: each row's minimum is A_i's least eigenvalue."""

    def oracle(x: torch.Tensor) -> tuple[float, torch.Tensor]:
        ax = torch.einsum("nij,nj->ni", a, x)
        return float((x * ax).sum()), project(x, 2.0 * ax)

    return oracle


@pytest.mark.parametrize("dim", [2, 3, 8])
def test_rows_reach_their_least_eigenvalues(dim: int) -> None:
    g = torch.Generator().manual_seed(dim)
    b = torch.randn(5, dim, dim, dtype=torch.float64, generator=g)
    a = b @ b.transpose(1, 2)
    run = minimize_on_spheres(rayleigh(a), torch.randn(5, dim, dtype=torch.float64, generator=g))
    expected = sum(float(np.linalg.eigvalsh(m.numpy())[0]) for m in a)
    assert run.value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert torch.allclose(run.points.norm(dim=1), torch.ones(5, dtype=torch.float64), atol=1e-14)
    assert run.history[0] >= run.value and run.iterations == len(run.history) - 1
    assert run.evaluations >= run.iterations


def test_projection_is_tangent_and_idempotent() -> None:
    x = torch.nn.functional.normalize(torch.randn(7, 4, dtype=torch.float64), dim=1)
    v = torch.randn(7, 4, dtype=torch.float64)
    p = project(x, v)
    assert torch.allclose((p * x).sum(dim=1), torch.zeros(7, dtype=torch.float64), atol=1e-14)
    assert torch.allclose(project(x, p), p, atol=1e-14)
    stacked = project(x, torch.stack([v, 2 * v]))  # stored curvature pairs are projected as one stack
    assert torch.allclose(stacked[1], 2 * p, atol=1e-14)


def test_callback_sees_every_iteration() -> None:
    a = torch.diag(torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64)).expand(2, 3, 3)
    seen: list[float] = []
    run = minimize_on_spheres(rayleigh(a), torch.ones(2, 3, dtype=torch.float64), callback=lambda x, f: seen.append(f))
    assert tuple(seen) == run.history[1:]
    assert run.value == pytest.approx(2.0, abs=1e-12)


def test_max_iter_is_respected() -> None:
    a = torch.diag(torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64)).expand(2, 3, 3)
    run = minimize_on_spheres(rayleigh(a), torch.ones(2, 3, dtype=torch.float64), max_iter=2)
    assert run.iterations == 2


def test_a_stationary_start_stops_at_once() -> None:
    a = torch.diag(torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64)).expand(1, 3, 3)
    run = minimize_on_spheres(rayleigh(a), torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64))
    assert run.iterations == 0 and run.value == 1.0
