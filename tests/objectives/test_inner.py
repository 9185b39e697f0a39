"""The inner player shared by CoMHE's learned projections and the MHP/MHC poles: SGD with momentum and decay,
a constraint after each step, skipped non-finite steps, and the differentiable look-ahead."""

from __future__ import annotations

import math

import torch

from thomson.objectives.inner import describe_rate, inner_steps, look_ahead

A = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
B = torch.tensor([1.0, -1.0], dtype=torch.float64)


def quadratic_gradient(x: torch.Tensor) -> torch.Tensor:
    """∇ of ½xᵀAx - bᵀx, by autograd (as the players compute theirs)."""
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(0.5 * x @ A @ x - B @ x, x)
    return grad


def test_momentum_sgd_with_decay_equals_the_update_written_out() -> None:
    x, buffer = torch.tensor([0.3, -0.2], dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    inner_steps(x, quadratic_gradient, 5, 0.1, weight_decay=0.01, momentum=0.9, buffer=buffer)
    y, b = [0.3, -0.2], [0.0, 0.0]
    for _ in range(5):
        g = [sum(float(A[i, j]) * y[j] for j in range(2)) - float(B[i]) + 0.01 * y[i] for i in range(2)]
        b = [0.9 * b[i] + g[i] for i in range(2)]
        y = [y[i] - 0.1 * b[i] for i in range(2)]
    torch.testing.assert_close(x, torch.tensor(y, dtype=torch.float64), rtol=1e-14, atol=1e-15)
    torch.testing.assert_close(buffer, torch.tensor(b, dtype=torch.float64), rtol=1e-14, atol=1e-15)


def test_plain_sgd_converges_to_the_minimizer() -> None:
    x = torch.zeros(2, dtype=torch.float64)
    inner_steps(x, quadratic_gradient, 500, 0.3)
    torch.testing.assert_close(x, torch.linalg.solve(A, B))


def test_constraint_keeps_the_state_on_the_sphere() -> None:
    x = torch.tensor([1.0, 0.0], dtype=torch.float64)
    inner_steps(x, lambda v: -B.clone(), 3, 0.5, constrain=lambda v: v / v.norm())
    assert math.isclose(float(x.norm()), 1.0, rel_tol=1e-15)


def test_a_non_finite_step_is_not_taken() -> None:
    x, buffer = torch.tensor([1.0, 2.0]), torch.tensor([0.5, 0.5])
    inner_steps(x, lambda v: torch.tensor([math.nan, 0.0]), 2, 0.1, momentum=0.9, buffer=buffer)
    assert torch.equal(x, torch.tensor([1.0, 2.0])) and torch.equal(buffer, torch.tensor([0.5, 0.5]))


def test_look_ahead_is_differentiable_through_the_inner_gradient() -> None:
    # x' = x - lr ∇_x (x - w)² = x - 2 lr (x - w): dx'/dw = 2 lr
    w = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    ahead = look_ahead(torch.tensor(0.2, dtype=torch.float64), lambda x: (x - w) ** 2, 0.3)
    (grad,) = torch.autograd.grad(ahead, w)
    assert math.isclose(float(ahead.detach()), 0.2 - 0.6 * (0.2 - 0.7)) and math.isclose(float(grad), 0.6)


def test_one_description_of_the_learning_rate() -> None:
    assert describe_rate(0.1) == "0.1" and describe_rate(lambda: 0.1) == "callable"
