"""A user's objective, registered with ``@thomson.register_objective``, works everywhere a library objective does:
``create_objective``, ``Regularizer``, ``thomson train --import/--reg`` (by name or ``module:Class``), TOML configs
and ``compare`` grids."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import thomson
from helpers import ROOT
from thomson.train import TrainConfig
from thomson.train.compare import compare

MODULE = "user_objectives_for_tests"
SOURCE = textwrap.dedent(
    '''
    import torch
    import thomson


    @thomson.register_objective("mean-abs-cosine")
    class MeanAbsCosine(thomson.Objective):
        """mean over pairs i < j of |cos(w_i, w_j)|^power."""

        coef = 0.5
        classifier_coef = 0.25

        def __init__(self, power: float = 2.0) -> None:
            super().__init__()
            self.power = power

        def forward(self, weight, *, layer="", classifier=False):
            unit = torch.nn.functional.normalize(weight.flatten(1), dim=1)
            i, j = torch.triu_indices(unit.shape[0], unit.shape[0], 1)
            return (unit[i] * unit[j]).sum(1).abs().pow(self.power).mean()
    '''
)
TINY = ["--data", "synthetic", "--steps", "4", "--milestones", "", "--batch-size", "16", "--model-opt", "hidden=[8]"]


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(SOURCE)
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    sys.modules.pop(MODULE, None)
    if "mean-abs-cosine" in thomson.objectives.OBJECTIVES:
        thomson.objectives.OBJECTIVES.remove("mean-abs-cosine")


def mean_abs_cosine(w: torch.Tensor, power: float) -> float:
    """The objective by a loop over pairs in float64."""
    rows = [r / math.sqrt(float(r @ r)) for r in w.detach().double().flatten(1)]
    terms = [abs(float(a @ b)) ** power for a, b in itertools.combinations(rows, 2)]
    return math.fsum(terms) / len(terms)


def test_registered_by_name_and_by_path(user_module: Path) -> None:
    __import__(MODULE)
    assert "mean-abs-cosine" in thomson.list_objectives()
    by_name = thomson.create_objective("Mean_Abs_Cosine", power=1.0)
    by_path = thomson.create_objective(f"{MODULE}:MeanAbsCosine", power=1.0)
    assert type(by_name) is type(by_path) and by_name.power == 1.0
    with pytest.raises(ValueError, match=r"bad option for objective 'mean-abs-cosine'.*power"):
        thomson.create_objective("mean-abs-cosine", exponent=3)


def test_regularizer_sums_it_with_its_coefficients(user_module: Path) -> None:
    __import__(MODULE)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    reg = thomson.Regularizer(model, thomson.create_objective("mean-abs-cosine", power=1.5))
    expected = 0.5 * mean_abs_cosine(model[0].weight, 1.5) + 0.25 * mean_abs_cosine(model[2].weight, 1.5)
    assert float(reg().detach()) == pytest.approx(expected, rel=1e-6)


def run_train(args: list[str], code: Path, out: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(code)]), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "thomson", "train", *args, *TINY, "--out", str(out), "--progress", "false"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    train = [r for r in records if r["kind"] == "train"]
    assert train and set(train[-1]["reg_layers"]) == {"features.0.weight", "classifier.weight"}
    summary: dict[str, object] = json.loads((out / "summary.json").read_text())
    return summary


def test_thomson_train_finds_it_by_import_and_by_path(user_module: Path, tmp_path: Path) -> None:
    summary = run_train(
        ["--import", MODULE, "--reg", "mean-abs-cosine", "--reg-opt", "power=1"], user_module, tmp_path / "a"
    )
    assert summary["config"]["reg"] == "mean-abs-cosine"  # type: ignore[index]
    config = tmp_path / "run.toml"
    config.write_text(f'reg = "{MODULE}:MeanAbsCosine"\n[reg_options]\npower = 1.0\n')
    run_train(["--config", str(config)], user_module, tmp_path / "b")


def test_compare_runs_it_in_a_grid(user_module: Path, tmp_path: Path) -> None:
    base = TrainConfig(
        data="synthetic", steps=3, batch_size=16, milestones=[], model_options={"hidden": [8]}, imports=[MODULE]
    )
    result = compare(
        base, ["none", "mean-abs-cosine:power=1"], seeds=[0], out=tmp_path, workers=1, plots=False, echo=None
    )
    assert [row.label for row in result.rows] == ["none", "mean-abs-cosine:power=1"]
