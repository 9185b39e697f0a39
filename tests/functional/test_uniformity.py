"""thomson.functional.uniformity and estimate_uniformity against brute-force float64 loops, a re-expression of
Wang & Isola's align_uniform formulas (and of their MoCo form), closed forms, and gradcheck."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import Tensor

from thomson.functional import estimate_uniformity, uniformity


def rows(n: int, d: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def unit_loop(z: Tensor) -> list[Tensor]:
    return [z[i] / torch.sqrt(sum(z[i, k] ** 2 for k in range(z.shape[1]))) for i in range(z.shape[0])]


def squared(a: Tensor, b: Tensor) -> Tensor:
    return sum((a[k] - b[k]) ** 2 for k in range(a.shape[0]))  # type: ignore[return-value]


def brute_uniformity(z: Tensor, t: float, queue: Tensor | None = None, intra_batch: bool = True) -> Tensor:
    """Python loops over pairs in float64, differentiable: log of the mean of exp(-t |ẑ_i - ẑ_j|²)."""
    u = unit_loop(z)
    terms = []
    if queue is None or intra_batch:
        terms += [torch.exp(-t * squared(u[i], u[j])) for i, j in itertools.combinations(range(len(u)), 2)]
    if queue is not None:
        q = unit_loop(queue.detach())
        terms += [torch.exp(-t * squared(a, b)) for a in u for b in q]
    return torch.log(sum(terms) / len(terms))  # type: ignore[arg-type]


def stable_uniformity(z: Tensor, t: float) -> Tensor:
    """Dense float64 with logsumexp: no underflow at any t (an independent stable reference)."""
    u = z / z.norm(dim=1, keepdim=True)
    d2 = ((u[:, None, :] - u[None, :, :]) ** 2).sum(-1)
    i, j = torch.triu_indices(len(z), len(z), offset=1)
    return torch.logsumexp(-t * d2[i, j], 0) - math.log(len(i))


def align_uniform_uniformity(x: Tensor, t: float) -> Tensor:
    """Wang & Isola's uniform_loss re-expressed: squared Euclidean distances of the rows as given, pairs i < j
    (torch.pdist's order), log of the mean of exp(-t d²)."""
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    i, j = torch.triu_indices(len(x), len(x), offset=1)
    return torch.exp(-t * d2[i, j]).mean().log()


def moco_uniformity(q: Tensor, queue: Tensor, t: float, intra_batch: bool) -> Tensor:
    """Their MoCo code's loss_unif re-expressed: 2 - 2 q·k to the queue, then the batch's own pairs."""
    d2 = (2 - 2 * q @ queue.T).reshape(-1)
    if intra_batch:
        i, j = torch.triu_indices(len(q), len(q), offset=1)
        d2 = torch.cat([d2, ((q[i] - q[j]) ** 2).sum(1)])
    return torch.exp(-t * d2).mean().log()


def value_and_grad(f, z: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[no-untyped-def]
    z = z.detach().clone().requires_grad_()
    value = f(z)
    (grad,) = torch.autograd.grad(value, z)
    return value.detach(), grad


@pytest.mark.parametrize("t", [0.5, 2.0, 5.0])
@pytest.mark.parametrize("n", [2, 3, 9])
def test_matches_brute_force_loops(t: float, n: int) -> None:
    z = rows(n, 5, seed=n) * torch.linspace(0.3, 3.0, n)[:, None]  # unnormalized rows
    v, g = value_and_grad(lambda x: uniformity(x, t), z)
    v_ref, g_ref = value_and_grad(lambda x: brute_uniformity(x, t), z)
    assert v == pytest.approx(float(v_ref), abs=1e-12, rel=1e-10)
    torch.testing.assert_close(g, g_ref, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("backend", ["dense", "streaming"])
def test_matches_dense_float64_over_many_tiles(backend: str) -> None:
    z = rows(700, 8, seed=1)  # D < 64: tiles of 256 rows, so 3 block rows with off-diagonal and edge tiles
    v, g = value_and_grad(lambda x: uniformity(x, 2.0, backend=backend), z)  # type: ignore[arg-type]
    v_ref, g_ref = value_and_grad(lambda x: stable_uniformity(x, 2.0), z)
    assert float(v) == pytest.approx(float(v_ref), rel=1e-12)
    torch.testing.assert_close(g, g_ref, atol=1e-14, rtol=1e-10)


@pytest.mark.parametrize("t", [1.0, 2.0, 3.0])
def test_reference_reproduces_align_uniform(t: float) -> None:
    """reference=True is uniform_loss on the rows as given (here unnormalized); on unit rows the default agrees."""
    z = rows(11, 6, seed=3) * 0.4
    v, g = value_and_grad(lambda x: uniformity(x, t, reference=True), z)
    v_ref, g_ref = value_and_grad(lambda x: align_uniform_uniformity(x, t), z)
    assert float(v) == pytest.approx(float(v_ref), abs=1e-10)
    torch.testing.assert_close(g, g_ref, atol=1e-10, rtol=1e-10)
    unit = torch.nn.functional.normalize(z, dim=1)
    v, g = value_and_grad(lambda x: uniformity(x, t), unit)
    v_ref, g_ref = value_and_grad(lambda x: align_uniform_uniformity(x, t), unit)
    assert float(v) == pytest.approx(float(v_ref), abs=1e-10)
    # on the sphere the gradients agree in their tangential part (the default is scale invariant: no radial part)
    tangential = g_ref - (g_ref * unit).sum(1, keepdim=True) * unit
    torch.testing.assert_close(g, tangential, atol=1e-10, rtol=1e-10)


def test_closed_forms_n2_and_simplex() -> None:
    e = torch.eye(3, dtype=torch.float64)
    assert float(uniformity(e[:2], 2.0)) == pytest.approx(-4.0, abs=1e-12)  # one orthogonal pair: -t·2
    assert float(uniformity(torch.stack([e[0], -e[0]]), 1.5)) == pytest.approx(-6.0, abs=1e-12)  # antipodal: -4t
    for n, d in [(3, 2), (4, 3), (6, 5), (10, 20)]:
        simplex = torch.eye(n, dtype=torch.float64) - 1.0 / n  # in R^n; its rows span n-1 dims
        padded = torch.nn.functional.pad(simplex, (0, max(0, d - n)))
        assert float(uniformity(padded, 2.0)) == pytest.approx(-2 * 2.0 * n / (n - 1), abs=1e-12)


def test_n2_gradient_is_that_of_minus_t_d2() -> None:
    z = rows(2, 4, seed=5)
    v, g = value_and_grad(lambda x: uniformity(x, 3.0), z)
    v_ref, g_ref = value_and_grad(lambda x: -3.0 * squared(*unit_loop(x)), z)
    assert float(v) == pytest.approx(float(v_ref), abs=1e-12)
    torch.testing.assert_close(g, g_ref, atol=1e-12, rtol=1e-10)


def test_n1_raises_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"at least one pair.*N = 1.*drop_last"):
        uniformity(torch.randn(1, 4))
    with pytest.raises(ValueError, match=r"at least one pair.*N = 0"):
        uniformity(torch.randn(0, 4))
    with pytest.raises(ValueError, match="at least one pair"):
        uniformity(torch.randn(1, 4), reference=True)  # the reference code would return NaN


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_duplicates_give_zero_and_finite_gradients(dtype: torch.dtype) -> None:
    z = torch.tensor([[0.0, 3.0, 0.0]], dtype=dtype).repeat(6, 1)
    v, g = value_and_grad(lambda x: uniformity(x), z)
    assert float(v) == 0.0
    assert torch.equal(g, torch.zeros_like(g))
    # some duplicates among distinct rows: the brute force, and finite gradients
    z = torch.cat([rows(3, 3, seed=7), rows(3, 3, seed=7)[:2]])
    v, g = value_and_grad(lambda x: uniformity(x, 2.0), z)
    v_ref, g_ref = value_and_grad(lambda x: brute_uniformity(x, 2.0), z)
    assert float(v) == pytest.approx(float(v_ref), abs=1e-12)
    torch.testing.assert_close(g, g_ref, atol=1e-10, rtol=1e-10)
    v, g = value_and_grad(lambda x: uniformity(x, reference=True), z)
    assert math.isfinite(float(v)) and bool(torch.isfinite(g).all())


def test_unnormalized_inputs_scale_invariant_where_the_reference_underflows() -> None:
    z = rows(16, 8, seed=2)
    scales = torch.logspace(-3, 3, 16, dtype=torch.float64)[:, None]
    assert float(uniformity(z * scales)) == pytest.approx(float(uniformity(z)), abs=1e-12)
    assert float(uniformity(100 * z, reference=True)) == -math.inf  # exp(-2·d²) with d ~ 100√16: every term 0
    assert math.isfinite(float(uniformity(100 * z)))


def test_zero_row_counts_as_orthogonal() -> None:
    z = torch.tensor([[1.0, 0.0], [0.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    expected = math.log((math.exp(-4.0) + math.exp(-4.0) + math.exp(-8.0)) / 3)  # d² = 2, 2 (zero row), 4
    assert float(uniformity(z)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32(dtype: torch.dtype) -> None:
    z = rows(40, 16, seed=4).to(dtype)
    exact = float(stable_uniformity(z.double(), 2.0))  # the same (rounded) inputs in float64
    x = z.clone().requires_grad_()
    v = uniformity(x)
    v.backward()
    v = v.detach()
    assert v.dtype == torch.float32
    assert float(v) == pytest.approx(exact, abs=1e-5)
    assert x.grad is not None and x.grad.dtype == dtype and bool(torch.isfinite(x.grad).all())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert float(uniformity(z.float())) == pytest.approx(exact, abs=1e-5)
    assert float(uniformity(z, reference=False, queue=z[:5])) < 0


@pytest.mark.parametrize(("t", "dtype"), [(30.0, torch.float32), (50.0, torch.float32), (300.0, torch.float64)])
def test_large_t_never_underflows(t: float, dtype: torch.dtype) -> None:
    """exp(-4t) is 0 in the computing precision: the closest pair shifts the sum; still the exact value."""
    e = torch.eye(4, dtype=dtype)
    assert float(uniformity(e, t)) == pytest.approx(-2 * t, rel=1e-6)  # every d² = 2
    z = rows(12, 3, seed=6)
    v, g = value_and_grad(lambda x: uniformity(x.to(dtype), t).double(), z)
    v_ref, g_ref = value_and_grad(lambda x: stable_uniformity(x, t), z)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    assert float(v) == pytest.approx(float(v_ref), rel=tol)
    torch.testing.assert_close(g, g_ref, atol=tol * float(g_ref.abs().max()), rtol=tol)


def test_reference_underflows_where_the_default_does_not() -> None:
    e = torch.eye(4)  # float32, every d² = 2: exp(-120) is 0 in float32
    assert float(uniformity(e, 60.0, reference=True)) == -math.inf
    assert float(uniformity(e, 60.0)) == pytest.approx(-120.0, rel=1e-6)


def test_gradcheck() -> None:
    z = rows(6, 3, seed=8).requires_grad_()
    queue = rows(4, 3, seed=9)
    assert torch.autograd.gradcheck(lambda x: uniformity(x, 2.0), (z,))
    assert torch.autograd.gradcheck(lambda x: uniformity(x, 2.0, queue=queue), (z,))
    assert torch.autograd.gradcheck(lambda x: uniformity(x, 40.0), (z,))  # float64, no shift
    assert torch.autograd.gradcheck(lambda x: uniformity(x, 200.0), (z * 0.1,))  # shifted by the closest pair


@pytest.mark.parametrize("intra_batch", [True, False])
@pytest.mark.parametrize("b", [1, 5])
def test_queue_matches_brute_force(intra_batch: bool, b: int) -> None:
    z, queue = rows(b, 4, seed=10), rows(7, 4, seed=11) * 3.0
    v, g = value_and_grad(lambda x: uniformity(x, 2.0, queue=queue, intra_batch=intra_batch), z)
    v_ref, g_ref = value_and_grad(lambda x: brute_uniformity(x, 2.0, queue, intra_batch), z)
    assert float(v) == pytest.approx(float(v_ref), abs=1e-12)
    torch.testing.assert_close(g, g_ref, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("intra", [True, False])
def test_queue_gets_no_gradient_and_the_reference_is_the_moco_formula(intra: bool) -> None:
    z = torch.nn.functional.normalize(rows(6, 5, seed=12), dim=1).requires_grad_()
    queue = torch.nn.functional.normalize(rows(600, 5, seed=13), dim=1).requires_grad_()
    uniformity(z, queue=queue, intra_batch=intra).backward()
    assert queue.grad is None and z.grad is not None
    bank = queue.detach()
    v, g = value_and_grad(lambda x: uniformity(x, 3.0, queue=bank, intra_batch=intra, reference=True), z)
    v_ref, g_ref = value_and_grad(lambda x: moco_uniformity(x, bank, 3.0, intra), z)
    assert float(v) == pytest.approx(float(v_ref), abs=1e-10)
    torch.testing.assert_close(g, g_ref, atol=1e-10, rtol=1e-10)
    # the default on unit rows: the same value
    default = uniformity(z.detach(), 3.0, queue=queue, intra_batch=intra)
    assert float(default) == pytest.approx(float(v_ref), abs=1e-10)


def test_queue_large_t_and_errors() -> None:
    z, queue = rows(5, 3, seed=14), rows(9, 3, seed=15)
    for intra in (True, False):
        v = uniformity(z, 400.0, queue=queue, intra_batch=intra)
        u = z / z.norm(dim=1, keepdim=True)
        qn = queue / queue.norm(dim=1, keepdim=True)
        d2 = [((u[:, None] - qn[None]) ** 2).sum(-1).reshape(-1)]
        if intra:
            i, j = torch.triu_indices(5, 5, offset=1)
            d2.append(((u[i] - u[j]) ** 2).sum(1))
        all_d2 = torch.cat(d2)
        assert float(v) == pytest.approx(float(torch.logsumexp(-400.0 * all_d2, 0) - math.log(len(all_d2))), rel=1e-10)
    with pytest.raises(ValueError, match="dimension D = 3"):
        uniformity(z, queue=rows(4, 2))
    with pytest.raises(ValueError, match=r"N = 1 and a queue of 0 \(intra_batch=True\)"):
        uniformity(z[:1], queue=rows(0, 3))
    with pytest.raises(ValueError, match="intra_batch=False"):
        uniformity(z, queue=rows(0, 3), intra_batch=False)
    assert float(uniformity(z, queue=rows(0, 3))) == pytest.approx(float(uniformity(z)), abs=1e-15)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, True])
def test_bad_t(bad: float) -> None:
    with pytest.raises(ValueError, match="t must be a finite real number > 0"):
        uniformity(torch.randn(3, 2), bad)
    with pytest.raises(ValueError, match="t must be a finite real number > 0"):
        estimate_uniformity(torch.randn(3, 2), bad, samples=2)


def test_bad_rows() -> None:
    with pytest.raises(ValueError, match=r"z must have shape \[N, D\]"):
        uniformity(torch.randn(5))
    with pytest.raises(TypeError, match="floating-point"):
        uniformity(torch.ones(3, 2, dtype=torch.long))


# --- the sampled estimator -------------------------------------------------------------------------------------


@pytest.mark.parametrize("sampling", ["rows", "pairs"])
def test_estimate_within_a_few_standard_errors(sampling: str) -> None:
    z = rows(3000, 6, seed=20, dtype=torch.float32)
    exact = float(uniformity(z.double()))
    samples = 40 if sampling == "rows" else 20_000
    est = estimate_uniformity(z, samples=samples, sampling=sampling, generator=torch.Generator().manual_seed(0))  # type: ignore[arg-type]
    assert est.value.dtype == torch.float32 and 0 < float(est.stderr) < 0.02
    assert abs(float(est.value) - exact) < 4 * float(est.stderr)


@pytest.mark.parametrize("sampling", ["rows", "pairs"])
def test_estimate_standard_error_is_calibrated(sampling: str) -> None:
    """Over many draws, the spread of the estimates matches the reported (delta-method) standard error and their
    mean is the exact value within the Monte Carlo error (the log's bias, ~se²/2, is far below it)."""
    z = rows(400, 3, seed=21)
    exact = float(uniformity(z))
    g = torch.Generator().manual_seed(1)
    samples = 8 if sampling == "rows" else 300
    draws = [estimate_uniformity(z, samples=samples, sampling=sampling, generator=g) for _ in range(400)]  # type: ignore[arg-type]
    values = torch.stack([d.value for d in draws])
    reported = float(torch.stack([d.stderr for d in draws]).mean())
    spread = float(values.std())
    assert spread == pytest.approx(reported, rel=0.15)
    assert abs(float(values.mean()) - exact) < 4 * spread / math.sqrt(len(draws))


def test_estimate_with_every_row_is_exact_and_differentiable() -> None:
    z = rows(50, 4, seed=22).requires_grad_()
    est = estimate_uniformity(z, samples=50)
    assert float(est.value.detach()) == pytest.approx(float(uniformity(z.detach())), abs=1e-12)
    assert float(est.stderr) == 0.0
    (g,) = torch.autograd.grad(est.value, z)
    (g_ref,) = torch.autograd.grad(uniformity(z), z)
    torch.testing.assert_close(g, g_ref, atol=1e-12, rtol=1e-10)


def test_estimate_large_t_and_errors() -> None:
    z = torch.eye(6)
    est = estimate_uniformity(z, 60.0, samples=3, generator=torch.Generator().manual_seed(0))  # float64 inside
    assert est.value.dtype == torch.float32 and float(est.value) == pytest.approx(-120.0, rel=1e-6)
    with pytest.raises(ValueError, match="too large to estimate"):
        estimate_uniformity(z, 200.0, samples=3)
    with pytest.raises(ValueError, match="at least 2 embeddings"):
        estimate_uniformity(z[:1], samples=3)
    with pytest.raises(ValueError, match="sampling must be one of"):
        estimate_uniformity(z, samples=3, sampling="cols")  # type: ignore[arg-type]
