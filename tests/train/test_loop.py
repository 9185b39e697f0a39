"""The training loop: a run interrupted by SIGKILL or SIGTERM and resumed equals an uninterrupted run bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from helpers import ROOT
from thomson.train import RunResult, TrainConfig, fit
from thomson.train.runlog import read_log

SETTINGS: dict[str, Any] = {
    "train_size": 100,
    "batch_size": 20,
    "steps": 600,
    "milestones": [300],
    "model_options": {"hidden": [32]},
    "reg": "mhe",
    "reg_options": {"half_space": True},
    "label_smoothing": 0.01,
    "prob_eps": 1e-4,
    "eval_every": 100,
    "log_every": 25,
    "checkpoint_every": 20,
    "threads": 1,
    "device": "cpu",
    "progress": False,
}


def flags(out: Path) -> list[str]:
    return [
        "--train-size=100", "--batch-size=20", "--steps=600", "--milestones=300", "--model-opt=hidden=[32]",
        "--reg=mhe", "--reg-opt=half_space=true", "--label-smoothing=0.01", "--prob-eps=1e-4", "--eval-every=100",
        "--log-every=25", "--checkpoint-every=20", "--threads=1", "--device=cpu", f"--out={out}",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return fit(TrainConfig(**SETTINGS, out=str(tmp_path_factory.mktemp("whole"))))


def interrupt(out: Path, sig: signal.Signals) -> subprocess.CompletedProcess[str]:
    """Start `thomson train` in a subprocess and send it ``sig`` as soon as its first checkpoint exists."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "thomson", "train", *flags(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def assert_same_run(resumed: RunResult, whole: RunResult) -> None:
    a, b = resumed.model.state_dict(), whole.model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert (resumed.test_acc, resumed.test_loss, resumed.energy_final) == (
        whole.test_acc,
        whole.test_loss,
        whole.energy_final,
    )
    assert read_log(resumed.config.out_dir / "log.jsonl") == read_log(whole.config.out_dir / "log.jsonl")


def test_resume_after_sigkill_is_bit_exact(tmp_path: Path, uninterrupted: RunResult) -> None:
    killed = interrupt(tmp_path, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (tmp_path / "summary.json").exists()
    stopped_at = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"]
    assert 0 < stopped_at < 600
    resumed = fit(TrainConfig(**SETTINGS, out=str(tmp_path)), resume=True)
    assert resumed.completed and (tmp_path / "summary.json").exists()
    assert_same_run(resumed, uninterrupted)


def test_sigterm_saves_and_exits_cleanly_then_resumes_bit_exactly(tmp_path: Path, uninterrupted: RunResult) -> None:
    stopped = interrupt(tmp_path, signal.SIGTERM)
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped at step" in stopped.stdout and "--resume" in stopped.stdout
    step = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"]
    assert 0 < step < 600 and not (tmp_path / "summary.json").exists()
    assert_same_run(fit(TrainConfig(**SETTINGS, out=str(tmp_path)), resume=True), uninterrupted)


def test_ctrl_c_behaves_like_sigterm(tmp_path: Path, uninterrupted: RunResult) -> None:
    stopped = interrupt(tmp_path, signal.SIGINT)
    assert stopped.returncode == 0 and "Traceback" not in stopped.stderr, stopped.stderr
    assert "stopped at step" in stopped.stdout and "--resume" in stopped.stdout
    assert 0 < torch.load(tmp_path / "checkpoint.pt", weights_only=True)["step"] < 600
    assert_same_run(fit(TrainConfig(**SETTINGS, out=str(tmp_path)), resume=True), uninterrupted)


def test_uninterrupted_run_logs_and_summary(uninterrupted: RunResult) -> None:
    log = read_log(uninterrupted.config.out_dir / "log.jsonl")
    evals = [r for r in log if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [0, 100, 200, 300, 400, 500, 600]
    train = [r for r in log if r["kind"] == "train"]
    assert len(train) == 24 and train[-1]["lr"] == pytest.approx(0.005) and train[0]["lr"] == 0.05
    assert set(train[-1]["reg_layers"]) == {"features.0.weight", "classifier.weight"}
    assert evals[-1]["test_acc"] == uninterrupted.test_acc > 0.5
    assert evals[0]["energy"] == uninterrupted.energy_init


def test_refuses_to_overwrite_and_checks_settings_on_resume(uninterrupted: RunResult) -> None:
    out = str(uninterrupted.config.out_dir)
    with pytest.raises(
        ValueError,
        match=r"holds the results of an earlier run \(checkpoint.pt, log.jsonl, summary.json\): "
        "continue it with --resume, replace them with --overwrite",
    ):
        fit(TrainConfig(**SETTINGS, out=out))
    with pytest.raises(ValueError, match=r"other settings \(lr: 0.05 then, 0.1 now\)"):
        fit(TrainConfig(**{**SETTINGS, "lr": 0.1}, out=out), resume=True)
    handler = signal.getsignal(signal.SIGTERM)
    again = fit(TrainConfig(**SETTINGS, out=out), resume=True)  # finished: nothing to do, same result
    assert again.completed and again.test_acc == uninterrupted.test_acc
    assert signal.getsignal(signal.SIGTERM) == handler  # fit put the previous SIGTERM handler back


def test_divergence_is_a_clear_error(tmp_path: Path) -> None:
    settings = {**SETTINGS, "lr": 1e12, "reg": "none", "reg_options": {}, "steps": 50}
    with pytest.raises(FloatingPointError, match="not finite at step"):
        fit(TrainConfig(**settings, out=str(tmp_path)))
