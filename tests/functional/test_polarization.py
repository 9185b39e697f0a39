"""``polarization`` and ``relaxed_polarization`` against loops, closed forms and the reference formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import as_tensor, octahedron
from thomson.functional import polarization, relaxed_polarization


def riesz(z: float, s: float) -> float:
    if s == 0:
        return -math.log(z)
    return z ** (-s) if s > 0 else -(z ** (-s))


def loop(x: np.ndarray, poles: np.ndarray, s: float, half_space: bool, reference: bool) -> list[float]:
    """Per pole, the mean over the explicit points (x, or [x; -x]) of f_s(|v̂ - û|), in float64."""
    pts = np.concatenate([x, -x]) if half_space else x
    if reference:
        once = [p / math.sqrt(p @ p + 1e-4) for p in pts]
        unit = [p / math.sqrt(p @ p + 1e-4) for p in once]
    else:
        unit = [p / np.linalg.norm(p) for p in pts]
    out = []
    for v in poles:
        v_unit = v / math.sqrt(v @ v + 1e-4) if reference else v / np.linalg.norm(v)
        terms = []
        for u in unit:
            c = float(v_unit @ u)
            if not reference:
                c = min(max(c, -1.0), 1.0) * (1 - 1e-6)
            terms.append(riesz(math.sqrt(2 - 2 * c), s))
        out.append(math.fsum(terms) / len(terms))
    return out


@pytest.mark.parametrize("s", [-1.0, 0.0, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("half_space", [False, True])
@pytest.mark.parametrize("reference", [False, True])
def test_equals_loop(s: float, half_space: bool, reference: bool) -> None:
    rng = np.random.default_rng(0)
    x, poles = rng.normal(size=(7, 4)), rng.normal(size=(3, 4))
    got = polarization(as_tensor(x), as_tensor(poles), s=s, half_space=half_space, reference=reference)
    np.testing.assert_allclose(got.numpy(), loop(x, poles, s, half_space, reference), rtol=1e-11)


def test_reference_formula() -> None:
    """The Sphere-Uniformity MHP code's layer term, re-expressed in numpy (neurons as columns)."""
    rng = np.random.default_rng(1)
    w, v = rng.normal(size=(6, 10)) * 0.3, rng.normal(size=(1, 10))
    filt = np.concatenate([w.T, -w.T], axis=1)
    filt = filt / np.sqrt((filt * filt).sum(axis=0, keepdims=True) + 1e-4)
    inner = (v @ filt) / (np.sqrt((v * v).sum() + 1e-4) * np.sqrt((filt * filt).sum(axis=0, keepdims=True) + 1e-4))
    expected = float((1.0 / (2.0 - 2.0 * inner)).sum() / filt.shape[1])
    got = float(polarization(as_tensor(w), as_tensor(v), half_space=True, reference=True)[0])
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("theta", [0.3, 1.0, math.pi / 2, 2.5])
def test_antipodal_pair_on_the_circle(theta: float) -> None:
    # (1/(2 - 2c) + 1/(2 + 2c)) / 2 = 1 / (2 sin²θ): smallest, 1/2, at the weakest points ±e₂.
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    pole = torch.tensor([[math.cos(theta), math.sin(theta)]], dtype=torch.float64)
    expected = 1 / (2 * math.sin(theta) ** 2)
    assert float(polarization(x, pole)[0]) == pytest.approx(expected, rel=1e-4)  # the 1e-6 contraction


def test_octahedron_face_centres_are_weaker_than_edges() -> None:
    # Face centre: cos = ±1/√3 to all six vertices, (3/(2 - 2/√3) + 3/(2 + 2/√3)) / 6 = 3/4.
    # Edge midpoint: cos ±1/√2 to four vertices and 0 to two: (2/(2 - √2) + 2/(2 + √2) + 1) / 6 = 5/6.
    x = as_tensor(octahedron())
    poles = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]], dtype=torch.float64)
    np.testing.assert_allclose(polarization(x, poles).numpy(), [3 / 4, 5 / 6], rtol=1e-5)


@pytest.mark.parametrize("half_space", [False, True])
def test_gradcheck_in_rows_and_poles(half_space: bool) -> None:
    rng = np.random.default_rng(2)
    x = as_tensor(rng.normal(size=(5, 3))).requires_grad_(True)
    v = as_tensor(rng.normal(size=(2, 3))).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: polarization(a, b, half_space=half_space), (x, v))


def test_pole_on_a_row_stays_finite() -> None:
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], requires_grad=True)
    v = torch.tensor([[2.0, 0.0]], requires_grad=True)
    value = polarization(x, v, half_space=True).sum()
    value.backward()
    assert x.grad is not None and v.grad is not None
    assert torch.isfinite(value) and torch.isfinite(x.grad).all() and torch.isfinite(v.grad).all()


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="poles"):
        polarization(torch.randn(4, 3), torch.randn(1, 2))
    with pytest.raises(ValueError, match="s must"):
        polarization(torch.randn(4, 3), torch.randn(1, 3), s=math.nan)


@pytest.mark.parametrize("normalized", [True, False])
def test_relaxed_polarization_equals_loop(normalized: bool) -> None:
    x = np.random.default_rng(3).normal(size=(9, 4)) * np.arange(1, 10)[:, None]
    rows = [r / np.linalg.norm(r) for r in x] if normalized else list(x)
    expected = float(np.linalg.norm(np.sum(rows, axis=0)))
    assert float(relaxed_polarization(as_tensor(x), normalized=normalized)) == pytest.approx(expected, rel=1e-12)


def test_relaxed_polarization_closed_form_of_the_weakest_point() -> None:
    # min over unit v of Σ|v - u_i|² is 2N - 2|Σ u_i|, reached at v = Σu/|Σu|.
    rng = np.random.default_rng(4)
    u = rng.normal(size=(6, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = u.sum(axis=0) / np.linalg.norm(u.sum(axis=0))
    best = float(((v - u) ** 2).sum())
    assert 2 * 6 - 2 * float(relaxed_polarization(as_tensor(u))) == pytest.approx(best, rel=1e-12)
    for _ in range(50):  # no other unit vector does better
        w = rng.normal(size=3)
        w /= np.linalg.norm(w)
        assert float(((w - u) ** 2).sum()) >= best - 1e-12


def test_relaxed_polarization_balanced_rows_have_finite_gradient() -> None:
    for normalized in (True, False):
        x = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]], requires_grad=True)
        value = relaxed_polarization(x, normalized=normalized)
        value.backward()
        assert float(value.detach()) == 0.0
        assert x.grad is not None and torch.isfinite(x.grad).all()
    y = as_tensor(np.random.default_rng(5).normal(size=(4, 3))).requires_grad_(True)
    assert torch.autograd.gradcheck(relaxed_polarization, (y,))
