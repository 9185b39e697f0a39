"""``thomson.inspection``: the per-layer measures equal the functional core, the random expectations equal
closed forms (Beta and digamma functions) and Monte Carlo, the best known values equal closed-form optima."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.special import betaln, digamma

import thomson
from thomson.inspection import (
    MEASURES,
    Measure,
    best_known,
    inspect_checkpoint,
    layer_rows,
    load_weights,
    measure_rows,
    random_expectations,
)


def closed_form_expectations(dim: int) -> dict[str, float]:
    """For the cosine c of two random unit vectors, density ∝ (1-c²)^a with a = (dim-3)/2:
    E[(2-2c)^(-s/2)] = 2^(-s) B(a+1-s/2, a+1)/B(a+1, a+1);  E[-½ log(2-2c)] = -log 2 - (ψ(a+1) - ψ(2a+2))/2;
    E|c| = 1 / ((a+1) 2^(2a+1) B(a+1, a+1))."""
    a = (dim - 3) / 2
    out = {
        f"mhe_s{s}": math.exp(-s * math.log(2) + betaln(a + 1 - s / 2, a + 1) - betaln(a + 1, a + 1))
        if s < dim - 1
        else math.inf
        for s in (1, 2)
    }
    out["mhe_s0"] = -math.log(2) - (digamma(a + 1) - digamma(2 * a + 2)) / 2
    out["mean_abs_cos"] = math.exp(-math.log(a + 1) - (2 * a + 1) * math.log(2) - betaln(a + 1, a + 1))
    return out


@pytest.mark.parametrize("dim", [2, 3, 4, 7, 27, 512, 4608])
def test_random_expectations_equal_closed_forms(dim: int) -> None:
    got = random_expectations(5, dim)
    for key, expected in closed_form_expectations(dim).items():
        if math.isinf(expected):
            assert got[key] == math.inf, key
        else:
            assert got[key] == pytest.approx(expected, rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize(
    ("n", "dim", "rel"), [(2, 3, 1e-6), (3, 3, 0.07), (10, 3, 0.03), (20, 10, 0.01), (64, 27, 0.01)]
)
def test_expected_min_angle_against_monte_carlo(n: int, dim: int, rel: float) -> None:
    rng = np.random.default_rng(0)
    samples = 2000
    x = rng.normal(size=(samples, n, dim))
    x /= np.linalg.norm(x, axis=2, keepdims=True)
    i, j = np.triu_indices(n, 1)
    cos = np.einsum("kid,kjd->kij", x, x)[:, i, j].max(axis=1)
    angles = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    approx = random_expectations(n, dim)["min_angle"]
    if n == 2:  # one pair: the approximation is exact, the mean angle is 90°
        assert approx == pytest.approx(90.0, rel=rel)
    else:
        assert abs(approx - angles.mean()) <= rel * angles.mean() + 4 * angles.std() / math.sqrt(samples)


def f_pair(c: float, s: int) -> float:
    chord = math.sqrt(2 - 2 * c)
    return -math.log(chord) if s == 0 else chord ** (-s)


@pytest.mark.parametrize(("n", "dim"), [(3, 5), (6, 5), (4, 3)])
def test_best_is_the_regular_simplex(n: int, dim: int) -> None:
    best = best_known(n, dim)
    c = -1 / (n - 1)
    for s in (0, 1, 2):
        value, source = best[f"mhe_s{s}"]
        assert source == "regular simplex"
        assert value == pytest.approx(f_pair(c * (1 - 1e-6), s), rel=1e-12)  # the functional's default contraction
    assert best["min_angle"][0] == pytest.approx(math.degrees(math.acos(c)), abs=1e-9)
    if n <= dim:
        assert best["mean_abs_cos"] == (0.0, "orthonormal basis")


@pytest.mark.parametrize("dim", [3, 4])
def test_best_is_the_cross_polytope(dim: int) -> None:
    n = 2 * dim
    best = best_known(n, dim)
    pairs = n * (n - 1) / 2
    for s in (0, 1, 2):  # 2d(d-1) orthogonal pairs and d antipodal pairs
        expected = (2 * dim * (dim - 1) * f_pair(0.0, s) + dim * f_pair(-(1 - 1e-6), s)) / pairs
        assert best[f"mhe_s{s}"][0] == pytest.approx(expected, rel=1e-12)
    assert best["min_angle"] == (pytest.approx(90.0, abs=1e-12), "cross-polytope")
    assert best["mean_abs_cos"][0] == pytest.approx((n / dim - 1) / (n - 1), abs=1e-15)  # the frame bound


def test_best_min_angle_between_simplex_and_cross_polytope_is_90() -> None:
    best = best_known(7, 5, solver_limit=0)
    assert best["min_angle"][0] == pytest.approx(90.0, abs=1e-12)
    assert "mhe_s1" not in best  # solver turned off, no closed form


def test_best_in_the_plane_is_the_regular_polygon() -> None:
    best = best_known(5, 2)
    assert best["min_angle"][0] == pytest.approx(72.0, abs=1e-9)
    expected = sum(f_pair(math.cos(2 * math.pi * k / 5) * (1 - 1e-6), 1) for k in (1, 2)) / 2
    assert best["mhe_s1"] == (pytest.approx(expected, rel=1e-12), "regular polygon")


def test_small_cases_are_solved() -> None:
    best = best_known(8, 3)  # Thomson N = 8: the square antiprism, 19.675287861 (sum over the 28 pairs)
    assert best["mhe_s1"][1] == "thomson.solve"
    assert best["mhe_s1"][0] * 28 == pytest.approx(19.675287861, rel=1e-5)
    assert best["min_angle"][0] == pytest.approx(74.8584922, abs=1e-5)  # Tammes N = 8


def test_measures_equal_the_functional_core() -> None:
    w = torch.randn(6, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64).flatten(1)
    got = measure_rows(w)
    for s in (0, 1, 2):
        assert got[f"mhe_s{s}"] == float(thomson.hyperspherical_energy(w, s))
    u = (w / w.norm(dim=1, keepdim=True)).numpy()
    cos = [u[i] @ u[j] for i in range(6) for j in range(i + 1, 6)]
    assert got["mean_abs_cos"] == pytest.approx(np.mean(np.abs(cos)), rel=1e-14)
    assert got["min_angle"] == pytest.approx(math.degrees(math.acos(max(cos))), abs=1e-9)


def test_measures_in_blocks_of_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    w = torch.randn(30, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    whole = measure_rows(w)
    monkeypatch.setattr("thomson.engine.streaming.GRAM_BLOCK", 4 * 30)  # inspection's and min_angle's blocks
    blocked = measure_rows(w)
    assert blocked["min_angle"] == whole["min_angle"]
    assert blocked["mean_abs_cos"] == pytest.approx(whole["mean_abs_cos"], rel=1e-14)


def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3),
        torch.nn.BatchNorm2d(6),
        torch.nn.Flatten(),
        torch.nn.Linear(6, 5),
        torch.nn.Linear(5, 1),  # one neuron: no pairs, reported as not measured
    )


def check_report(reports: list, state: dict[str, torch.Tensor]) -> None:  # type: ignore[type-arg]
    assert [r.name for r in reports] == ["0.weight", "3.weight", "4.weight"]
    assert reports[2].note == "not measured: 1 neuron: the measures compare pairs of neurons"
    for r in reports[:2]:
        rows = state[r.name].flatten(1).double()
        assert (r.n, r.dim) == tuple(rows.shape)
        for s in (0, 1, 2):
            assert r.measures[f"mhe_s{s}"].value == float(thomson.hyperspherical_energy(rows, s))
        assert set(r.measures) == set(MEASURES)


def test_inspect_a_training_checkpoint(tmp_path: Path) -> None:
    model = small_model()
    path = tmp_path / "checkpoint.pt"
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 7, "config": {"lr": 0.1}}, path)
    reports = inspect_checkpoint(path)
    check_report(reports, model.state_dict())
    conv = reports[0]  # 6 neurons in 27 dims: the regular simplex is the best
    assert conv.measures["mhe_s2"].best_source == "regular simplex"
    assert conv.measures["mhe_s2"].random == pytest.approx(closed_form_expectations(27)["mhe_s2"], rel=1e-9)


def test_inspect_a_plain_state_dict_and_a_mapping(tmp_path: Path) -> None:
    model = small_model()
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    check_report(inspect_checkpoint(tmp_path / "weights.pt"), model.state_dict())
    check_report(inspect_checkpoint(model.state_dict()), model.state_dict())


def test_inspect_safetensors(tmp_path: Path) -> None:
    import safetensors.torch as safetensors_torch  # installed by the dev extra: missing is an error, not a skip

    model = small_model()
    path = tmp_path / "model.safetensors"
    safetensors_torch.save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    check_report(inspect_checkpoint(path), model.state_dict())


def test_safetensors_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)
    with pytest.raises(ImportError, match="needs safetensors"):
        load_weights(path)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_weights(tmp_path / "absent.pt")
    torch.save({"step": 3}, tmp_path / "nothing.pt")
    with pytest.raises(ValueError, match="holds no state_dict"):
        load_weights(tmp_path / "nothing.pt")
    (tmp_path / "garbage.pt").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="weights_only"):
        load_weights(tmp_path / "garbage.pt")
    with pytest.raises(ValueError, match="solver_limit"):
        inspect_checkpoint({}, solver_limit=-1)


def test_non_finite_weights_name_the_layer() -> None:
    state = {"fc.weight": torch.tensor([[1.0, float("nan")], [0.0, 1.0]])}
    with pytest.raises(ValueError, match=r"'fc\.weight'"):
        layer_rows(state)


def test_gap() -> None:
    assert Measure(0.75, 1.0, 0.5, "x").gap == pytest.approx(0.5)
    assert Measure(0.75, math.inf, 0.5, "x").gap is None
    assert Measure(0.75, 1.0, None, None).gap is None


def test_a_layer_whose_measure_fails_keeps_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    import thomson.inspection as inspection

    measure = inspection.measure_rows

    def failing_on_five_rows(rows: torch.Tensor) -> dict[str, float]:
        if rows.shape[0] == 5:
            raise ArithmeticError("math domain error")
        return measure(rows)

    monkeypatch.setattr(inspection, "measure_rows", failing_on_five_rows)
    generator = torch.Generator().manual_seed(0)
    state = {name: torch.randn(n, 3, generator=generator) for name, n in (("a.weight", 4), ("b.weight", 5))}
    state["c.weight"] = torch.randn(4, 3, generator=generator)
    a, b, c = inspect_checkpoint(state, solver_limit=0)
    assert b.note == "not measured: ArithmeticError: math domain error" and b.measures["mhe_s0"].value is None
    for report in (a, c):
        assert report.note is None and report.measures["mhe_s0"].value == measure(state[report.name])["mhe_s0"]


def test_degenerate_layers_are_flagged_not_scored() -> None:
    reports = inspect_checkpoint(
        {"zero.weight": torch.zeros(8, 16), "d1.weight": torch.randn(32, 1), "n1.weight": torch.randn(1, 8)}
    )
    assert [r.name for r in reports] == ["zero.weight", "d1.weight", "n1.weight"]
    for report in reports:  # an all-zero layer once scored as nearly optimal (every cosine 0)
        assert report.note is not None and report.note.startswith("not measured: ")
        assert all(m.value is None and m.gap is None for m in report.measures.values())


def test_the_layers_are_the_regularizers() -> None:
    model = torch.nn.ModuleDict(
        {"embed": torch.nn.Embedding(10, 4), "conv": torch.nn.Conv1d(4, 6, 3), "norm": torch.nn.LayerNorm(6)}
    )
    model["head"] = torch.nn.Linear(6, 3)
    reg = thomson.Regularizer(model, thomson.CoMHE("angle", dim=2))
    reg()  # the objective now holds per-layer projections
    state = {**model.state_dict(), **{f"reg.{k}": v for k, v in reg.state_dict().items()}}
    assert [r.name for r in inspect_checkpoint(state, solver_limit=0)] == reg.layers == ["conv.weight", "head.weight"]
    assert [r.name for r in inspect_checkpoint(model, solver_limit=0)] == reg.layers


def test_nothing_to_inspect_is_an_error() -> None:
    with pytest.raises(ValueError, match="holds no layer to inspect"):
        inspect_checkpoint({"scale": torch.ones(3), "embed.weight": torch.randn(5, 3)})
