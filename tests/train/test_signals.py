"""Stopping cleanly: SIGTERM, SIGINT or a SIGKILL of ``thomson compare`` ends its workers (no orphans), the cells
they were running save a checkpoint, and the comparison exits without a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers import ROOT

STEPS = 10**6  # far more than a test waits for: every cell is still running when the signal comes


def start_compare(out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    flags = [
        "--data", "synthetic", "--batch-size", "32", "--model-opt", "hidden=[16]", "--milestones", "",
        f"--steps={STEPS}", f"--eval-every={STEPS}", "--log-every=1000", "--checkpoint-every=10",
    ]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "thomson", "compare", "--grid", "none", "mhe", "--seeds", "0", "--workers", "2",
         "--no-plots", "--out", str(out), *flags],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for_checkpoints(process: subprocess.Popen[str], cells: list[Path]) -> list[int]:
    deadline = time.monotonic() + 180
    while not all((cell / "checkpoint.pt").exists() for cell in cells):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    workers = children(process.pid)
    assert len(workers) >= 2, workers
    return workers


def wait_until_ended(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_workers_whose_cells_save_a_checkpoint(tmp_path: Path, sig: signal.Signals) -> None:
    cells = [tmp_path / "runs" / label / "seed0" for label in ("none", "mhe")]
    process = start_compare(tmp_path)
    workers = wait_for_checkpoints(process, cells)
    process.send_signal(sig)  # to the parent only (a terminal's Ctrl-C reaches the workers too)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
    assert "stopped by a signal: 0 of 2 runs finished (kept), the others saved a checkpoint" in stdout
    assert wait_until_ended(workers, 30) == []  # no orphan
    for cell in cells:
        assert 0 < torch.load(cell / "checkpoint.pt", weights_only=True)["step"] < STEPS
        assert not (cell / "summary.json").exists() and not list(cell.glob(".checkpoint.pt.*.tmp"))


def test_workers_of_a_killed_comparison_save_and_exit(tmp_path: Path) -> None:
    cells = [tmp_path / "runs" / label / "seed0" for label in ("none", "mhe")]
    process = start_compare(tmp_path)
    workers = wait_for_checkpoints(process, cells)
    saved = [torch.load(cell / "checkpoint.pt", weights_only=True)["step"] for cell in cells]
    process.kill()
    process.communicate(timeout=60)
    assert wait_until_ended(workers, 60) == []  # they once sat idle forever, their parent PID 1
    for cell, before in zip(cells, saved, strict=True):
        assert before <= torch.load(cell / "checkpoint.pt", weights_only=True)["step"] < STEPS
