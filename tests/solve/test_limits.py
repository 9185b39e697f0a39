"""Bounds on a solve: its memory estimated and refused before anything is allocated, a time limit that bounds the
whole run (inside the optimizer, its line search, the polish and a single long evaluation), progress lines."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest
import torch

import thomson
from helpers import ROOT
from thomson.solve import limits, starts


def test_a_solve_beyond_the_memory_limit_is_refused_before_anything_is_allocated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_allocation(*args: object) -> None:
        raise AssertionError("a start was drawn")

    monkeypatch.setattr(starts, "random_start", no_allocation)
    monkeypatch.setattr(starts, "fibonacci_sphere", no_allocation)
    with pytest.raises(ValueError, match=r"n=1000000000 points in R\^3 needs about [\d.]+ TiB of memory, more than"):
        thomson.solve(10**9, 3)  # once grew to 22.6 GB until the OOM killer stopped it
    with pytest.raises(ValueError, match=r"needs about [\d.]+ MiB of memory, more than the 1.0 MiB allowed"):
        thomson.solve(50, 3, memory_limit=2**20)
    with pytest.raises(ValueError, match="memory_limit must be a number of bytes > 0"):
        thomson.solve(50, 3, memory_limit=-1)


def test_the_estimate_grows_as_the_solve_does() -> None:
    riesz = [limits.memory_estimate(n, 3, "riesz", symmetric=False) - limits.FIXED_BYTES for n in (1000, 2000)]
    assert riesz[1] == 2 * riesz[0]  # L-BFGS: linear in N·D
    polish = [limits.memory_estimate(n, 3, "separation") - limits.FIXED_BYTES for n in (1000, 2000)]
    assert 3.9 < polish[1] / polish[0] < 4.1  # SLSQP: quadratic in N·D
    assert limits.memory_estimate(30, 3, "covering") > limits.memory_estimate(30, 3, "riesz")


def test_the_estimate_bounds_the_peak_memory_of_a_solve() -> None:
    """The peak resident memory of a solve in a fresh process, above what it held before, stays below the estimate
    (L-BFGS with full curvature memory: 40 iterations, 115 MB of state). The resident size is sampled by a thread
    every millisecond (the high-water mark of getrusage would hide the solve below the transient peak of the
    imports)."""
    script = textwrap.dedent(
        """
        import json, os, threading, time, torch
        import thomson
        torch.set_num_threads(1)
        n, dim = 1000, 120
        thomson.solve(4, 3, restarts=1)  # every lazy import done
        page = os.sysconf("SC_PAGE_SIZE")
        def resident():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * page
        peak, running = [0], [True]
        def sample():
            while running[0]:
                peak[0] = max(peak[0], resident())
                time.sleep(0.001)
        before = resident()
        watcher = threading.Thread(target=sample)
        watcher.start()
        thomson.solve(n, dim, restarts=1, symmetric=False, max_iter=40)
        running[0] = False
        watcher.join()
        print(json.dumps({"peak": peak[0] - before, "estimate": thomson.solve.limits.memory_estimate(n, dim, "riesz")}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    coordinates = 8 * 1000 * 120
    assert 60 * coordinates < measured["peak"] <= measured["estimate"], measured  # it measured the L-BFGS state


def test_available_memory_reads_the_machine() -> None:
    available = limits.available_memory()
    assert available is None or 0 < available < 2**60
    assert limits.parse_bytes("1.5G") == 1.5 * 2**30 and limits.parse_bytes("500MiB") == 500 * 2**20
    assert limits.parse_bytes("none") == math.inf and limits.parse_bytes("4096") == 4096
    for bad in ("", "-1G", "lots", "0"):
        with pytest.raises(ValueError, match="a memory size must read like 8G"):
            limits.parse_bytes(bad)


@pytest.mark.parametrize("objective", ["riesz", "separation", "covering"])
def test_the_time_limit_bounds_the_whole_run(objective: str) -> None:
    thomson.solve(8, 3, objective=objective, restarts=1)  # imports (scipy) are not the solve's time
    result = thomson.solve(300, 3, objective=objective, restarts=5, time_limit=0.3)
    assert result.timed_out and len(result.start_values) < 6
    assert result.seconds < 5  # it once ran every start to its end (28 s for 3000 points and 2 s)
    assert math.isfinite(result.value) and result.points.shape == (300, 3)
    finished = thomson.solve(6, 3, restarts=1, time_limit=60)
    assert not finished.timed_out


def test_the_time_limit_stops_a_single_long_evaluation() -> None:
    result = thomson.solve(60000, 3, restarts=0, time_limit=0.5)  # one evaluation: 1.8e9 pair terms
    assert result.timed_out and result.seconds < 5
    assert math.isnan(result.value)  # no evaluation finished: the start is returned, its value unknown
    assert torch.allclose(result.points.norm(dim=1), torch.ones(60000, dtype=torch.float64))


def test_progress_lines() -> None:
    lines: list[str] = []
    thomson.solve(5000, 3, restarts=0, time_limit=0.2, progress=lines.append)
    assert lines[0] == "5000 points in R^3: about 1.2e+07 pair terms per evaluation, about " + (
        f"{limits.format_bytes(limits.memory_estimate(5000, 3, 'riesz'))} of memory; a progress line every 5 s"
    )
    reports: list[str] = []
    x0 = starts.random_start(200, 3, torch.Generator().manual_seed(0))
    with limits.watch(None, reports.append, every=0.0):
        limits.stage("start 1 of 1 (random)")
        thomson.solve.lbfgs.minimize_on_spheres(
            lambda x: thomson.solve.energy_problem.energy_and_gradient(x, 1.0), x0, max_iter=3
        )
    assert reports[0].startswith("start 1 of 1 (random): first evaluation, evaluating (")
    assert any(line.startswith("start 1 of 1 (random): iteration 3, value ") for line in reports)
