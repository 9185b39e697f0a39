"""``min_separation`` and ``mean_min_angle`` against the Tammes table, brute-force loops and closed forms."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import as_tensor, icosahedron, mma_reference, octahedron, reference_table, tetrahedron
from thomson.functional import mean_min_angle, min_separation

PLATONIC = {4: tetrahedron, 6: octahedron, 12: icosahedron}


def rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def brute_force(x: np.ndarray, half_space: bool, temperature: float) -> float:
    """Minimum (or soft minimum) of 2 - 2cos over the explicit pairs of x (of [x; -x] in half space)."""
    pts = np.concatenate([x, -x]) if half_space else x
    unit = [p / np.linalg.norm(p) for p in pts]
    d2 = [2.0 - 2.0 * float(unit[i] @ unit[j]) for i, j in itertools.combinations(range(len(unit)), 2)]
    low = min(d2)
    if temperature == 0:
        return low
    return low - temperature * math.log(math.fsum(math.exp(-(d - low) / temperature) for d in d2))


@pytest.mark.parametrize("n", sorted(PLATONIC))
def test_platonic_solids_give_the_tammes_angles(n: int) -> None:
    table = reference_table("tammes", "min_angle_deg")
    rng = np.random.default_rng(n)
    x = PLATONIC[n]() @ rotation(3, rng) * rng.uniform(0.5, 2.0, size=(n, 1))  # rotated, rows rescaled
    separation = float(min_separation(as_tensor(x)))
    assert math.degrees(math.acos(1.0 - separation / 2.0)) == pytest.approx(table[n], abs=1e-6)


@pytest.mark.parametrize("n", sorted(PLATONIC))
def test_soft_minimum_tends_to_the_hard_one(n: int) -> None:
    x = as_tensor(PLATONIC[n]())
    hard = float(min_separation(x))
    pairs = n * (n - 1) // 2
    gaps = []
    for temperature in (1e-1, 1e-2, 1e-3, 1e-4):
        soft = float(min_separation(x, temperature=temperature))
        assert hard - temperature * math.log(pairs) - 1e-12 <= soft <= hard + 1e-12
        gaps.append(hard - soft)
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-3


@pytest.mark.parametrize("half_space", [False, True])
@pytest.mark.parametrize("temperature", [0.0, 0.3, 0.01])
def test_equals_brute_force(half_space: bool, temperature: float) -> None:
    x = np.random.default_rng(1).normal(size=(9, 5))
    got = float(min_separation(as_tensor(x), temperature=temperature, half_space=half_space))
    assert got == pytest.approx(brute_force(x, half_space, temperature), rel=1e-10, abs=1e-12)


def test_hard_minimum_moves_only_the_closest_pair() -> None:
    x = np.random.default_rng(2).normal(size=(8, 4))
    pairs = list(itertools.combinations(range(8), 2))
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    closest = max(pairs, key=lambda p: unit[p[0]] @ unit[p[1]])
    w = as_tensor(x).requires_grad_(True)
    min_separation(w).backward()
    assert w.grad is not None
    moved = {i for i in range(8) if bool(w.grad[i].abs().max() > 0)}
    assert moved == set(closest)


def test_reference_sums_every_tied_pair() -> None:
    # Octahedron, full space: its 12 edges are exactly orthogonal (d² = 2 for any ε); half space: each of the
    # 3 antipodal pairs appears twice, at d² = 2 - 2|c| with the reference's |c| = r/(r + ε) < 1.
    x = as_tensor(octahedron())
    assert float(min_separation(x, reference=True)) == pytest.approx(12 * 2.0, rel=1e-12)
    r = 1.0 / (1.0 + 1e-4)  # |û|² after the first ε-normalization of a unit row
    c = r / (r + 1e-4)
    assert float(min_separation(x, half_space=True, reference=True)) == pytest.approx(6 * (2 - 2 * c), rel=1e-9)


@pytest.mark.parametrize("half_space", [False, True])
@pytest.mark.parametrize(("temperature", "reference"), [(0.0, False), (0.0, True), (0.05, False)])
def test_chunked_search_matches_one_block(
    monkeypatch: pytest.MonkeyPatch, half_space: bool, temperature: float, reference: bool
) -> None:
    x = torch.cat([as_tensor(icosahedron()), as_tensor(np.random.default_rng(3).normal(size=(7, 3)))])
    whole = min_separation(x, temperature=temperature, half_space=half_space, reference=reference)
    monkeypatch.setattr("thomson.engine.streaming.GRAM_BLOCK", 20)  # one row per chunk
    chunked = min_separation(x, temperature=temperature, half_space=half_space, reference=reference)
    torch.testing.assert_close(chunked, whole, rtol=1e-13, atol=0)


@pytest.mark.parametrize("half_space", [False, True])
def test_soft_minimum_gradcheck(half_space: bool) -> None:
    x = as_tensor(np.random.default_rng(4).normal(size=(6, 4))).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda w: min_separation(w, temperature=0.2, half_space=half_space), (x,))


@pytest.mark.parametrize("half_space", [False, True])
@pytest.mark.parametrize("temperature", [0.0, 1e-3])
@pytest.mark.parametrize("reference", [False, True])
def test_degenerate_rows_stay_finite(half_space: bool, temperature: float, reference: bool) -> None:
    rows = np.random.default_rng(5).normal(size=(5, 3))
    cases = {
        "zero": np.concatenate([rows, np.zeros((1, 3))]),
        "duplicate": np.concatenate([rows, rows[:1]]),
        "antipodal": np.concatenate([rows, -rows[:1]]),
        "single": rows[:1],
    }
    for name, x in cases.items():
        for dtype in (torch.float32, torch.float64):
            w = torch.tensor(x, dtype=dtype, requires_grad=True)
            value = min_separation(w, temperature=temperature, half_space=half_space, reference=reference)
            value.backward()
            assert w.grad is not None
            assert torch.isfinite(value), name
            assert torch.isfinite(w.grad).all(), name


def test_single_row() -> None:
    x = torch.tensor([[0.0, 2.0]], dtype=torch.float64)
    assert float(min_separation(x)) == 0.0  # no pair
    assert float(min_separation(x, half_space=True)) == pytest.approx(4.0)  # the row and its negation


def test_half_precision_is_computed_in_float32() -> None:
    x = torch.randn(12, 6)
    for temperature in (0.0, 0.1):
        got = min_separation(x.half(), temperature=temperature)
        assert got.dtype == torch.float32
        expected = min_separation(x.half().double(), temperature=temperature)
        assert float(got) == pytest.approx(float(expected), rel=1e-5, abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), temperature=st.sampled_from([0.0, 0.1]), half_space=st.booleans())
def test_invariant_under_rotation_permutation_and_scaling(seed: int, temperature: float, half_space: bool) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(7, 4))
    moved = (x @ rotation(4, rng) * rng.uniform(0.1, 10.0, size=(7, 1)))[rng.permutation(7)]
    a = min_separation(as_tensor(x), temperature=temperature, half_space=half_space)
    b = min_separation(as_tensor(moved), temperature=temperature, half_space=half_space)
    assert float(a) == pytest.approx(float(b), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(("kwargs", "match"), [({"temperature": -1.0}, "temperature"), ({"backend": "gpu"}, "backend")])
def test_bad_arguments_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        min_separation(torch.randn(3, 2), **kwargs)  # type: ignore[arg-type]


def mma_loop(w: np.ndarray) -> float:
    """Mean over rows of the clamped angle to the nearest other row, by a double loop."""
    unit = [r / np.linalg.norm(r) if np.linalg.norm(r) > 0 else r for r in w]
    angles = []
    for i, u in enumerate(unit):
        best = max(float(u @ v) for j, v in enumerate(unit) if j != i)
        angles.append(math.acos(min(max(best, -0.99999), 0.99999)))
    return math.fsum(angles) / len(angles)


@pytest.mark.parametrize("shape", [(2, 3), (9, 5), (12, 3)])
def test_mean_min_angle_equals_loop_and_reference(shape: tuple[int, int]) -> None:
    w = np.random.default_rng(6).normal(size=shape)
    assert float(mean_min_angle(as_tensor(w))) == pytest.approx(mma_loop(w), rel=1e-12)
    assert float(mean_min_angle(as_tensor(w), reference=True)) == pytest.approx(mma_reference(w), rel=1e-12)


def test_mean_min_angle_modes_differ_only_for_zero_rows_and_one_row() -> None:
    w = np.random.default_rng(7).normal(size=(5, 4))
    w[2] = 0.0
    w[3] = -w[0]
    for x in (w, w[:1]):
        assert float(mean_min_angle(as_tensor(x), reference=True)) == pytest.approx(mma_reference(x), rel=1e-12)
    assert float(mean_min_angle(as_tensor(w))) == pytest.approx(mma_loop(w), rel=1e-12)
    assert float(mean_min_angle(as_tensor(w[:1]))) == 0.0
    assert mma_reference(w[:1]) == pytest.approx(math.acos(-0.99999))


def test_mean_min_angle_gradcheck_and_duplicates() -> None:
    x = as_tensor(np.random.default_rng(8).normal(size=(6, 4))).requires_grad_(True)
    assert torch.autograd.gradcheck(mean_min_angle, (x,))
    twins = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    value = mean_min_angle(twins)
    value.backward()
    assert twins.grad is not None and torch.isfinite(twins.grad).all()
