from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from thomson.train.report import Cell, format_comparison, summarize, write_results

T_975_DF2 = (2 * 0.975 - 1) / math.sqrt(2 * 0.975 * 0.025)  # closed-form Student t quantile, 2 degrees of freedom


def cell(label: str, seed: int, acc: float, energy: float) -> Cell:
    summary = {
        "test_acc": acc,
        "test_loss": 1 - acc,
        "wall_time": 2.0 + seed,
        "energy_init": {"fc.weight": 0.6 + seed / 100, "head.weight": 0.55},
        "energy_final": {"fc.weight": energy, "head.weight": 0.5},
        "energy_bound": {"fc.weight": 0.495, "head.weight": 0.45},
        "sizes": {"fc.weight": [100, 20], "head.weight": [10, 100]},
    }
    return Cell(label, label.split(":")[0], {}, seed, summary)


ACC = {"none": [0.90, 0.92, 0.91], "mhe": [0.93, 0.92, 0.95]}


def cells() -> list[Cell]:
    return [cell(label, s, ACC[label][s], 0.6 - 0.01 * s) for label in ACC for s in range(3)]


def test_statistics_are_means_intervals_and_paired_differences() -> None:
    comparison = summarize(cells(), "none", {"data": "digits", "model": "mlp", "steps": 10})
    none, mhe = comparison.rows
    assert none.difference is None and mhe.seeds == [0, 1, 2]
    for row, values in ((none, ACC["none"]), (mhe, ACC["mhe"])):
        assert row.accuracy.mean == pytest.approx(np.mean(values), abs=1e-15)
        half = T_975_DF2 * np.std(values, ddof=1) / math.sqrt(3)
        assert (row.accuracy.low, row.accuracy.high) == pytest.approx((np.mean(values) - half, np.mean(values) + half))
    diffs = np.subtract(ACC["mhe"], ACC["none"])  # per seed
    half = T_975_DF2 * np.std(diffs, ddof=1) / math.sqrt(3)
    assert mhe.difference is not None
    assert (mhe.difference.mean, mhe.difference.low, mhe.difference.high) == pytest.approx(
        (diffs.mean(), diffs.mean() - half, diffs.mean() + half)
    )
    assert mhe.energy_final["fc.weight"] == pytest.approx(0.59) and mhe.wall_time == pytest.approx(3.0)
    assert comparison.energy_init["fc.weight"] == pytest.approx(0.61)


def test_table_shows_every_number(tmp_path: Path) -> None:
    comparison = summarize(cells(), "none", {"data": "digits", "model": "mlp", "steps": 10})
    table = format_comparison(comparison)
    mhe = comparison.rows[1]
    assert mhe.difference is not None
    expected = [
        f"{100 * mhe.accuracy.mean:.2f} ± {100 * mhe.accuracy.std:.2f}",
        f"[{100 * mhe.accuracy.low:.2f}, {100 * mhe.accuracy.high:.2f}]",
        f"{100 * mhe.difference.mean:+.2f} [{100 * mhe.difference.low:+.2f}, {100 * mhe.difference.high:+.2f}]",
        "(baseline)", "100×20", "simplex bound", "0.4950", "0.5900", "3.0s", "3 seeds",
    ]  # fmt: skip
    for text in expected:
        assert text in table, text


def test_results_files(tmp_path: Path) -> None:
    comparison = summarize(cells(), "none", {"data": "digits", "model": "mlp", "steps": 10})
    write_results(comparison, tmp_path)
    with (tmp_path / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["regularizer"], int(r["seed"])) for r in rows] == [(k, s) for k in ACC for s in range(3)]
    assert [float(r["test_acc"]) for r in rows] == ACC["none"] + ACC["mhe"]
    assert float(rows[4]["energy_final/fc.weight"]) == pytest.approx(0.59)
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["baseline"] == "none" and document["rows"][0]["difference"] is None
    assert document["rows"][0]["accuracy"]["std"] == pytest.approx(0.01)
    assert len(document["cells"]) == 6


def test_single_seed_has_no_interval_and_unknown_baseline_fails() -> None:
    one = [cell("none", 0, 0.9, 0.6), cell("mhe", 0, 0.95, 0.55)]
    comparison = summarize(one, "none", {"data": "d", "model": "m", "steps": 1})
    assert "[—, —]" in format_comparison(comparison)
    with pytest.raises(ValueError, match="baseline 'so' is not in the grid"):
        summarize(one, "so", {})
