"""thomson.engine.cross_sums (a batch against another set of rows) against brute-force float64 sums."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from thomson.engine import cross_sums
from thomson.kernels import Gaussian, Kernel, Riesz


def unit(n: int, d: int, seed: int) -> Tensor:
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("kernel", [Riesz(s=1.0), Riesz(s=0.0, metric="angular"), Gaussian(width=0.5)])
@pytest.mark.parametrize("tile", [None, 3])
def test_matches_brute_force(kernel: Kernel, tile: int | None) -> None:
    q, x = unit(4, 5, 0).requires_grad_(), unit(10, 5, 1).requires_grad_()
    w = torch.tensor([1.0, 0.5, 2.0, 0.0], dtype=torch.float64)
    total, sums = cross_sums(q, x, kernel, weight=w, tile=tile)
    brute = torch.stack([sum(kernel.value(q[b] @ x[j]) for j in range(10)) for b in range(4)])  # type: ignore[misc]
    torch.testing.assert_close(sums, brute.detach(), atol=1e-12, rtol=1e-12)
    g = torch.autograd.grad(total, (q, x))
    g_ref = torch.autograd.grad((w * brute).sum(), (q, x))
    for a, b in zip(g, g_ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)


def test_gradient_only_where_needed_and_errors() -> None:
    q, x = unit(3, 4, 2).requires_grad_(), unit(6, 4, 3)
    total, _ = cross_sums(q, x, Riesz(s=2.0))
    total.backward()
    assert q.grad is not None and x.grad is None
    assert torch.autograd.gradcheck(lambda a: cross_sums(a, x, Gaussian(width=0.3))[0], (q.detach().requires_grad_(),))
    with pytest.raises(ValueError, match="same D"):
        cross_sums(q, unit(6, 3, 4), Riesz())
