"""MHP: the pole finds the weakest point; reference values and pole updates equal the code re-expressed in numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import thomson
from helpers import as_tensor, octahedron, reference_columns, reference_cosines
from thomson.functional import polarization


def reference_mhp(w: np.ndarray, v0: np.ndarray, coef: float, half: bool) -> tuple[np.ndarray, float]:
    """10 MomentumOptimizer steps (lr 0.1, momentum 0.9) of the pole on coef·P + 5e-4·|v|²/2, then the layer
    term -P(v) with P = mean 1/(2 - 2c), all in float64 with the hand-derived gradient."""
    filt = reference_columns(w, half)
    v, buf = v0.copy(), np.zeros_like(v0)
    for _ in range(10):
        c, u, n = reference_cosines(filt, v)
        dp_dc = 2.0 / (2.0 - 2.0 * c) ** 2 / len(c)
        grad = coef * ((u @ dp_dc) / n - float(dp_dc @ c) * v / n**2) + 5e-4 * v
        buf = 0.9 * buf + grad
        v = v - 0.1 * buf
    c, _, _ = reference_cosines(filt, v)
    return v, -float(np.mean(1.0 / (2.0 - 2.0 * c)))


@pytest.mark.parametrize("classifier", [False, True])
@pytest.mark.parametrize("scale", [0.05, 1.0])
def test_reference_value_and_pole_updates_equal_the_code(classifier: bool, scale: float) -> None:
    rng = np.random.default_rng(0)
    w, v0 = rng.normal(size=(6, 2, 2)) * scale, rng.normal(size=4)
    mhp = thomson.MHP(reference=True)
    mhp.layer_state("conv", "poles", lambda: as_tensor(v0[None]))
    value = mhp(as_tensor(w), layer="conv", classifier=classifier)
    coef = mhp.classifier_coef if classifier else mhp.coef
    v, expected = reference_mhp(w, v0, coef, half=not classifier)
    np.testing.assert_allclose(mhp.get_buffer("conv:poles").numpy()[0], v, rtol=1e-10, atol=1e-12)
    assert float(value) == pytest.approx(expected, rel=1e-10)
    assert (mhp.coef, mhp.classifier_coef) == (1.0, 10.0)


def unit_pole(mhp: thomson.MHP, layer: str = "") -> np.ndarray:
    v = mhp.get_buffer(f"{layer}:poles").numpy()
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_pole_finds_the_weakest_point_of_an_antipodal_pair() -> None:
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    for seed in range(3):
        torch.manual_seed(seed)
        mhp = thomson.MHP(half_space=False)
        for _ in range(3):
            mhp(x)
        assert abs(unit_pole(mhp)[0, 1]) == pytest.approx(1.0, abs=1e-6)  # ±e₂, potential 1/2


def test_pole_finds_a_face_centre_of_the_octahedron() -> None:
    # The octahedron's potential is lowest (3/4) at the face centres, 5/6 at edge midpoints, infinite at vertices.
    x = as_tensor(octahedron())
    torch.manual_seed(0)
    mhp = thomson.MHP(half_space=False, poles=4)
    for _ in range(5):
        mhp(x)
    np.testing.assert_allclose(np.abs(unit_pole(mhp)), 1 / math.sqrt(3), atol=1e-4)
    values = polarization(x, mhp.get_buffer(":poles"))
    np.testing.assert_allclose(values.numpy(), 0.75, rtol=1e-5)


def test_network_term_is_minus_the_mean_potential_at_the_poles() -> None:
    w = torch.randn(7, 5, dtype=torch.float64)
    mhp = thomson.MHP(poles=3, s=1.0).eval()
    value = mhp(w, layer="fc")
    poles = mhp.get_buffer("fc:poles")
    torch.testing.assert_close(value, -polarization(w, poles, s=1.0, half_space=True).mean())
    torch.testing.assert_close(
        mhp(w, layer="fc", classifier=True), -polarization(w, poles, s=1.0, half_space=False).mean()
    )


def test_gradcheck_with_poles_fixed() -> None:
    w = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    mhp = thomson.MHP().eval()
    mhp(w.detach(), layer="l")
    assert torch.autograd.gradcheck(lambda x: mhp(x, layer="l"), (w,))


def test_bad_s_raises() -> None:
    with pytest.raises(ValueError, match="s must"):
        thomson.MHP(s=math.inf)
