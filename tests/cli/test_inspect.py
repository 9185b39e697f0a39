"""``thomson inspect PATH`` through ``thomson.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import thomson
from thomson.cli import main


@pytest.fixture
def checkpoint(tmp_path: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 9), torch.nn.ReLU(), torch.nn.Linear(9, 3))
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": model.state_dict(), "step": 1}, path)
    return path, model.state_dict()


def test_table(checkpoint: tuple[Path, dict[str, torch.Tensor]], capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = checkpoint
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "0.weight" in out and "2.weight" in out and "mean_abs_cos" in out and "regular simplex" in out


def test_json_equals_the_functional_core(
    checkpoint: tuple[Path, dict[str, torch.Tensor]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, state = checkpoint
    assert main(["inspect", str(path), "--json", "--solver-limit", "0"]) == 0
    layers = {layer["layer"]: layer for layer in json.loads(capsys.readouterr().out)}
    assert set(layers) == {"0.weight", "2.weight"}
    for name, layer in layers.items():
        rows = state[name].double()
        assert (layer["n"], layer["dim"]) == tuple(rows.shape)
        for s in (0, 1, 2):
            assert layer["measures"][f"mhe_s{s}"]["value"] == float(thomson.hyperspherical_energy(rows, s))
    # 9 neurons in 4 dims: s = 1 and 2 have finite expectations only when s < D - 1
    assert layers["0.weight"]["measures"]["mhe_s1"]["random"] is not None
    assert layers["0.weight"]["measures"]["mhe_s1"]["best"] is None  # solver turned off


def test_plot(tmp_path: Path, checkpoint: tuple[Path, dict[str, torch.Tensor]]) -> None:
    png = tmp_path / "table.png"
    assert main(["inspect", str(checkpoint[0]), "--plot", str(png), "--solver-limit", "0"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path / "absent.pt")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
