"""``covering`` against loops, its soft-minimum bounds, a closed form and the reference formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import as_tensor, octahedron
from thomson.functional import covering


def loop(x: np.ndarray, poles: np.ndarray, gamma: float, half_space: bool, reference: bool) -> list[float]:
    pts = np.concatenate([x, -x]) if half_space else x
    if reference:
        once = [p / math.sqrt(p @ p + 1e-4) for p in pts]
        unit = [p / math.sqrt(p @ p + 1e-4) for p in once]
    else:
        unit = [p / np.linalg.norm(p) for p in pts]
    out = []
    for v in poles:
        v_unit = v / math.sqrt(v @ v + 1e-4) if reference else v / np.linalg.norm(v)
        mean = math.fsum(math.exp(-gamma * (2 - 2 * float(v_unit @ u))) for u in unit) / len(unit)
        out.append(-math.log(mean) / gamma)
    return out


@pytest.mark.parametrize("gamma", [0.5, 10.0, 200.0])
@pytest.mark.parametrize("half_space", [False, True])
@pytest.mark.parametrize("reference", [False, True])
def test_equals_loop(gamma: float, half_space: bool, reference: bool) -> None:
    rng = np.random.default_rng(0)
    x, poles = rng.normal(size=(7, 4)), rng.normal(size=(3, 4))
    got = covering(as_tensor(x), as_tensor(poles), gamma=gamma, half_space=half_space, reference=reference)
    np.testing.assert_allclose(got.numpy(), loop(x, poles, gamma, half_space, reference), rtol=1e-11)


def test_reference_formula() -> None:
    """The Sphere-Uniformity MHC code's layer term, re-expressed in numpy (neurons as columns, γ = 10)."""
    rng = np.random.default_rng(1)
    w, v = rng.normal(size=(6, 10)) * 0.3, rng.normal(size=(1, 10))
    filt = np.concatenate([w.T, -w.T], axis=1)
    filt = filt / np.sqrt((filt * filt).sum(axis=0, keepdims=True) + 1e-4)
    inner = (v @ filt) / (np.sqrt((v * v).sum() + 1e-4) * np.sqrt((filt * filt).sum(axis=0, keepdims=True) + 1e-4))
    final = np.exp(-10.0 * (2.0 - 2.0 * inner)).sum() / filt.shape[1]
    expected = float(-np.log(final) / 10.0)
    got = float(covering(as_tensor(w), as_tensor(v), half_space=True, reference=True)[0])
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("gamma", [1.0, 10.0, 1000.0])
def test_soft_minimum_bounds(gamma: float) -> None:
    rng = np.random.default_rng(2)
    x, poles = rng.normal(size=(9, 5)), rng.normal(size=(4, 5))
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    v = poles / np.linalg.norm(poles, axis=1, keepdims=True)
    nearest = (2 - 2 * v @ unit.T).min(axis=1)
    got = covering(as_tensor(x), as_tensor(poles), gamma=gamma).numpy()
    assert np.all(got >= nearest - 1e-12)
    assert np.all(got <= nearest + math.log(9) / gamma + 1e-12)


def test_octahedron_face_centre_is_the_largest_hole() -> None:
    # Nearest vertices: 3 at d² = 2 - 2/√3 from a face centre, 2 at 2 - √2 from an edge midpoint.
    x = as_tensor(octahedron())
    poles = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    s = covering(x, poles, gamma=1e4).numpy()
    np.testing.assert_allclose(s[:2], [2 - 2 / math.sqrt(3), 2 - math.sqrt(2)], atol=1e-3)
    assert s[0] > s[1] > s[2]


def test_gradcheck_and_degenerate_rows() -> None:
    rng = np.random.default_rng(3)
    x = as_tensor(rng.normal(size=(5, 3))).requires_grad_(True)
    v = as_tensor(rng.normal(size=(2, 3))).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: covering(a, b, half_space=True), (x, v))
    rows = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]], requires_grad=True)
    value = covering(rows, torch.tensor([[1.0, 0.0]]), gamma=1e3).sum()
    value.backward()
    assert rows.grad is not None and torch.isfinite(value) and torch.isfinite(rows.grad).all()


def test_bad_gamma_raises() -> None:
    for gamma in (0.0, -1.0, math.inf):
        with pytest.raises(ValueError, match="gamma"):
            covering(torch.randn(3, 2), torch.randn(1, 2), gamma=gamma)
