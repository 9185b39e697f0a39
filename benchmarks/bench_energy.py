"""Forward+backward time and peak memory of the MHE energy: reference port vs thomson vs the matmul floor.

For N rows of dimension D, full and half space, s = 2 with the reference constants:

* (a) ``ref``: the straightforward port of the reference formula (``reference_port.py``: the N×N, or 2N×2N,
  matrices under autograd), the baseline;
* (b) ``thomson``: ``thomson.hyperspherical_energy(..., reference=True)`` with the automatic backend;
* (c) ``floor``: the two N×N×D matrix products any exact method needs (``torch.mm``: C = X Xᵀ, then C X).

Times are medians over interleaved repeats in this one process; the ratios b/a and b/c come from the same
run. Peak memory is measured in a fresh subprocess per method and cell: on the CPU the peak resident set size
(Linux ``VmHWM``, reset through ``/proc/self/clear_refs`` just before the call) minus the resident size before
it, i.e. the memory of the computation above its input; on CUDA ``torch.cuda.max_memory_allocated`` above the
allocation before the call. Cells are skipped (``-``) when a method's estimated memory exceeds
``--max-memory-gb`` or its time extrapolated from the previous N exceeds ``--max-seconds``.

    python benchmarks/bench_energy.py                # the full grid (long: tens of minutes on 2 cores)
    python benchmarks/bench_energy.py --quick        # N in {1024, 4096}, D in {27, 512}
    python benchmarks/bench_energy.py --device cuda
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable

import torch
from reference_port import reference_mhe
from timing import add_timing_options, apply_timing_options

import thomson
from thomson.engine import tile_rows
from thomson.solve.limits import available_memory

METHODS = ("ref", "thomson", "floor")


def make_run(method: str, w: torch.Tensor, half_space: bool) -> Callable[[], None]:
    """One forward+backward of ``method`` on the rows ``w`` (a leaf that requires grad)."""
    if method == "ref":
        return lambda: reference_mhe(w, "2", half_space).backward()
    if method == "thomson":
        return lambda: thomson.hyperspherical_energy(w, 2, half_space=half_space, reference=True).backward()
    x = w.detach()

    def floor() -> None:
        torch.mm(torch.mm(x, x.T), x)

    return floor


def estimated_bytes(method: str, n: int, d: int, half_space: bool) -> int:
    """A generous estimate of the peak memory of ``method`` (for skipping cells that would not fit)."""
    m = 2 * n if half_space else n
    if method == "ref":
        return 12 * m * m * 4  # about a dozen M×M float matrices live under autograd
    if method == "floor":
        return n * n * 4 + 2 * n * d * 4
    return 16 * n * d * 4 + 64 * 2**20


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def rows(n: int, d: int, device: torch.device) -> torch.Tensor:
    g = torch.Generator(device=device).manual_seed(0)
    return torch.randn(n, d, device=device, generator=g).mul_((2.0 / d) ** 0.5).requires_grad_()


def child(method: str, n: int, d: int, half_space: bool, device_name: str) -> None:
    """Run once in this fresh process and print the peak memory above the input, in bytes, as JSON."""
    device = torch.device(device_name)
    w = rows(n, d, device)
    run = make_run(method, w, half_space)
    torch.mm(torch.ones(64, 64, device=device), torch.ones(64, 64, device=device))  # start the thread pool
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        run()
        sync(device)
        print(json.dumps({"peak": torch.cuda.max_memory_allocated() - before}))
        return
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak resident set size (Linux >= 4.0)
    before = _status_kb("VmRSS")
    run()
    print(json.dumps({"peak": (_status_kb("VmHWM") - before) * 1024}))


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def peak_memory(method: str, n: int, d: int, half_space: bool, args: argparse.Namespace) -> float | None:
    command = [sys.executable, __file__, "--child", method, str(n), str(d), str(int(half_space)), args.device]
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        print(f"# memory run failed for {method} N={n} D={d}: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return float(json.loads(done.stdout.strip().splitlines()[-1])["peak"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n", type=int, nargs="+", default=[1024, 4096, 16384, 65536])
    parser.add_argument("--d", type=int, nargs="+", default=[27, 512, 4608])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per method (fewer for slow cells)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="skip runs estimated to take longer")
    parser.add_argument("--max-memory-gb", type=float, default=None, help="default: 70%% of available memory")
    add_timing_options(parser)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--quick", action="store_true", help="N in {1024, 4096}, D in {27, 512}, 3 repeats")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.timer = apply_timing_options(args)
    if args.child:
        method, n, d, half, device = args.child
        child(method, int(n), int(d), bool(int(half)), device)
        return
    if args.quick:
        args.n, args.d, args.repeats = [1024, 4096], [27, 512], 3
    device = torch.device(args.device)
    if args.max_memory_gb is None:
        if device.type == "cuda":
            available = torch.cuda.mem_get_info()[0]
        else:
            available = available_memory()
            if available is None:
                raise SystemExit("the available memory is unknown on this system: pass --max-memory-gb")
        args.max_memory_gb = 0.7 * available / 2**30
    print(
        f"# MHE s=2 (reference constants), forward+backward, {device}, {torch.get_num_threads()} threads, "
        f"{args.clock} clock, "
        f"streaming tiles of {tile_rows(device, 27)} rows (D < 64) or {tile_rows(device)}, "
        f"memory budget {args.max_memory_gb:.1f} GB"
    )
    header = (
        "| N | D | space | ref s | thomson s | floor s | thomson/ref | thomson/floor "
        "| ref MB | thomson MB | floor MB | mem thomson/ref |"
    )
    print(header)
    print("|" + "---:|" * 3 + "---:|" * 9)
    last: dict[tuple[str, int, bool], tuple[int, float]] = {}
    results = []
    for d in args.d:
        for n in sorted(args.n):
            for half_space in (False, True):
                cell = measure_cell(n, d, half_space, device, args, last)
                results.append(cell)
                print(format_row(cell), flush=True)
    print_targets(results)


def measure_cell(
    n: int,
    d: int,
    half_space: bool,
    device: torch.device,
    args: argparse.Namespace,
    last: dict[tuple[str, int, bool], tuple[int, float]],
) -> dict[str, object]:
    cell: dict[str, object] = {"n": n, "d": d, "half": half_space}
    runnable = []
    for method in METHODS:
        fits = estimated_bytes(method, n, d, half_space) <= args.max_memory_gb * 2**30
        previous = last.get((method, d, half_space))
        slow = previous is not None and previous[1] * (n / previous[0]) ** 2 > args.max_seconds
        if fits and not slow:
            runnable.append(method)
    w = rows(n, d, device)
    runs = {m: make_run(m, w, half_space) for m in runnable}
    times: dict[str, list[float]] = {m: [] for m in runnable}
    for m, run in runs.items():  # warm-up, and a first timing to size the repeats
        times[m].append(_time(run, device, args.timer))
        w.grad = None
    slowest = max((t[0] for t in times.values()), default=0.0)
    repeats = args.repeats if slowest < 2.0 else (3 if slowest < 20.0 else 1)
    for _ in range(repeats - 1):
        for m, run in runs.items():
            times[m].append(_time(run, device, args.timer))
            w.grad = None
    for m in runnable:
        median = statistics.median(times[m][1:] if len(times[m]) > 2 else times[m])
        cell[f"{m}_s"] = median
        last[(m, d, half_space)] = (n, median)
        if not args.no_memory:
            cell[f"{m}_mb"] = peak_memory(m, n, d, half_space, args)
    return cell


def _time(run: Callable[[], None], device: torch.device, clock: Callable[[], float]) -> float:
    sync(device)
    start = clock()
    run()
    sync(device)
    return clock() - start


def _ratio(cell: dict[str, object], a: str, b: str) -> float | None:
    x, y = cell.get(a), cell.get(b)
    return float(x) / float(y) if isinstance(x, float) and isinstance(y, float) and y > 0 else None  # type: ignore[arg-type]


def format_row(cell: dict[str, object]) -> str:
    def num(key: str, scale: float = 1.0, fmt: str = "{:.3g}") -> str:
        value = cell.get(key)
        return fmt.format(float(value) / scale) if isinstance(value, float) else "-"  # type: ignore[arg-type]

    def ratio(a: str, b: str) -> str:
        r = _ratio(cell, a, b)
        return "-" if r is None else f"{r:.3f}"

    space = "half" if cell["half"] else "full"
    mb = 2**20
    return (
        f"| {cell['n']} | {cell['d']} | {space} | {num('ref_s')} | {num('thomson_s')} | {num('floor_s')} "
        f"| {ratio('thomson_s', 'ref_s')} | {ratio('thomson_s', 'floor_s')} | {num('ref_mb', mb, '{:.0f}')} "
        f"| {num('thomson_mb', mb, '{:.0f}')} | {num('floor_mb', mb, '{:.0f}')} | {ratio('thomson_mb', 'ref_mb')} |"
    )


def print_targets(results: list[dict[str, object]]) -> None:
    """The issue's targets, checked on the cells that were measured."""
    checks: list[tuple[str, list[bool]]] = []

    def collect(
        name: str, keep: Callable[[dict[str, object]], bool], test: Callable[[dict[str, object]], bool | None]
    ) -> None:
        outcomes = [t for t in (test(c) for c in results if keep(c)) if t is not None]
        checks.append((name, outcomes))

    def le(a: str, b: str, bound: float) -> Callable[[dict[str, object]], bool | None]:
        return lambda c: None if _ratio(c, a, b) is None else _ratio(c, a, b) <= bound  # type: ignore[operator]

    big = lambda c: int(c["n"]) >= 4096 and int(c["d"]) >= 512  # type: ignore[call-overload]  # noqa: E731
    collect("N >= 4096, D >= 512: thomson <= 1.2x floor", big, le("thomson_s", "floor_s", 1.2))
    collect("D = 27: thomson <= 0.3x reference port", lambda c: c["d"] == 27, le("thomson_s", "ref_s", 0.3))
    collect(
        "N = 16384, D = 512: peak memory <= 1/10 of the reference port's",
        lambda c: c["n"] == 16384 and c["d"] == 512,
        le("thomson_mb", "ref_mb", 0.1),
    )
    collect(
        "N = 65536, D = 512: exact forward+backward under 2 GB above the input",
        lambda c: c["n"] == 65536 and c["d"] == 512,
        lambda c: None if not isinstance(c.get("thomson_mb"), float) else float(c["thomson_mb"]) < 2 * 2**30,  # type: ignore[arg-type]
    )
    print("\nTargets:")
    for name, outcomes in checks:
        verdict = "not measured" if not outcomes else ("met" if all(outcomes) else f"MISSED in {outcomes.count(False)}")
        print(f"- {name}: {verdict} ({len(outcomes)} cells)")


if __name__ == "__main__":
    main()
