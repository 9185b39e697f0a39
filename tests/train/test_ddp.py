"""DDP: a 2-process gloo run on digits (loopback only) ends with the same weights on both ranks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from helpers import ROOT
from thomson.train import TrainConfig, fit
from thomson.train.runlog import read_log

SETTINGS = {
    "train_size": 120,
    "batch_size": 24,
    "steps": 40,
    "milestones": [30],
    "model_options": {"hidden": [32]},
    "reg": "mhe",
    "reg_options": {"half_space": True},
    "eval_every": 20,
    "log_every": 5,
    "threads": 1,
    "device": "cpu",
    "progress": False,
}

SCRIPT = f"""
import os, sys, torch
from thomson.train import TrainConfig, fit
result = fit(TrainConfig(**{SETTINGS!r}, out=sys.argv[1]))
torch.save(result.model.state_dict(), os.path.join(sys.argv[2], f"rank{{os.environ['RANK']}}.pt"))
print("rank", os.environ["RANK"], "accuracy", result.test_acc)
"""


def test_two_process_gloo_run_keeps_replicas_identical(tmp_path: Path) -> None:
    script, out, weights = tmp_path / "run.py", tmp_path / "out", tmp_path / "weights"
    script.write_text(SCRIPT)
    weights.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "OMP_NUM_THREADS": "1",
        "GLOO_SOCKET_IFNAME": "lo",
        "MASTER_ADDR": "127.0.0.1",
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    done = subprocess.run(
        [*command, str(script), str(out), str(weights)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rank0, rank1 = (torch.load(weights / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key

    # only rank 0 wrote: one record per step and kind
    log = read_log(out / "log.jsonl")
    keys = [(r["step"], r["kind"]) for r in log]
    assert len(keys) == len(set(keys)) == 8 + 3 and (out / "summary.json").exists()

    # the two halves of each global batch give the gradient of the whole batch: same run as one process
    single = fit(TrainConfig(**SETTINGS, out=str(tmp_path / "single")))
    for key, value in single.model.state_dict().items():
        torch.testing.assert_close(rank0[key], value, rtol=1e-4, atol=1e-5)
    assert abs(log[-1]["test_acc"] - single.test_acc) < 0.01
