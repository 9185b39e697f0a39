from __future__ import annotations

from pathlib import Path

import pytest

from thomson.cli import main

TINY = ["--data", "synthetic", "--steps", "20", "--milestones", "", "--batch-size", "32", "--model-opt", "hidden=[16]"]


def test_train_prints_a_summary_and_writes_its_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "run.toml"
    config.write_text('reg = "mhe"\nsteps = 5\n[reg_options]\nhalf_space = true\n')
    assert main(["train", "--config", str(config), *TINY, "--out", str(tmp_path / "run"), "--progress", "false"]) == 0
    out = capsys.readouterr().out
    assert "synthetic · mlp · reg mhe {'half_space': True} · seed 0 · step 20/20" in out  # --steps beats the file
    assert "test accuracy" in out and "simplex bound" in out
    assert "features.0" in out and "16×16" in out and "classifier" in out
    for name in ("checkpoint.pt", "log.jsonl", "summary.json"):
        assert (tmp_path / "run" / name).exists()


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *TINY, "--reg", "nonsense", "--out", str(tmp_path)]) == 2
    assert "thomson train: error: unknown regularizer 'nonsense'; available: none, " in capsys.readouterr().err
    assert main(["train", *TINY, "--lr", "fast", "--out", str(tmp_path)]) == 2
    assert "lr must be float" in capsys.readouterr().err
