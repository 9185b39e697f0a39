"""MHC: the pole finds the largest hole; reference values and pole updates equal the code re-expressed in numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import thomson
from helpers import as_tensor, octahedron, reference_columns, reference_cosines
from thomson.functional import covering


def reference_mhc(w: np.ndarray, v0: np.ndarray, coef: float, half: bool) -> tuple[np.ndarray, float]:
    """10 MomentumOptimizer steps of the pole on -coef·S + 5e-4·|v|²/2, S = -(1/10) log mean exp(-10 d²),
    then the layer term S(v), with dS/dc_i = -2 softmax_i(-10 d²)."""
    filt = reference_columns(w, half)
    v, buf = v0.copy(), np.zeros_like(v0)
    for _ in range(10):
        c, u, n = reference_cosines(filt, v)
        e = np.exp(-10.0 * (2.0 - 2.0 * c))
        ds_dc = -2.0 * e / e.sum()
        grad = -coef * ((u @ ds_dc) / n - float(ds_dc @ c) * v / n**2) + 5e-4 * v
        buf = 0.9 * buf + grad
        v = v - 0.1 * buf
    c, _, _ = reference_cosines(filt, v)
    return v, float(-np.log(np.mean(np.exp(-10.0 * (2.0 - 2.0 * c)))) / 10.0)


@pytest.mark.parametrize("classifier", [False, True])
@pytest.mark.parametrize("scale", [0.05, 1.0])
def test_reference_value_and_pole_updates_equal_the_code(classifier: bool, scale: float) -> None:
    rng = np.random.default_rng(1)
    w, v0 = rng.normal(size=(6, 4)) * scale, rng.normal(size=4)
    mhc = thomson.MHC(reference=True)
    mhc.layer_state("fc", "poles", lambda: as_tensor(v0[None]))
    value = mhc(as_tensor(w), layer="fc", classifier=classifier)
    coef = mhc.classifier_coef if classifier else mhc.coef
    v, expected = reference_mhc(w, v0, coef, half=not classifier)
    np.testing.assert_allclose(mhc.get_buffer("fc:poles").numpy()[0], v, rtol=1e-10, atol=1e-12)
    assert float(value) == pytest.approx(expected, rel=1e-10)
    assert (mhc.coef, mhc.classifier_coef, mhc.gamma) == (0.01, 0.1, 10.0)


def unit_poles(mhc: thomson.MHC) -> np.ndarray:
    v = mhc.get_buffer(":poles").numpy()
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_pole_finds_a_face_centre_of_the_octahedron() -> None:
    x = as_tensor(octahedron())
    torch.manual_seed(0)
    mhc = thomson.MHC(half_space=False, poles=4)
    for _ in range(5):
        mhc(x)
    np.testing.assert_allclose(np.abs(unit_poles(mhc)), 1 / math.sqrt(3), atol=1e-4)


def test_best_pole_finds_the_largest_hole() -> None:
    # The octahedron without -e₃: the hole at -e₃ (nearest points at d² = 2) is larger than any other.
    x = as_tensor(octahedron()[:5])
    torch.manual_seed(1)
    mhc = thomson.MHC(half_space=False, poles=8)
    for _ in range(5):
        mhc(x)
    s = covering(x, mhc.get_buffer(":poles")).numpy()
    np.testing.assert_allclose(unit_poles(mhc)[s.argmax()], [0.0, 0.0, -1.0], atol=1e-4)


def test_network_term_is_the_mean_covering_at_the_poles() -> None:
    w = torch.randn(7, 5, dtype=torch.float64)
    mhc = thomson.MHC(gamma=3.0, poles=2).eval()
    value = mhc(w, layer="fc")
    torch.testing.assert_close(value, covering(w, mhc.get_buffer("fc:poles"), gamma=3.0, half_space=True).mean())


def test_gradcheck_with_poles_fixed() -> None:
    w = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    mhc = thomson.MHC().eval()
    mhc(w.detach(), layer="l")
    assert torch.autograd.gradcheck(lambda x: mhc(x, layer="l", classifier=True), (w,))


def test_bad_gamma_raises() -> None:
    with pytest.raises(ValueError, match="gamma"):
        thomson.MHC(gamma=0.0)
