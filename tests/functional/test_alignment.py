"""thomson.functional.alignment against brute-force float64 loops and a re-expression of align_uniform's
align_loss (values and gradients), coincident pairs, half precision, and gradcheck."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from thomson.functional import alignment


def rows(n: int, d: int, seed: int) -> Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def brute_alignment(x: Tensor, y: Tensor, alpha: float) -> Tensor:
    """Loops in float64: normalize each row, then the mean over pairs of the distance to the power alpha."""
    terms = []
    for i in range(x.shape[0]):
        a = x[i] / torch.sqrt(sum(v**2 for v in x[i]))
        b = y[i] / torch.sqrt(sum(v**2 for v in y[i]))
        terms.append(torch.sqrt(sum((a[k] - b[k]) ** 2 for k in range(x.shape[1]))) ** alpha)
    return sum(terms) / len(terms)  # type: ignore[return-value]


def align_loss(x: Tensor, y: Tensor, alpha: float) -> Tensor:
    """Wang & Isola's align_loss re-expressed: the Euclidean distance of the rows as given, to the power alpha."""
    return ((x - y) ** 2).sum(1).sqrt().pow(alpha).mean()


def grads(f, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:  # type: ignore[no-untyped-def]
    x, y = x.detach().clone().requires_grad_(), y.detach().clone().requires_grad_()
    value = f(x, y)
    gx, gy = torch.autograd.grad(value, (x, y))
    return value.detach(), gx, gy


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 3.0])
def test_matches_brute_force_loops(alpha: float) -> None:
    x, y = rows(7, 5, 0) * 3.0, rows(7, 5, 1) * 0.2
    v, gx, gy = grads(lambda a, b: alignment(a, b, alpha), x, y)
    v_ref, gx_ref, gy_ref = grads(lambda a, b: brute_alignment(a, b, alpha), x, y)
    assert float(v) == pytest.approx(float(v_ref), abs=1e-12)
    torch.testing.assert_close(gx, gx_ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(gy, gy_ref, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("alpha", [1.0, 2.0, 2.5])
def test_reference_reproduces_align_loss(alpha: float) -> None:
    x, y = rows(9, 4, 2) * 0.7, rows(9, 4, 3) * 1.3
    v, gx, gy = grads(lambda a, b: alignment(a, b, alpha, reference=True), x, y)
    v_ref, gx_ref, gy_ref = grads(lambda a, b: align_loss(a, b, alpha), x, y)
    assert float(v) == pytest.approx(float(v_ref), abs=1e-10)
    torch.testing.assert_close(gx, gx_ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(gy, gy_ref, atol=1e-10, rtol=1e-10)
    ux, uy = torch.nn.functional.normalize(x, dim=1), torch.nn.functional.normalize(y, dim=1)
    assert float(alignment(ux, uy, alpha)) == pytest.approx(float(align_loss(ux, uy, alpha)), abs=1e-10)


def test_closed_forms_and_scale_invariance() -> None:
    e = torch.eye(3, dtype=torch.float64)
    assert float(alignment(e, e * 5.0)) == 0.0
    assert float(alignment(e, -e, alpha=3.0)) == pytest.approx(8.0, abs=1e-12)  # antipodal: 2^α
    assert float(alignment(e, e[[1, 2, 0]], alpha=1.0)) == pytest.approx(math.sqrt(2), abs=1e-12)
    x, y = rows(6, 3, 4), rows(6, 3, 5)
    scale = torch.logspace(-3, 3, 6, dtype=torch.float64)[:, None]
    assert float(alignment(x * scale, y)) == pytest.approx(float(alignment(x, y)), abs=1e-12)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_coincident_pairs_have_zero_finite_gradient(alpha: float) -> None:
    x = rows(4, 3, 6)
    y = torch.cat([x[:2] * 2.0, rows(2, 3, 7)])  # the first two pairs coincide as directions
    v, gx, gy = grads(lambda a, b: alignment(a, b, alpha), x, y)
    assert bool(torch.isfinite(gx).all()) and bool(torch.isfinite(gy).all())
    assert float(gx[:2].abs().max()) < 1e-7  # round-off of normalizing a row and its double
    v_ref, gx_ref, _ = grads(lambda a, b: brute_alignment(a, b, alpha), x[2:], y[2:])
    assert float(v) == pytest.approx(float(v_ref) / 2, abs=1e-12)
    torch.testing.assert_close(gx[2:], gx_ref / 2, atol=1e-10, rtol=1e-10)


def test_zero_row_is_at_distance_one() -> None:
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([[0.0, 4.0], [1.0, 0.0]], dtype=torch.float64)
    assert float(alignment(x, y)) == pytest.approx(0.5, abs=1e-15)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision(dtype: torch.dtype) -> None:
    x, y = rows(32, 8, 8).to(dtype), rows(32, 8, 9).to(dtype)
    v = alignment(x, y, 1.0)
    assert v.dtype == torch.float32
    assert float(v) == pytest.approx(float(brute_alignment(x.double(), y.double(), 1.0)), abs=1e-5)
    assert alignment(x.float(), y.double()).dtype == torch.float64


def test_gradcheck() -> None:
    x, y = rows(5, 3, 10).requires_grad_(), rows(5, 3, 11).requires_grad_()
    for alpha in (0.7, 2.0, 3.0):
        assert torch.autograd.gradcheck(lambda a, b, p=alpha: alignment(a, b, p), (x, y))


def test_errors() -> None:
    with pytest.raises(ValueError, match="same shape"):
        alignment(torch.randn(3, 2), torch.randn(4, 2))
    with pytest.raises(ValueError, match="N = 0"):
        alignment(torch.randn(0, 2), torch.randn(0, 2))
    for bad in (0.0, -2.0, math.nan, True):
        with pytest.raises(ValueError, match="alpha must be"):
            alignment(torch.randn(3, 2), torch.randn(3, 2), bad)
