"""``thomson.solve`` against the published records (Thomson, log energy, Riesz s = 2, Tammes), closed-form optima
(regular simplex, covering by Platonic solids), and its contract (seeds, early stop, argument checks)."""

from __future__ import annotations

import csv
import math
import sys

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist

import thomson
from helpers import RECORDS_DIR, reference_table


def record_tolerance(value: float) -> float:
    """``records/README.md``: the tables' last printed digits are uncertain at this level."""
    return max(2e-8, 1e-11 * abs(value))


def brute_force_energy(points: torch.Tensor, s: float) -> float:
    """``Σ_{i<j} |x_i - x_j|^(-s)`` (``-log`` at ``s = 0``) from scipy's pairwise distances, sorted before summing."""
    chords = pdist(points.numpy())
    terms = -np.log(chords) if s == 0 else chords ** (-s)
    return float(math.fsum(np.sort(terms)))


def brute_force_min_angle(points: torch.Tensor) -> float:
    x = points.numpy()
    return min(
        math.degrees(2 * math.asin(min(1.0, np.linalg.norm(x[i] - x[j]) / 2)))  # antipodes: chord 2 + round-off
        for i in range(len(x))
        for j in range(i + 1, len(x))
    )


def zenodo_log_energies() -> dict[int, float]:
    """Rathbun & Ridgway's log energies (float64 of 77-digit coordinates), from ``crosscheck.csv``."""
    with (RECORDS_DIR / "crosscheck.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["problem"] == "logenergy" and "Zenodo" in r["source_b"]]
    return {int(r["n"]): float(r["value_b"]) for r in rows}


@pytest.mark.parametrize("n", range(2, 31))
def test_thomson_records(n: int) -> None:
    record = reference_table("thomson", "energy")[n]
    result = thomson.solve(n, 3, s=1, restarts=3, seed=0)
    assert abs(result.value - record) <= record_tolerance(record)
    # the value is the energy of the returned unit vectors, recomputed independently
    assert torch.allclose(result.points.norm(dim=1), torch.ones(n, dtype=torch.float64), atol=1e-14)
    assert result.value == pytest.approx(brute_force_energy(result.points, 1.0), rel=1e-13)


@pytest.mark.parametrize("n", range(2, 31))
def test_log_energy_records(n: int) -> None:
    record = reference_table("logenergy", "energy")[n]  # printed with 7 decimals
    result = thomson.solve(n, 3, objective="log", restarts=2, seed=0)
    assert abs(result.value - record) <= 0.5e-7 + 1e-11 * abs(record)
    assert result.value == pytest.approx(brute_force_energy(result.points, 0.0), rel=1e-13)
    zenodo = zenodo_log_energies()
    if n in zenodo:  # many more digits: the polish reaches them
        assert result.value == pytest.approx(zenodo[n], abs=1e-9)


def test_riesz_s2_records() -> None:
    table = reference_table("riesz_s2", "energy")
    for n, record in table.items():
        if n <= 30:
            result = thomson.solve(n, 3, s=2, restarts=2, seed=0)
            assert abs(result.value - record) <= record_tolerance(record), n
            assert result.value == pytest.approx(brute_force_energy(result.points, 2.0), rel=1e-13)


@pytest.mark.parametrize("n", range(2, 13))
def test_tammes_angles(n: int) -> None:
    record = reference_table("tammes", "min_angle_deg")[n]
    result = thomson.solve(n, 3, objective="separation", restarts=3, seed=0)
    assert abs(result.value - record) <= 1e-5
    assert result.value == pytest.approx(brute_force_min_angle(result.points), abs=1e-9)


@pytest.mark.parametrize("n", range(3, 11))
def test_regular_simplex_found_from_random_starts(n: int) -> None:
    result = thomson.solve(n, n - 1, s=1, restarts=2, symmetric=False, seed=1)
    assert set(result.start_kinds) <= {"random", "hop"}
    gram = result.points @ result.points.T
    off = gram[~torch.eye(n, dtype=torch.bool)]
    assert torch.allclose(off, torch.full_like(off, -1.0 / (n - 1)), atol=1e-6)
    closed_form = math.comb(n, 2) * math.sqrt((n - 1) / (2 * n))
    assert result.value == pytest.approx(closed_form, rel=1e-12)


@pytest.mark.parametrize("n", [4, 5, 7])
def test_regular_simplex_is_the_best_separation_in_dimension_n_minus_1(n: int) -> None:
    result = thomson.solve(n, n - 1, objective="separation", restarts=2, symmetric=False, seed=0)
    assert result.value == pytest.approx(math.degrees(math.acos(-1.0 / (n - 1))), abs=1e-7)


@pytest.mark.parametrize(
    ("n", "cos_radius"),
    [
        (4, 1 / 3),  # tetrahedron: a vertex to the centre of the opposite face
        (5, 1 / math.sqrt(5)),  # triangular bipyramid (Schütte: optimal)
        (6, 1 / math.sqrt(3)),  # octahedron: the face centres
        (12, math.sqrt((5 + 2 * math.sqrt(5)) / 15)),  # icosahedron: the face centres
    ],
)
def test_best_coverings_of_the_sphere(n: int, cos_radius: float) -> None:
    result = thomson.solve(n, 3, objective="covering", restarts=2, seed=0)
    assert result.value == pytest.approx(math.degrees(math.acos(cos_radius)), abs=1e-7)


@pytest.mark.parametrize("dim", [4, 5])
def test_simplex_covering_in_higher_dimensions(dim: int) -> None:
    result = thomson.solve(dim + 1, dim, objective="covering", restarts=2, symmetric=False, seed=0)
    assert result.value == pytest.approx(math.degrees(math.acos(1.0 / dim)), abs=1e-7)


def test_same_seed_same_result_and_seeds_differ() -> None:
    a = thomson.solve(13, 3, restarts=3, seed=5, symmetric=False)
    b = thomson.solve(13, 3, restarts=3, seed=5, symmetric=False)
    c = thomson.solve(13, 3, restarts=3, seed=6, symmetric=False)
    assert a.start_values == b.start_values
    assert torch.equal(a.points, b.points)
    assert not torch.equal(a.points, c.points)


def test_result_fields() -> None:
    result = thomson.solve(20, 3, restarts=4, seed=0)
    assert (result.n, result.dim, result.objective, result.s) == (20, 3, "riesz", 1.0)
    assert result.start_kinds == ("symmetric", "random", "hop", "hop", "random")
    assert len(result.start_values) == 5 and result.value == min(result.start_values)
    assert result.start_values[result.best_start] == result.value
    assert 1 <= result.hits <= 5
    assert result.history[-1] == result.value and result.history[0] >= result.value
    assert all(b <= a + 1e-9 for a, b in zip(result.history, result.history[1:], strict=False))


def test_callback_sees_every_start_and_device_is_honoured() -> None:
    seen: list[tuple[int, float]] = []
    result = thomson.solve(9, 4, s=0.5, restarts=3, device="cpu", callback=lambda i, v: seen.append((i, v)))
    assert seen == list(enumerate(result.start_values))
    assert result.points.device.type == "cpu" and result.points.dtype == torch.float64


def test_target_stops_early() -> None:
    record = reference_table("thomson", "energy")[24]
    result = thomson.solve(24, 3, restarts=20, symmetric=False, target=record + record_tolerance(record))
    assert len(result.start_values) < 21
    assert result.start_values[-1] <= record + record_tolerance(record)
    separated = thomson.solve(6, 3, objective="separation", restarts=20, target=89.9)
    assert len(separated.start_values) == 1 and separated.value >= 89.9


def test_time_limit_stops_starting_new_starts() -> None:
    result = thomson.solve(40, 3, restarts=1000, time_limit=1e-6)
    assert len(result.start_values) == 1


def test_negative_s_spreads_points_apart() -> None:
    # s = -1 maximizes the sum of distances; on S² the optimum for N = 4 is the regular tetrahedron
    result = thomson.solve(4, 3, s=-1, restarts=2, seed=0)
    assert result.value == pytest.approx(-6 * math.sqrt(8 / 3), rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 1}, "n must be"),
        ({"n": 5, "dim": 1}, "dim must be"),
        ({"n": 5, "restarts": -1}, "restarts must be"),
        ({"n": 5, "seed": 1.5}, "seed must be"),
        ({"n": 5, "hop": -0.1}, "hop must be"),
        ({"n": 5, "time_limit": 0}, "time_limit must be"),
        ({"n": 5, "objective": "tammes"}, "objective must be one of"),
        ({"n": 5, "s": float("nan")}, "s must be a finite"),
        ({"n": 5, "objective": "log", "s": 1.0}, "objective='log'"),
        ({"n": 5, "objective": "separation", "s": 2.0}, "s applies to objective='riesz'"),
        ({"n": 3, "dim": 3, "objective": "covering"}, "n >= dim"),
        ({"n": 7, "dim": 4, "restarts": 0}, "no symmetric start"),
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        thomson.solve(**kwargs)  # type: ignore[arg-type]


def test_missing_scipy_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    with pytest.raises(ImportError, match=r"thomson\[solve\]"):
        thomson.solve(6, 3, objective="separation", restarts=1)
