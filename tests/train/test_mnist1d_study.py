"""The study's analysis script: pairing by seed, t-tests, Holm within a family, the pasted tables, the plots."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
study = importlib.import_module("mnist1d_study")
markers = importlib.import_module("paste_between_markers")


def holm_brute_force(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values by the definition: max over the sorted prefix of (m − j + 1)·p_(j), capped at 1."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    for rank, i in enumerate(order):
        adjusted[i] = min(1.0, max((m - j) * pvalues[order[j]] for j in range(rank + 1)))
    return adjusted


def test_paired_differences_and_holm_match_scipy_and_the_definition() -> None:
    rng = np.random.default_rng(1)
    base = {s: 0.9 + 0.01 * rng.normal() for s in range(10)}
    accuracies = {"none": base}
    shifts = {"up": 0.02, "down": -0.03, "flat": 0.0}
    for label, shift in shifts.items():
        accuracies[label] = {s: base[s] + shift + 0.005 * rng.normal() for s in range(10)}
    del accuracies["flat"][3]  # a run that failed: its pair is left out
    wall = {label: [1.0, 3.0] for label in accuracies}
    baseline, rows = study.paired_differences("stage1", accuracies, wall, expected=10)
    assert baseline.mean == pytest.approx(np.mean(list(base.values())), rel=1e-12)
    for row in rows:
        seeds = sorted(accuracies[row.label])
        method = np.array([accuracies[row.label][s] for s in seeds])
        reference = np.array([base[s] for s in seeds])
        assert row.difference.mean == pytest.approx(np.mean(method - reference), rel=1e-9)
        assert row.pvalue == pytest.approx(stats.ttest_rel(method, reference).pvalue, rel=1e-9)
        low, high = stats.t.interval(
            0.95, len(seeds) - 1, loc=np.mean(method - reference), scale=stats.sem(method - reference)
        )
        assert (row.difference.low, row.difference.high) == (
            pytest.approx(low, rel=1e-9),
            pytest.approx(high, rel=1e-9),
        )
        assert row.wall_time == 2.0
    assert [r.runs for r in rows] == [10, 10, 9]
    corrected = study.with_holm(rows)
    expected = holm_brute_force([r.pvalue for r in rows])
    assert [r.adjusted for r in corrected] == pytest.approx(expected, rel=1e-12)
    assert [r.verdict for r in corrected] == ["helps", "hurts", "no detectable effect"]


def test_a_method_with_no_finished_run_is_not_run_rather_than_no_effect() -> None:
    accuracies = {"none": {0: 0.9, 1: 0.92, 2: 0.91}, "mhe": {}, "mhs": {0: 0.91, 1: 0.91, 2: 0.92}}
    _, rows = study.paired_differences("stage1", accuracies, {"none": [1.0], "mhe": [], "mhs": [1.0]}, expected=3)
    corrected = study.with_holm(rows)
    verdicts = [(r.label, r.runs, r.verdict) for r in corrected]
    assert verdicts == [("mhe", 0, "not run"), ("mhs", 3, "no detectable effect")]
    assert study._difference_cells(corrected[0])[-1] == "—"


def fake_summary(stage: Any, label: str, seed: int, rng: np.random.Generator) -> dict[str, Any]:
    layers = ["a.weight", "classifier.weight"]
    return {
        "test_acc": 0.9 + (0.02 if label.startswith("mgd") else 0.0) + 0.001 * seed + 0.002 * rng.normal(),
        "wall_time": 10.0,
        "energy_init": {k: 0.51 for k in layers},
        "energy_final": {k: 0.5 for k in layers},
        "energy_bound": {k: 0.45 for k in layers},
        "sizes": {k: [10, 4] for k in layers},
    }


def test_report_fills_every_table_and_figure(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    results = tmp_path / "results"
    for name in study.STAGES:
        stage = study.load_stage(name, results)
        for entry in stage.entries:
            for seed in stage.seeds:
                if name == "stage1" and entry.label == "mhs" and seed == 9:
                    continue  # a failed run
                folder = stage.config(entry, seed).out_dir
                folder.mkdir(parents=True)
                summary = fake_summary(stage, entry.label, seed, rng)
                if entry.label == "none":
                    summary["test_acc"] = 0.9 + 0.001 * seed  # identical in stage1 and stage2-coef
                (folder / "summary.json").write_text(json.dumps(summary))
    doc = tmp_path / "mnist1d.md"
    shutil.copy(study.DOC, doc)
    readme = tmp_path / "README.md"
    shutil.copy(study.ROOT / "README.md", readme)
    study.report(results, doc, tmp_path / "figures", readme)
    headline = readme.read_text().split("<!-- study-headline -->")[1].split("<!-- /study-headline -->")[0]
    assert headline.count("\n| ") == 1 + 14 and "| mhs | 9/10 | " in headline and "290 of 290 runs finished" in headline
    text = doc.read_text()
    stage1 = text.split("<!-- stage1-table -->")[1].split("<!-- /stage1-table -->")[0]
    assert stage1.count("\n| ") == 1 + 14 and "| mhs | 9/10 ⚠ |" in stage1
    assert "| mgd | 10/10 | 92." in stage1 and "helps" in stage1
    stage2 = text.split("<!-- stage2-table -->")[1].split("<!-- /stage2-table -->")[0]
    assert stage2.count("\n| ") == 1 + 9 + 4 * 5 and "equals stage 1's in 10 of 10 seeds" in stage2
    assert "| simplex bound | 0.4500 | 0.4500 |" in text
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "mnist1d-energies.png",
        "mnist1d-stage1.png",
        "mnist1d-stage2.png",
    ]


def test_paste_replaces_only_between_its_markers(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text("head\n<!-- t -->\nold\n<!-- /t -->\ntail\n")
    markers.paste(path, "t", "new\ntable")
    assert path.read_text() == "head\n<!-- t -->\nnew\ntable\n<!-- /t -->\ntail\n"
    with pytest.raises(ValueError, match="must hold the markers <!-- u -->"):
        markers.paste(path, "u", "x")
    path.write_text("<!-- t -->\n<!-- /t -->\n<!-- t -->\n<!-- /t -->\n")
    with pytest.raises(ValueError, match="found 2"):
        markers.paste(path, "t", "x")
