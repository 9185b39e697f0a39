"""Training on MNIST-1D: the recipes, the Adam option, a short run, determinism by seed, the CLI, old results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from thomson.cli import main
from thomson.train import RECIPES, TrainConfig, fit, make_config
from thomson.train.compare import compare
from thomson.train.config import saved_setting
from thomson.train.optimizer import build_optimizer

pytest.importorskip("mnist1d")

SMALL: dict[str, Any] = {
    "data": "mnist1d",
    "data_options": {"num_samples": 1000},  # 800 training, 200 test sequences: generated in a fraction of a second
    "model": "cnn1d",
    "steps": 80,
    "batch_size": 50,
    "lr": 0.1,
    "milestones": [60],
    "eval_every": 40,
    "threads": 1,
    "device": "cpu",
    "progress": False,
}


def test_the_recipes_are_the_papers() -> None:
    adam = make_config({"recipe": "mnist1d-adam"})
    assert (adam.optimizer, adam.lr, adam.weight_decay, adam.batch_size, adam.steps, adam.milestones) == (
        "adam",
        1e-2,
        0.0,
        100,
        6000,
        [],
    )
    sgd = make_config({"recipe": "mnist1d-sgd"})
    assert (sgd.optimizer, sgd.lr, sgd.momentum, sgd.weight_decay, sgd.gamma) == ("sgd", 0.1, 0.9, 5e-4, 0.1)
    assert sgd.milestones == [sgd.steps // 2, 3 * sgd.steps // 4]  # ×0.1 at 50% and 75% of the steps
    assert sgd.label_smoothing == adam.label_smoothing == sgd.prob_eps == 0.0  # plain cross-entropy
    assert all(recipe["optimizer"] == "sgd" for name, recipe in RECIPES.items() if not name.startswith("mnist1d"))


def test_adam_first_step_is_the_closed_form() -> None:
    layer = nn.Linear(3, 2)
    start = layer.weight.detach().clone()
    optimizer = build_optimizer("adam", layer.parameters(), lr=0.01, weight_decay=0.1)
    layer(torch.ones(1, 3)).pow(2).sum().backward()
    assert layer.weight.grad is not None
    g = layer.weight.grad + 0.1 * start  # L2 term added to the gradient
    optimizer.step()
    # first step: m̂ = g, v̂ = g², update = lr·g/(|g| + 1e-8)
    assert torch.allclose(layer.weight.detach(), start - 0.01 * g / (g.abs() + 1e-8), atol=1e-7)
    with pytest.raises(ValueError, match="optimizer must be one of sgd, adam"):
        build_optimizer("rmsprop", layer.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="optimizer must be one of sgd, adam"):
        TrainConfig(optimizer="lbfgs")


def test_a_short_run_learns_and_is_determined_by_its_seed(tmp_path: Path) -> None:
    first = fit(TrainConfig(**SMALL, out=str(tmp_path / "a")))
    again = fit(TrainConfig(**SMALL, out=str(tmp_path / "b")))
    other = fit(TrainConfig(**SMALL, seed=1, out=str(tmp_path / "c")))
    assert first.test_acc > 0.3  # ten classes: chance is 0.1
    assert first.test_acc == again.test_acc
    state, repeat = first.model.state_dict(), again.model.state_dict()
    assert all(torch.equal(state[k], repeat[k]) for k in state)
    assert not torch.equal(state["conv1.weight"], other.model.state_dict()["conv1.weight"])
    assert sorted(first.energy_final) == ["classifier.weight", "conv1.weight", "conv2.weight", "conv3.weight"]


def test_adam_and_the_mlp_train_through_the_loop(tmp_path: Path) -> None:
    result = fit(TrainConfig(**{**SMALL, "model": "mlp1d", "optimizer": "adam", "lr": 1e-2}, out=str(tmp_path)))
    assert result.test_acc > 0.2
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["optimizer"]["state"]
    assert "exp_avg_sq" in state[0]


def test_cli_train_with_a_recipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--data", "mnist1d", "--data-opt", "num_samples=1000", "--model", "cnn1d", "--model-opt", "width=8"]
    flags += ["--recipe", "mnist1d-sgd", "--steps", "20", "--milestones", "10,15", "--threads", "1"]
    assert main(["train", *flags, "--out", str(tmp_path / "run"), "--progress", "false"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["config"]["optimizer"] == "sgd" and summary["config"]["model_options"] == {"width": 8}
    assert main(["train", "--data", "mnist1d", "--data-opt", "seed=3", "--out", str(tmp_path / "bad")]) == 2
    assert "generation_seed" in capsys.readouterr().err


def test_results_written_before_the_optimizer_setting_still_count(tmp_path: Path) -> None:
    assert saved_setting({"lr": 0.5}, "lr") == 0.5 and saved_setting({}, "optimizer") == "sgd"
    base = TrainConfig(data="synthetic", steps=3, batch_size=32, milestones=[], model_options={"hidden": [8]})
    compare(base, ["none"], seeds=[0], out=tmp_path, workers=1, echo=None, plots=False)
    summary_path = tmp_path / "runs" / "none" / "seed0" / "summary.json"
    summary = json.loads(summary_path.read_text())
    del summary["config"]["optimizer"]  # as written by an earlier version
    summary_path.write_text(json.dumps(summary))
    lines: list[str] = []
    compare(base, ["none"], seeds=[0], out=tmp_path, workers=1, echo=lines.append, plots=False)
    assert "1 done, 0 to run" in lines[0]
    with pytest.raises(ValueError, match="holds a finished run with other settings"):
        compare(TrainConfig(**{**base.to_dict(), "optimizer": "adam"}), ["none"], seeds=[0], out=tmp_path, workers=1)
