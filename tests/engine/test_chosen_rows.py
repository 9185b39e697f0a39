"""Chosen rows against all rows (``thomson.engine.chosen_rows``) against brute-force loops and autograd."""

from __future__ import annotations

import pytest
import torch

from thomson.engine import pairwise_sum, row_sums
from thomson.kernels import Riesz

KERNELS = [Riesz(s=2, contraction=1e-6), Riesz(s=0, metric="angular", angle_scale=0.5, angle_shift=1e-4)]


def rows(n: int, d: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    return x * (0.5 + 0.45 * torch.rand(n, 1, generator=g, dtype=torch.float64))


def brute_force(x: torch.Tensor, index: list[int], kernel: Riesz, half_space: bool) -> torch.Tensor:
    """Per-row sums by a loop over the partners of each chosen point (all of [x; -x] but itself in half space)."""
    out = []
    for i in index:
        terms = [kernel.value(x[i] @ x[j]) for j in range(len(x)) if j != i]
        if half_space:
            terms += [kernel.value(-(x[i] @ x[j])) for j in range(len(x))]
        out.append(torch.stack(terms).sum())
    return torch.stack(out)


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
@pytest.mark.parametrize("half_space", [False, True])
@pytest.mark.parametrize("tile", [1, 3, 10, 64])
def test_equals_brute_force(kernel: Riesz, half_space: bool, tile: int) -> None:
    x = rows(10, 4).requires_grad_()
    index = [7, 0, 3, 9, 3]  # a row may be chosen twice
    weight = torch.tensor([0.5, 2.0, 1.0, 0.25, 3.0], dtype=torch.float64)
    expected = brute_force(x, index, kernel, half_space)
    (expected_grad,) = torch.autograd.grad((weight * expected).sum(), x)
    total, sums = row_sums(x, torch.tensor(index), kernel, weight=weight, half_space=half_space, tile=tile)
    (grad,) = torch.autograd.grad(total, x)
    torch.testing.assert_close(sums, expected.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(total, (weight * expected).sum(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-10, atol=1e-12)
    assert not sums.requires_grad


@pytest.mark.parametrize("half_space", [False, True])
def test_all_rows_count_every_pair_twice(half_space: bool) -> None:
    x = rows(23, 5)
    total, _ = row_sums(x, torch.arange(23), KERNELS[0], half_space=half_space, tile=8)
    pairs = pairwise_sum(x, KERNELS[0], half_space=half_space)
    # Σ_i r_i counts each pair from both ends; in half space the pairs (x_i, -x_j) are already two per {i, j}.
    torch.testing.assert_close(total, pairs if half_space else 2 * pairs)


def test_gradcheck() -> None:
    x = rows(6, 3).requires_grad_()
    weight = torch.tensor([1.0, 0.3], dtype=torch.float64)
    for half_space in (False, True):
        assert torch.autograd.gradcheck(
            lambda z, h=half_space: row_sums(z, torch.tensor([4, 1]), KERNELS[0], weight=weight, half_space=h, tile=4)[
                0
            ],
            (x,),
        )
