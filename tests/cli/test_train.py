from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_thomson
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


def test_results_are_never_replaced_silently(tmp_path: Path) -> None:
    """A folder holding an earlier run's results (here its log and summary, without a checkpoint) is refused in one
    line naming it and the fix; --overwrite replaces exactly those files; a kill's temporary checkpoint is removed."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text('{"test_acc": 0.93}\n')
    (out / "log.jsonl").write_text('{"step": 0, "kind": "eval"}\n')
    (out / "notes.txt").write_text("mine\n")
    (out / ".checkpoint.pt.abc123.tmp").write_bytes(b"")
    done = run_thomson("train", *TINY, "--out", str(out))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"thomson train: error: {out} holds the results of an earlier run (log.jsonl, summary.json): replace them "
        "with --overwrite, or choose another --out\n"
    )  # no checkpoint: --resume cannot continue it, so it is not offered
    assert (out / "summary.json").read_text() == '{"test_acc": 0.93}\n'  # untouched
    assert run_thomson("train", *TINY, "--out", str(out), "--resume").returncode == 2
    assert (out / "log.jsonl").read_text() == '{"step": 0, "kind": "eval"}\n'
    done = run_thomson("train", *TINY, "--out", str(out), "--overwrite", "--progress", "false")
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "summary.json").read_text())["step"] == 20
    assert (out / "notes.txt").read_text() == "mine\n" and not list(out.glob(".checkpoint.pt.*.tmp"))
    done = run_thomson("train", *TINY, "--out", str(out))  # now with a checkpoint: --resume is offered too
    assert done.returncode == 2 and "continue it with --resume, replace them with --overwrite" in done.stderr
    assert run_thomson("train", *TINY, "--out", str(out), "--resume", "--progress", "false").returncode == 0
    done = run_thomson("train", *TINY, "--out", str(out / "notes.txt"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "is a file, not a folder" in done.stderr
