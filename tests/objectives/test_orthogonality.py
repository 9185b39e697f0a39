"""SO, DSO, MC and SRIP (functions and objectives) against brute-force loops, numpy and the released code."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import thomson
from helpers import as_tensor
from thomson.functional import (
    double_soft_orthogonality,
    mutual_coherence,
    power_iteration,
    soft_orthogonality,
    spectral_isometry,
)

SHAPES = [(3, 5), (5, 3), (4, 4), (1, 3)]


def frobenius_residual(vectors: np.ndarray) -> float:
    """Σ_{a,b} (v_aᵀv_b - δ_ab)² by a double loop."""
    n = len(vectors)
    return math.fsum((float(vectors[a] @ vectors[b]) - (a == b)) ** 2 for a in range(n) for b in range(n))


def numpy_sigma(w: np.ndarray) -> float:
    """Largest singular value of G - I for the smaller Gram matrix G."""
    g = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    return float(np.linalg.svd(g - np.eye(len(g)), compute_uv=False)[0])


@pytest.mark.parametrize("shape", SHAPES)
def test_soft_and_double_soft_orthogonality_equal_loops(shape: tuple[int, int]) -> None:
    w = np.random.default_rng(0).normal(size=shape)
    so = frobenius_residual(w)
    assert float(soft_orthogonality(as_tensor(w))) == pytest.approx(so, rel=1e-12)
    assert float(double_soft_orthogonality(as_tensor(w))) == pytest.approx(so + frobenius_residual(w.T), rel=1e-12)
    assert float(thomson.SO()(as_tensor(w))) == pytest.approx(so, rel=1e-12)
    assert float(thomson.DSO()(as_tensor(w))) == pytest.approx(so + frobenius_residual(w.T), rel=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_mutual_coherence_equals_loop(shape: tuple[int, int]) -> None:
    w = np.random.default_rng(1).normal(size=shape)
    unit = w / np.linalg.norm(w, axis=1, keepdims=True)
    n = len(w)
    expected = max((abs(float(unit[i] @ unit[j])) for i in range(n) for j in range(n) if i != j), default=0.0)
    assert float(mutual_coherence(as_tensor(w))) == pytest.approx(expected, rel=1e-12)
    assert float(thomson.MC()(as_tensor(w))) == pytest.approx(expected, rel=1e-12)


def test_orthonormal_rows_are_optimal() -> None:
    q = as_tensor(np.linalg.qr(np.random.default_rng(2).normal(size=(6, 4)))[0].T)  # 4 orthonormal rows in R^6
    assert float(soft_orthogonality(q)) == pytest.approx(0.0, abs=1e-12)
    assert float(double_soft_orthogonality(q)) == pytest.approx(2.0, abs=1e-12)  # |N - D|: columns cannot be
    assert float(mutual_coherence(q)) == pytest.approx(0.0, abs=1e-12)
    assert float(spectral_isometry(q, torch.ones(4, dtype=torch.float64))) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (6, 6)])
def test_power_iteration_approaches_numpy_sigma(shape: tuple[int, int]) -> None:
    w = np.random.default_rng(3).normal(size=shape)
    v = power_iteration(as_tensor(w), torch.ones(min(shape), dtype=torch.float64), iterations=500)
    assert float(spectral_isometry(as_tensor(w), v)) == pytest.approx(numpy_sigma(w), rel=1e-9)
    one_step = float(spectral_isometry(as_tensor(w), torch.ones(min(shape), dtype=torch.float64)))
    assert one_step <= numpy_sigma(w) + 1e-12  # |A v| <= σ_max |v| for any unit v


def test_sigma_of_the_larger_gram_only_adds_the_trivial_eigenvalue() -> None:
    w = np.random.default_rng(4).normal(size=(6, 3)) * 0.1  # N > D, small rows: σ(WWᵀ - I) = 1
    big = np.linalg.svd(w @ w.T - np.eye(6), compute_uv=False)[0]
    assert big == pytest.approx(1.0)
    assert numpy_sigma(w) < 1.0


@pytest.mark.parametrize("iterations", [0, 1, 3])
def test_spectral_isometry_gradcheck(iterations: int) -> None:
    rng = np.random.default_rng(5)
    w = as_tensor(rng.normal(size=(4, 6))).requires_grad_(True)
    v = as_tensor(rng.uniform(size=4))
    assert torch.autograd.gradcheck(lambda x: spectral_isometry(x, v, iterations=iterations), (w,))


@pytest.mark.parametrize("fn", [soft_orthogonality, double_soft_orthogonality, mutual_coherence])
def test_gradcheck(fn: object) -> None:
    w = as_tensor(np.random.default_rng(6).normal(size=(4, 5))).requires_grad_(True)
    assert torch.autograd.gradcheck(fn, (w,))  # type: ignore[arg-type]


def test_degenerate_rows_are_finite() -> None:
    base = np.random.default_rng(7).normal(size=(4, 3))
    for w in (np.concatenate([base, np.zeros((1, 3))]), np.concatenate([base, base[:1]]), base[:1], np.zeros((2, 3))):
        for objective in (thomson.SO(), thomson.DSO(), thomson.MC(), thomson.SRIP(), thomson.SRIP(reference=True)):
            x = torch.tensor(w, dtype=torch.float32, requires_grad=True)
            value = objective(x, layer="l")
            value.backward()
            assert x.grad is not None
            assert torch.isfinite(value) and torch.isfinite(x.grad).all(), type(objective).__name__


def test_srip_objective_converges_and_keeps_its_vector_in_the_state_dict() -> None:
    w = as_tensor(np.random.default_rng(8).normal(size=(5, 8)))
    srip = thomson.SRIP()
    values = [float(srip(w, layer="conv.weight")) for _ in range(200)]
    assert values[-1] == pytest.approx(numpy_sigma(w.numpy()), rel=1e-8)
    state = srip.state_dict()
    assert list(state) == ["conv/weight:vector"]
    fresh = thomson.SRIP()
    fresh.load_state_dict(state)
    fresh.eval()
    assert float(fresh(w, layer="conv.weight")) == pytest.approx(values[-1], rel=1e-12)
    model = torch.nn.Linear(8, 5)
    reg = thomson.Regularizer(model, thomson.SRIP())
    reg()
    assert "objective.weight:vector" in reg.state_dict()
    assert [name for name, _ in model.named_parameters()] == ["weight", "bias"]


def test_srip_vector_moves_only_in_training() -> None:
    w = as_tensor(np.random.default_rng(9).normal(size=(4, 4)))
    srip = thomson.SRIP()
    srip(w, layer="a")
    before = srip.get_buffer("a:vector").clone()
    srip.eval()
    srip(w, layer="a")
    assert torch.equal(srip.get_buffer("a:vector"), before)
    srip.train()
    with torch.no_grad():
        srip(w, layer="a")
    assert torch.equal(srip.get_buffer("a:vector"), before)
    srip(w, layer="a")
    assert not torch.equal(srip.get_buffer("a:vector"), before)


@pytest.mark.parametrize("shape", [(3, 7), (7, 3)])
def test_srip_reference_equals_the_released_code(shape: tuple[int, int]) -> None:
    """Bansal et al.: b ~ U[0, 1), v = A b / |A b|, value |A v|² with A = G - I for the smaller Gram matrix."""
    w = np.random.default_rng(10).normal(size=shape)
    m = min(shape)
    torch.manual_seed(123)
    b = torch.rand(m, dtype=torch.float64).numpy()
    g = w @ w.T if shape[0] <= shape[1] else w.T @ w
    a = g - np.eye(m)
    v2 = a @ b / np.linalg.norm(a @ b)
    expected = float(np.linalg.norm(a @ v2) ** 2)
    torch.manual_seed(123)
    assert float(thomson.SRIP(reference=True)(as_tensor(w))) == pytest.approx(expected, rel=1e-10)


def test_coefficients() -> None:
    for cls, coef in ((thomson.SO, 0.1), (thomson.DSO, 0.1), (thomson.MC, 0.1), (thomson.SRIP, 0.01)):
        objective = cls(reference=True)
        assert (objective.coef, objective.classifier_coef) == (coef, coef)


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="iterations"):
        thomson.SRIP(iterations=-1)
    with pytest.raises(ValueError, match="vector"):
        spectral_isometry(torch.randn(3, 5), torch.ones(5))
    with pytest.raises(ValueError, match="at least 2 dims"):
        thomson.SO()(torch.randn(4))
