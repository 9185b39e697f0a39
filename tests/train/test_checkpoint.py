from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from thomson.train.checkpoint import capture_rng, load_checkpoint, restore_rng, save_checkpoint


def draws() -> tuple[list[float], list[float], list[float]]:
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]  # noqa: NPY002


def test_rng_round_trip_reproduces_every_generator(tmp_path: Path) -> None:
    torch.manual_seed(1)
    np.random.seed(2)  # noqa: NPY002
    random.seed(3)
    save_checkpoint(tmp_path / "c.pt", {"rng": capture_rng()})
    first = draws()
    draws()
    restore_rng(load_checkpoint(tmp_path / "c.pt")["rng"])
    assert draws() == first


def test_write_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"step": 1, "model": {"w": torch.ones(2)}})

    class Unpicklable:
        def __reduce__(self) -> tuple[object, ...]:
            raise RuntimeError("killed while writing")

    with pytest.raises(RuntimeError, match="killed while writing"):
        save_checkpoint(path, {"step": 2, "bad": Unpicklable()})
    assert load_checkpoint(path)["step"] == 1  # the previous checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind


def test_loads_with_weights_only(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"rng": capture_rng(), "config": {"lr": 0.1, "out": None, "milestones": [1, 2]}})
    state = torch.load(path, weights_only=True)
    assert state["config"]["milestones"] == [1, 2]


class _Payload:
    """Unpickled, it would create a folder: the stand-in for code hidden in a checkpoint."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, ...]:
        return (os.makedirs, (str(self.path),))


def test_a_checkpoint_holding_code_is_refused_without_running_it(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    torch.save({"step": 1, "model": _Payload(tmp_path / "ran")}, path)
    with pytest.raises(ValueError, match=f"{path} is not a readable checkpoint"):
        load_checkpoint(path)
    assert not (tmp_path / "ran").exists()
    torch.load(path, weights_only=False)  # what an unsafe load would have done
    assert (tmp_path / "ran").is_dir()
