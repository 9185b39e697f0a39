"""Forward+backward time and peak memory of Wang & Isola's uniformity: the pdist formula vs thomson vs a floor.

For N embeddings of dimension D (default 128), t = 2:

* (a) ``pdist``: the formula every copy of ``align_uniform`` uses, on normalized rows:
  ``torch.pdist(F.normalize(z), p=2).pow(2).mul(-2).exp().mean().log()`` (``N(N-1)/2`` distances under
  autograd), the baseline;
* (b) ``thomson``: ``thomson.functional.uniformity(z)`` (the streaming engine, ``O(N·D)`` memory);
* (c) ``floor``: the two ``N×N×D`` matrix products any exact method needs (``C = X Xᵀ`` and ``C X``), here in
  blocks of 1024 rows so that it runs at every N.

Times are medians over interleaved repeats in this one process, so the ratios come from the same run. Peak
memory is measured in a fresh subprocess per method and N: the peak resident set size (Linux ``VmHWM``, reset
through ``/proc/self/clear_refs`` just before the call) minus the resident size before it, i.e. the memory of
the computation above its input (as ``bench_energy.py``). ``pdist`` is skipped (``-``) from the first N whose
memory, extrapolated from the previous N (memory grows as ``N²``), exceeds ``--max-memory-gb`` (default 4).
With ``--estimate-n`` it also times :func:`thomson.functional.estimate_uniformity` on that many embeddings.

    python benchmarks/bench_uniformity.py                          # N = 1024 ... 65536, D = 128 (minutes)
    python benchmarks/bench_uniformity.py --n 1024 4096 --repeats 3
    python benchmarks/bench_uniformity.py --estimate-n 1000000 --estimate-samples 64
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from bench_energy import _status_kb

import thomson

METHODS = ("pdist", "thomson", "floor")
T = 2.0
FLOOR_BLOCK = 1024


def make_run(method: str, z: torch.Tensor) -> Callable[[], None]:
    """One forward+backward of ``method`` on the embeddings ``z`` (a leaf that requires grad)."""
    if method == "pdist":
        return lambda: torch.pdist(F.normalize(z, dim=1), p=2).pow(2).mul(-T).exp().mean().log().backward()
    if method == "thomson":
        return lambda: thomson.functional.uniformity(z, T).backward()
    x = z.detach()

    def floor() -> None:
        for start in range(0, x.shape[0], FLOOR_BLOCK):
            torch.mm(torch.mm(x[start : start + FLOOR_BLOCK], x.T), x)

    return floor


def embeddings(n: int, d: int) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(0)).requires_grad_()


def child(method: str, n: int, d: int) -> None:
    """Run once in this fresh process and print the peak memory above the input, in bytes, as JSON."""
    z = embeddings(n, d)
    run = make_run(method, z)
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))  # start the thread pool
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak resident set size (Linux >= 4.0)
    before = _status_kb("VmRSS")
    run()
    print(json.dumps({"peak": (_status_kb("VmHWM") - before) * 1024}))


def peak_memory(method: str, n: int, d: int) -> float | None:
    command = [sys.executable, __file__, "--child", method, str(n), str(d)]
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f"# memory run failed for {method} N={n}: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return float(json.loads(done.stdout.strip().splitlines()[-1])["peak"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[1024, 2048, 4096, 8192, 16384, 32768, 65536])
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per method (fewer for slow cells)")
    parser.add_argument("--max-memory-gb", type=float, default=4.0, help="skip pdist beyond this (extrapolated)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steadier when shared)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu", help="wall time or process CPU time")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--estimate-n", type=int, default=0, help="also time estimate_uniformity on this many rows")
    parser.add_argument("--estimate-samples", type=int, default=64, help="rows sampled by the estimate")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        method, n, d = args.child
        child(method, int(n), int(d))
        return
    timer = time.process_time if args.clock == "cpu" else time.perf_counter
    print(
        f"# uniformity t={T:g}, forward+backward, D={args.d}, {torch.get_num_threads()} threads, {args.clock} clock, "
        f"pdist memory budget {args.max_memory_gb:g} GB"
    )
    print(
        "| N | D | pdist s | thomson s | floor s | thomson/pdist | thomson/floor | pdist MB | thomson MB | floor MB |"
    )
    print("|" + "---:|" * 10)
    pdist_bytes_per_pair: float | None = None
    for n in sorted(args.n):
        pairs = n * (n - 1) / 2
        estimate = 24.0 * pairs if pdist_bytes_per_pair is None else pdist_bytes_per_pair * pairs
        methods = [m for m in METHODS if m != "pdist" or estimate <= args.max_memory_gb * 2**30]
        cell: dict[str, float | None] = {}
        z = embeddings(n, args.d)
        runs = {m: make_run(m, z) for m in methods}
        times: dict[str, list[float]] = {m: [] for m in methods}
        for _ in range(args.repeats):
            for m, run in runs.items():
                start = timer()
                run()
                times[m].append(timer() - start)
                z.grad = None
            if max(t[-1] for t in times.values()) > 5.0:
                break  # slow cells: one or two timings are enough
        for m in methods:
            cell[f"{m}_s"] = statistics.median(times[m])
            if not args.no_memory:
                cell[f"{m}_mb"] = peak_memory(m, n, args.d)
        peak = cell.get("pdist_mb")
        if peak is not None:
            pdist_bytes_per_pair = peak / pairs
        print(format_row(n, args.d, cell), flush=True)
        if "pdist" not in methods:
            print(f"# pdist skipped at N={n}: about {estimate / 2**30:.1f} GB expected (budget {args.max_memory_gb:g})")
    if args.estimate_n:
        time_estimate(args.estimate_n, args.d, args.estimate_samples, timer)


def time_estimate(n: int, d: int, samples: int, timer: Callable[[], float]) -> None:
    z = torch.randn(n, d, generator=torch.Generator().manual_seed(1)).requires_grad_()
    start = timer()
    est = thomson.functional.estimate_uniformity(z, T, samples=samples, generator=torch.Generator().manual_seed(2))
    est.value.backward()
    elapsed = timer() - start
    print(
        f"\n# estimate_uniformity: N={n}, D={d}, {samples} rows against all, forward+backward {elapsed:.2f} s: "
        f"{float(est.value.detach()):.5f} ± {float(est.stderr):.5f}  (-2t + 2t²/D = {-2 * T + 2 * T * T / d:.5f})"
    )


def format_row(n: int, d: int, cell: dict[str, float | None]) -> str:
    def num(key: str, scale: float = 1.0, fmt: str = "{:.3g}") -> str:
        value = cell.get(key)
        return "-" if value is None else fmt.format(value / scale)

    def ratio(a: str, b: str) -> str:
        x, y = cell.get(a), cell.get(b)
        return "-" if x is None or y is None or y <= 0 else f"{x / y:.3f}"

    mb = 2**20
    return (
        f"| {n} | {d} | {num('pdist_s')} | {num('thomson_s')} | {num('floor_s')} | {ratio('thomson_s', 'pdist_s')} "
        f"| {ratio('thomson_s', 'floor_s')} | {num('pdist_mb', mb, '{:.0f}')} | {num('thomson_mb', mb, '{:.0f}')} "
        f"| {num('floor_mb', mb, '{:.0f}')} |"
    )


if __name__ == "__main__":
    main()
