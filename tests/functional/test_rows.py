"""``normalize_rows``: values and its hand-written gradient against autograd of the plain formulas."""

from __future__ import annotations

import pytest
import torch

from thomson.functional import normalize_rows


def plain(x: torch.Tensor, reference: bool) -> torch.Tensor:
    if reference:
        return x / torch.sqrt((x * x).sum(1, keepdim=True) + 1e-4)
    norm = torch.linalg.vector_norm(x, dim=1, keepdim=True)
    return x / norm.clamp_min(torch.finfo(x.dtype).tiny) * (norm > 0)  # a zero row: value and gradient 0


@pytest.mark.parametrize("reference", [False, True])
def test_value_and_gradients_equal_autograd_of_the_formula(reference: bool) -> None:
    x = 0.3 * torch.randn(6, 4, dtype=torch.float64)
    x[2] = 0.0  # a zero row stays zero with a zero gradient (default) or has a finite scale (reference)
    g = torch.randn(6, 4, dtype=torch.float64)
    got, expected = (x.clone().requires_grad_() for _ in range(2))
    torch.testing.assert_close(normalize_rows(got, reference=reference), plain(expected, reference))
    (grad,) = torch.autograd.grad(normalize_rows(got, reference=reference), got, g)
    (expected_grad,) = torch.autograd.grad(plain(expected, reference), expected, g)
    torch.testing.assert_close(grad, expected_grad)
    y = (x + 0.2).requires_grad_()
    assert torch.autograd.gradcheck(lambda z: normalize_rows(z, reference=reference), (y,))
    assert torch.autograd.gradgradcheck(lambda z: normalize_rows(z, reference=reference), (y,))
