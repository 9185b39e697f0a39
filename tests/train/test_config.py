from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from thomson.train import TrainConfig, make_config
from thomson.train.config import add_config_arguments, config_from_args, parse_options, parse_value


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    return parser.parse_args(argv)


def test_flags_override_the_file_which_overrides_the_recipe(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        'recipe = "mhe"\nsteps = 100\nreg = "mhe"\nout = "x"\n\n[reg_options]\ns = 2\nhalf_space = true\n'
        "\n[compare]\nseeds = [1]\n"
    )
    config = config_from_args(
        parse(["--config", str(path), "--lr", "0.5", "--reg-opt", "s=0", "--reg-opt", "metric=angular",
               "--milestones", "10,20", "--train-size", "30", "--out", "none", "--progress", "false"])
    )  # fmt: skip
    assert config.recipe == "mhe" and config.batch_size == 128 and config.weight_decay == 5e-4  # recipe
    assert config.steps == 100 and config.reg == "mhe"  # file
    assert config.lr == 0.5 and config.milestones == [10, 20] and config.train_size == 30  # flags
    assert config.reg_options == {"s": 0, "half_space": True, "metric": "angular"}  # merged key by key
    assert config.out is None and config.progress is False


def test_defaults_and_types() -> None:
    config = make_config()
    assert config == TrainConfig() and config.data == "digits" and config.reg == "none"
    assert make_config(overrides={"lr": 1}).lr == 1.0 and isinstance(make_config(overrides={"lr": 1}).lr, float)
    with pytest.raises(ValueError, match="steps must be int"):
        TrainConfig(steps=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="milestones\\[\\] must be int"):
        TrainConfig(milestones=["a"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"unknown config field\(s\) \['stpes'\]"):
        make_config({"stpes": 3})
    with pytest.raises(ValueError, match="recipe must be one of"):
        make_config(overrides={"recipe": "imagenet"})


def test_value_and_option_parsing() -> None:
    assert parse_value("1e-3") == 1e-3 and parse_value('"2"') == "2" and parse_value("null") is None
    assert parse_options(["s=2", " half_space = true", "dims=[1, 2]"]) == {"s": 2, "half_space": True, "dims": [1, 2]}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_options(["s"])


def test_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("steps = = 3")
    with pytest.raises(ValueError, match="not valid TOML"):
        config_from_args(parse(["--config", str(bad)]))
    with pytest.raises(ValueError, match="not found"):
        config_from_args(parse(["--config", str(tmp_path / "missing.toml")]))


def test_out_dir_default() -> None:
    assert str(TrainConfig(reg="mhe", seed=3).out_dir) == "runs/digits-mlp-mhe-seed3"
