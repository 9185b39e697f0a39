"""``thomson inspect FILE --embeddings`` through ``thomson.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from thomson.cli import main
from thomson.functional import alignment, uniformity


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, torch.Tensor, torch.Tensor]:
    z = torch.randn(50, 8, generator=torch.Generator().manual_seed(0))
    pairs = z + 0.2 * torch.randn(50, 8, generator=torch.Generator().manual_seed(1))
    torch.save(z, tmp_path / "z.pt")
    torch.save(pairs, tmp_path / "pairs.pt")
    return tmp_path / "z.pt", tmp_path / "pairs.pt", z, pairs


def test_json_equals_the_functions(
    files: tuple[Path, Path, torch.Tensor, torch.Tensor], capsys: pytest.CaptureFixture[str]
) -> None:
    path, pairs_path, z, pairs = files
    argv = [
        "inspect",
        str(path),
        "--embeddings",
        "--pairs",
        str(pairs_path),
        "--t",
        "3",
        "--alpha",
        "1",
        "--json",
        "--solver-limit",
        "0",
    ]
    assert main(argv) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert (report["layer"], report["n"], report["dim"]) == ("z.pt", 50, 8)
    measures = report["measures"]
    assert list(measures)[:2] == ["uniformity", "alignment"]
    assert measures["uniformity"]["value"] == pytest.approx(float(uniformity(z.double(), 3.0)), abs=1e-12)
    assert measures["alignment"]["value"] == pytest.approx(float(alignment(z.double(), pairs.double(), 1.0)), abs=1e-12)


def test_table_and_plot(
    tmp_path: Path, files: tuple[Path, Path, torch.Tensor, torch.Tensor], capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "embeddings.png"
    assert main(["inspect", str(files[0]), "--embeddings", "--plot", str(png), "--solver-limit", "0"]) == 0
    out = capsys.readouterr().out
    assert "uniformity" in out and "mhe_s2" in out and "alignment" not in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors(files: tuple[Path, Path, torch.Tensor, torch.Tensor], capsys: pytest.CaptureFixture[str]) -> None:
    path, pairs_path, _, _ = files
    assert main(["inspect", str(path), "--pairs", str(pairs_path)]) == 2
    assert "--pairs apply to --embeddings only" in capsys.readouterr().err
    assert main(["inspect", str(path.parent / "absent.pt"), "--embeddings"]) == 2
    assert "no embeddings file" in capsys.readouterr().err
    torch.save(torch.randn(1, 4), path)
    assert main(["inspect", str(path), "--embeddings"]) == 2
    assert "N >= 2" in capsys.readouterr().err
