"""``thomson inspect PATH`` through ``thomson.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import thomson
from helpers import run_thomson
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


def odd_state() -> dict[str, torch.Tensor]:
    """Layers that are not ordinary, in a non-alphabetical order, around two ordinary ones."""
    generator = torch.Generator().manual_seed(0)
    partly_zero = torch.randn(5, 3, generator=generator)
    partly_zero[[1, 3]] = 0.0
    return {
        "z.weight": torch.randn(6, 4, generator=generator),  # ordinary, first in the file
        "one_input.weight": torch.randn(16, 1, generator=generator),  # D = 1
        "one_neuron.weight": torch.randn(1, 8, generator=generator),
        "all_zero.weight": torch.zeros(5, 4),
        "partly_zero.weight": partly_zero,
        "nan.weight": torch.full((3, 3), float("nan")),
        "empty.weight": torch.zeros(0, 4),
        "embed.weight": torch.randn(10, 4, generator=generator),  # an embedding: not a layer
        "a.weight": torch.randn(4, 3, generator=generator),  # ordinary, last
    }


def test_every_layer_gets_a_row_in_file_order_and_odd_ones_a_note(tmp_path: Path) -> None:
    path = tmp_path / "odd.pt"
    state = odd_state()
    torch.save(state, path)
    done = run_thomson("inspect", str(path), "--solver-limit", "0")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    names = [line.split()[0] for line in lines[2:] if line and not line.startswith((" ", "["))]
    assert names == [name for name in state if name != "embed.weight"]  # file order, embeddings left out
    notes = {line.split()[1].rstrip(":"): line for line in lines if line.startswith("[")}
    assert "D = 1" in notes["one_input.weight"] and "1 neuron" in notes["one_neuron.weight"]
    assert "5 of 5 rows are zero" in notes["all_zero.weight"] and "non-finite" in notes["nan.weight"]
    assert "0 neurons" in notes["empty.weight"] and "measured on the other 3" in notes["partly_zero.weight"]
    assert set(notes) == set(state) - {"z.weight", "a.weight", "embed.weight"}

    done = run_thomson("inspect", str(path), "--solver-limit", "0", "--json")
    layers = {layer["layer"]: layer for layer in json.loads(done.stdout)}
    for name in ("one_input.weight", "all_zero.weight", "nan.weight"):  # degenerate: not scored
        assert all(m["value"] is None and m["gap"] is None for m in layers[name]["measures"].values()), name
    nonzero = state["partly_zero.weight"][[0, 2, 4]].double()
    assert layers["partly_zero.weight"]["measures"]["mhe_s1"]["value"] == float(
        thomson.hyperspherical_energy(nonzero, 1)
    )
    assert layers["z.weight"]["note"] is None and layers["a.weight"]["measures"]["mhe_s0"]["gap"] is not None
    assert layers["z.weight"]["measures"]["mhe_s0"]["value"] == float(
        thomson.hyperspherical_energy(state["z.weight"].double(), 0)
    )


def test_safetensors_errors_are_one_line_and_layers_come_in_natural_order(tmp_path: Path) -> None:
    import safetensors.torch as safetensors_torch  # installed by the dev extra

    generator = torch.Generator().manual_seed(0)
    model = {f"layers.{k}.weight": torch.randn(4, 3, generator=generator) for k in (0, 2, 10, 1)}
    safetensors_torch.save_file(model, str(tmp_path / "model.safetensors"))
    safetensors_torch.save_file({"scale": torch.ones(4), "bias": torch.zeros(4)}, str(tmp_path / "flat.safetensors"))
    (tmp_path / "corrupt.safetensors").write_bytes((tmp_path / "model.safetensors").read_bytes()[:100])

    done = run_thomson("inspect", str(tmp_path / "model.safetensors"), "--json", "--solver-limit", "0")
    assert [layer["layer"] for layer in json.loads(done.stdout)] == [f"layers.{k}.weight" for k in (0, 1, 2, 10)]
    for name, message in (("flat", "holds no layer to inspect"), ("corrupt", "is not a readable .safetensors file")):
        done = run_thomson("inspect", str(tmp_path / f"{name}.safetensors"))
        assert done.returncode == 2 and done.stdout == ""
        [line] = done.stderr.splitlines()
        assert line.startswith("thomson inspect: error: ") and message in line
