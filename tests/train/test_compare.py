"""compare on a 2 × 2 grid of tiny runs: complete, correct table and files, plots, resumable."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from thomson.train import TrainConfig
from thomson.train.compare import GridEntry, compare
from thomson.train.report import format_comparison

BASE = TrainConfig(
    train_size=60, batch_size=20, steps=30, milestones=[20], model_options={"hidden": [16]}, eval_every=10
)
GRID = ["none", "mhe:half_space=true"]


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, list[str]]:
    out = tmp_path_factory.mktemp("grid")
    lines: list[str] = []
    comparison = compare(BASE, GRID, [0, 1], out=out, workers=2, echo=lines.append)
    return out, comparison, lines


def test_every_cell_ran_and_the_files_agree(grid: tuple[Path, object, list[str]]) -> None:
    out, _, lines = grid
    assert "4 runs (2 regularizers × 2 seeds), 0 done, 4 to run in 2 process(es)" in lines[0]
    summaries = {
        (label, seed): json.loads(
            (out / "runs" / GridEntry.parse(label).folder / f"seed{seed}" / "summary.json").read_text()
        )
        for label in GRID
        for seed in (0, 1)
    }
    assert summaries[("none", 0)]["config"]["reg"] == "none"
    assert summaries[("mhe:half_space=true", 1)]["config"]["reg_options"] == {"half_space": True}
    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {(r["regularizer"], int(r["seed"])) for r in rows} == set(summaries)
    for r in rows:
        assert float(r["test_acc"]) == summaries[(r["regularizer"], int(r["seed"]))]["test_acc"]
    document = json.loads((out / "results.json").read_text())
    t = math.tan(math.pi * 0.475)  # Student t quantile 0.975 with 1 degree of freedom
    for row in document["rows"]:
        accs = [summaries[(row["label"], s)]["test_acc"] for s in (0, 1)]
        assert row["accuracy"]["mean"] == pytest.approx(np.mean(accs))
        assert row["accuracy"]["high"] == pytest.approx(np.mean(accs) + t * np.std(accs, ddof=1) / math.sqrt(2))
    diffs = [summaries[(GRID[1], s)]["test_acc"] - summaries[("none", s)]["test_acc"] for s in (0, 1)]
    assert document["rows"][1]["difference"]["mean"] == pytest.approx(np.mean(diffs))


def test_table_and_plots(grid: tuple[Path, object, list[str]]) -> None:
    out, comparison, _ = grid
    table = (out / "table.txt").read_text()
    assert table.strip() == format_comparison(comparison).strip()  # type: ignore[arg-type]
    for label in GRID:
        assert label in table
    for layer in ("features.0", "classifier", "at init", "simplex bound", "16×64"):
        assert layer in table
    for name in ("accuracy.png", "energy_curves.png", "energy_final.png"):
        image = imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
        assert image[..., :3].std() > 0.05  # something is drawn


def test_rerun_skips_finished_cells_and_resumes_unfinished_ones(grid: tuple[Path, object, list[str]]) -> None:
    out, comparison, _ = grid
    redo = out / "runs" / "none" / "seed1" / "summary.json"
    redo.unlink()
    lines: list[str] = []
    again = compare(BASE, GRID, [0, 1], out=out, workers=1, echo=lines.append)
    assert "3 done, 1 to run" in lines[0] and any("none seed 1" in line for line in lines)
    for new, old in zip(again.rows, comparison.rows, strict=True):  # type: ignore[attr-defined]
        assert (new.accuracies, new.energy_final) == (old.accuracies, old.energy_final)  # wall times may differ
    with pytest.raises(ValueError, match="holds a finished run with other settings"):
        compare(TrainConfig(**{**BASE.to_dict(), "steps": 31}), GRID, [0, 1], out=out, workers=1, echo=None)


def test_bad_grids_fail_before_training(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown regularizer 'nonsense'; available: none, .*mhe"):
        compare(BASE, ["none", "nonsense"], [0], out=tmp_path / "x", echo=None)
    with pytest.raises(ValueError, match="baseline 'so' is not a grid entry"):
        compare(BASE, ["none", "mhe"], [0], out=tmp_path / "x", baseline="so", echo=None)
    with pytest.raises(ValueError, match="distinct"):
        compare(BASE, ["mhe", "mhe"], [0], out=tmp_path / "x", echo=None)
    assert not (tmp_path / "x").exists()


def test_grid_entry_syntax() -> None:
    entry = GridEntry.parse("MHE:s=0,half_space=true,classifier_coef=1")
    assert (entry.reg, entry.options, entry.coefs) == ("MHE", {"s": 0, "half_space": True}, {"classifier_coef": 1})
    assert GridEntry.parse("x:dims=[1, 2],k=3").options == {"dims": [1, 2], "k": 3}
    assert GridEntry.parse("comhe:projection=random").folder == "comhe_projection=random"
