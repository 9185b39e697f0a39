"""``hyperspherical_energy`` against brute-force loops, closed forms, the published tables and the reference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import as_tensor, icosahedron, octahedron, reference_table, regular_simplex, tetrahedron
from thomson.functional import hyperspherical_energy

POWERS = (-1.0, 0.0, 0.5, 1.0, 2.0, 3.0)
VARIANTS = list(itertools.product(POWERS, ("euclidean", "angular"), (False, True), ("mean", "sum")))


def brute_force(x: np.ndarray, s: float, metric: str, half_space: bool, reduction: str, reference: bool) -> float:
    """A float64 double loop over the explicit point set ([x; -x] for half space); default eps."""
    pts = np.concatenate([x, -x]) if half_space else x
    if reference:
        unit = [p / math.sqrt(p @ p + 1e-4) for p in pts]
    else:
        unit = [p / np.linalg.norm(p) for p in pts]
    total, count = 0.0, 0
    for i in range(len(unit)):
        for j in range(i + 1, len(unit)):
            c = float(unit[i] @ unit[j])
            if not reference:
                c = min(max(c, -1.0), 1.0) * (1 - 1e-6)
            if metric == "euclidean":
                z = math.sqrt(2 - 2 * c)
            else:
                z = math.acos(c) / math.pi + 1e-4 if reference else math.acos(c)
            if s == 0:
                term = -math.log(z * z) if reference and metric == "euclidean" else -math.log(z)
            else:
                term = z ** (-s) if s > 0 else -(z ** (-s))
            total += term
            count += 1
    return total / count if reduction == "mean" else total


@pytest.mark.parametrize(("s", "metric", "half_space", "reduction"), VARIANTS)
@pytest.mark.parametrize("reference", [False, True])
def test_equals_brute_force(s: float, metric: str, half_space: bool, reduction: str, reference: bool) -> None:
    x = np.random.default_rng(0).normal(size=(9, 5))
    got = hyperspherical_energy(
        as_tensor(x), s, metric=metric, half_space=half_space, reduction=reduction, reference=reference
    )
    expected = brute_force(x, s, metric, half_space, reduction, reference)
    assert float(got) == pytest.approx(expected, rel=1e-11, abs=1e-12)


def reference_numpy(w: np.ndarray, power: str, half: bool) -> float:
    """The reference code's formula (docs/reference-code.md) in matrix form: neurons as columns, full 2N×2N Gram
    for half space, ε inside the square root, strict upper triangle, mean over n(n-1)/2 of the (doubled) set."""
    filt = w.T
    if half:
        filt = np.concatenate([filt, -filt], axis=1)
    n = filt.shape[1]
    norm = np.sqrt((filt * filt).sum(axis=0, keepdims=True) + 1e-4)
    inner = (filt.T @ filt) / (norm.T @ norm)
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    if power.startswith("a"):
        acos = np.arccos(np.clip(inner, -1, 1)) / math.pi + 1e-4
        final = {"a0": -np.log(acos), "a1": acos**-1.0, "a2": acos**-2.0}[power]
    else:
        cross = 2.0 - 2.0 * inner + np.eye(n)
        final = {"0": -np.log(cross), "1": cross**-0.5, "2": cross**-1.0}[power]
    return float(final[upper].sum() / (n * (n - 1) / 2.0))


@pytest.mark.parametrize("power", ["0", "1", "2", "a0", "a1", "a2"])
@pytest.mark.parametrize("half", [False, True])
@pytest.mark.parametrize("scale", [0.01, 0.3, 2.0])
def test_reference_mode_matches_reference_formula(power: str, half: bool, scale: float) -> None:
    w = np.random.default_rng(1).normal(scale=scale, size=(16, 27))
    got = hyperspherical_energy(
        as_tensor(w),
        float(power[-1]),
        metric="angular" if power.startswith("a") else "euclidean",
        half_space=half,
        reference=True,
    )
    assert abs(float(got) - reference_numpy(w, power, half)) <= 1e-10 * max(1.0, abs(float(got)))


@pytest.mark.parametrize(
    ("points", "n"), [(tetrahedron, 4), (octahedron, 6), (icosahedron, 12)], ids=["tetra", "octa", "icosa"]
)
@pytest.mark.parametrize(("table", "column", "s"), [("thomson", "energy", 1.0), ("riesz_s2", "energy", 2.0)])
def test_platonic_solids_give_published_energies(points, n, table, column, s) -> None:  # type: ignore[no-untyped-def]
    expected = reference_table(table, column)[n]
    got = float(hyperspherical_energy(as_tensor(points()), s, reduction="sum", eps=0))
    assert got == pytest.approx(expected, abs=max(2e-8, 1e-11 * expected) + 5e-10)


@pytest.mark.parametrize(("points", "n"), [(tetrahedron, 4), (octahedron, 6), (icosahedron, 12)])
def test_platonic_solids_give_published_log_energies(points, n) -> None:  # type: ignore[no-untyped-def]
    expected = reference_table("logenergy", "energy")[n]
    got = float(hyperspherical_energy(as_tensor(points()), 0, reduction="sum", eps=0))
    assert got == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize("n", [2, 3, 5, 8, 17])
@pytest.mark.parametrize("s", POWERS)
def test_regular_simplex(n: int, s: float) -> None:
    # All cosines are -1/(n-1): chord sqrt(2n/(n-1)), angle arccos(-1/(n-1)).
    x = as_tensor(regular_simplex(n))
    for metric, z in (
        ("euclidean", math.sqrt(2 * n / (n - 1))),
        ("angular", math.acos(-1 / (n - 1))),
    ):
        term = -math.log(z) if s == 0 else (z ** (-s) if s > 0 else -(z ** (-s)))
        got = hyperspherical_energy(x, s, metric=metric, eps=0)
        assert float(got) == pytest.approx(term, rel=1e-12)


@pytest.mark.parametrize("d", [2, 3, 4, 7])
def test_orthonormal_basis_and_cross_polytope(d: int) -> None:
    basis = torch.eye(d, dtype=torch.float64)
    # Orthonormal basis: C(d,2) pairs at chord sqrt(2).
    assert float(hyperspherical_energy(basis, 1, reduction="sum", eps=0)) == pytest.approx(
        math.comb(d, 2) / math.sqrt(2)
    )
    # Cross-polytope {±e_i}: 2d(d-1) pairs at sqrt(2), d antipodal pairs at 2. It is also the half-space set
    # of the basis, so both ways of asking must agree.
    cross = torch.cat([basis, -basis])
    expected = math.sqrt(2) * d * (d - 1) + d / 2
    assert float(hyperspherical_energy(cross, 1, reduction="sum", eps=0)) == pytest.approx(expected)
    assert float(hyperspherical_energy(basis, 1, reduction="sum", eps=0, half_space=True)) == pytest.approx(expected)


def test_antipodal_pair() -> None:
    x = torch.tensor([[0.0, 2.0], [0.0, -5.0]], dtype=torch.float64)
    assert float(hyperspherical_energy(x, 1, reduction="sum", eps=0)) == pytest.approx(0.5)
    assert float(hyperspherical_energy(x, 0, reduction="sum", eps=0)) == pytest.approx(-math.log(2))
    assert float(hyperspherical_energy(x, 1, metric="angular", eps=0)) == pytest.approx(1 / math.pi)


@pytest.mark.parametrize(("s", "metric", "half_space"), [v[:3] for v in VARIANTS if v[3] == "mean"])
@pytest.mark.parametrize("reference", [False, True])
def test_gradcheck(s: float, metric: str, half_space: bool, reference: bool) -> None:
    x = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda t: hyperspherical_energy(t, s, metric=metric, half_space=half_space, reference=reference), (x,)
    )


def random_rows(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.randn(n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


invariance_cases = st.tuples(
    st.integers(2, 7),
    st.integers(2, 5),
    st.integers(0, 2**31 - 1),
    st.sampled_from(POWERS),
    st.sampled_from(["euclidean", "angular"]),
    st.booleans(),
)


@settings(max_examples=40, deadline=None)
@given(invariance_cases)
def test_invariant_to_rotation_permutation_and_row_scaling(
    case: tuple[int, int, int, float, str, bool],
) -> None:
    n, d, seed, s, metric, half_space = case
    x = random_rows(n, d, seed)
    g = torch.Generator().manual_seed(seed + 1)
    q, _ = torch.linalg.qr(torch.randn(d, d, dtype=torch.float64, generator=g))
    perm = torch.randperm(n, generator=g)
    scale = torch.rand(n, 1, dtype=torch.float64, generator=g) * 10 + 0.01
    base = hyperspherical_energy(x, s, metric=metric, half_space=half_space)
    for moved in (x @ q, x[perm], x * scale):
        got = hyperspherical_energy(moved, s, metric=metric, half_space=half_space)
        torch.testing.assert_close(got, base, rtol=1e-9, atol=1e-9)


DEGENERATE = {
    "zero rows": torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
    "duplicates": torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]]),
    "antipodal": torch.tensor([[1.0, -2.0], [-1.0, 2.0]]),
    "single row": torch.tensor([[0.3, 0.4]]),
    "one dimension": torch.tensor([[1.0], [-2.0], [3.0]]),
}


@pytest.mark.parametrize("case", DEGENERATE, ids=str)
@pytest.mark.parametrize(("s", "metric", "half_space"), [v[:3] for v in VARIANTS if v[3] == "mean"])
@pytest.mark.parametrize("reference", [False, True])
def test_finite_on_degenerate_inputs(case: str, s: float, metric: str, half_space: bool, reference: bool) -> None:
    x = DEGENERATE[case].clone().requires_grad_(True)
    value = hyperspherical_energy(x, s, metric=metric, half_space=half_space, reference=reference)
    (grad,) = torch.autograd.grad(value, x)
    assert torch.isfinite(value) and torch.isfinite(grad).all()


def test_single_row_full_space_is_zero_and_half_space_is_its_antipode() -> None:
    x = torch.tensor([[0.0, 3.0]], dtype=torch.float64)
    assert float(hyperspherical_energy(x, 1)) == 0.0
    assert float(hyperspherical_energy(x, 1, half_space=True, eps=0)) == pytest.approx(0.5)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_computed_in_float32(dtype: torch.dtype) -> None:
    x = random_rows(32, 8, 0)
    value = hyperspherical_energy(x.to(dtype), 2, half_space=True)
    assert value.dtype == torch.float32
    assert float(value) == pytest.approx(float(hyperspherical_energy(x.to(dtype).double(), 2, half_space=True)))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = hyperspherical_energy(x.float(), 2, half_space=True)
    assert under_autocast.dtype == torch.float32
    assert float(under_autocast) == pytest.approx(float(hyperspherical_energy(x, 2, half_space=True)), rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "cosine"}, "metric"),
        ({"reduction": "max"}, "reduction"),
        ({"eps": -1.0}, "eps"),
        ({"eps": 1.0}, "eps"),
        ({"backend": "gpu"}, "backend"),
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        hyperspherical_energy(torch.randn(3, 2), 1, **kwargs)  # type: ignore[arg-type]


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError, match=r"\[N, D\].*flatten"):
        hyperspherical_energy(torch.randn(3, 2, 2))
    with pytest.raises(TypeError, match="floating"):
        hyperspherical_energy(torch.ones(3, 2, dtype=torch.long))
