"""Every config file under configs/ parses, and builds its objective (skipped while an objective is not merged)."""

from __future__ import annotations

from pathlib import Path

import pytest

import thomson
from helpers import ROOT
from thomson.train import available_objectives, build_objective, make_config
from thomson.train.config import read_toml

CONFIGS = sorted((ROOT / "configs").glob("*.toml"))


def test_the_papers_setups_are_all_there() -> None:
    names = {p.stem for p in CONFIGS}
    for required in (
        "baseline",
        "comhe-random",
        "comhe-angle",
        "comhe-adversarial",
        "mhs",
        "mhp",
        "mhc",
        "mgd",
        "rmhp",
    ):
        assert f"cifar100-cnn9-{required}" in names
    for space in ("", "half-"):
        for power in ("s0", "s1", "s2", "a0", "a1", "a2"):
            assert f"cifar100-cnn9-mhe-{space}{power}" in names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_parses_and_builds_its_objective(path: Path) -> None:
    values = read_toml(path)
    compare_table = values.pop("compare", None)
    config = make_config(values)
    if config.data.startswith("cifar"):
        assert config.model == "cnn9" and config.data == "cifar100" and config.train_size is None
        assert config.steps == (42_500 if config.reg in ("none", "mhe") and "75k" not in path.stem else 75_000)
    if compare_table is not None:
        assert set(compare_table) <= {"grid", "seeds", "baseline", "out"}
    assert config.reg.replace("-", "").lower() in {"none", *available_objectives()}
    objective = build_objective(config.reg, config.reg_options)
    if isinstance(objective, thomson.MHE):
        power = path.stem.rsplit("-", 1)[1]
        assert objective.reference and objective.half_space == ("-half-" in path.stem)
        assert objective.metric == ("angular" if power.startswith("a") else "euclidean")
        assert objective.s == float(power[1])
