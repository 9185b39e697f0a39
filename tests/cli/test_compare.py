from __future__ import annotations

from pathlib import Path

import pytest

from thomson.cli import main

TINY = ["--data", "synthetic", "--steps", "20", "--milestones", "", "--batch-size", "32", "--model-opt", "hidden=[16]"]


def test_compare_cli_reads_the_compare_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "grid.toml"
    config.write_text(f'[compare]\ngrid = ["none", "mhe"]\nseeds = [3]\nout = "{tmp_path / "res"}"\n')
    assert main(["compare", "--config", str(config), *TINY, "--workers", "1", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "1 seed ·" in out and "(baseline)" in out and "mhe" in out
    assert (tmp_path / "res" / "results.csv").exists() and (tmp_path / "res" / "runs" / "mhe" / "seed3").is_dir()
    assert main(["compare", *TINY, "--grid", "none", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown regularizer 'nope'" in capsys.readouterr().err
