"""Forward+backward time of the MHE energy at every size, from a 10-neuron layer to 65536 rows: thomson against the
naive port and the matmul floor, and whole models' regularizers against a naive loop over their layers.

For N rows of dimension D, full and half space, s = 2 with the reference constants (``reference=True``):

* ``naive``: the straightforward port of the reference formula (``reference_port.py``: the N×N, or 2N×2N,
  matrices under autograd), the baseline;
* ``thomson``: ``thomson.hyperspherical_energy(..., reference=True)``, automatic backend;
* ``floor``: the two N×N×D matrix products any exact method needs (``torch.mm``: C = X Xᵀ, then C X).

Whole models (CNN-9, the MNIST-1D CNN, ResNet-20): ``thomson.Regularizer(model, MHE(s=2, half_space=True,
reference=True))()`` forward+backward against the naive loop ``reference_regularizer`` (the same layers, the last
``Linear`` as the classifier with coefficient 10, full space), and the sum of the layers' floors.

Every method of a cell runs in this one process, interleaved round by round (a shared machine's drifts hit them
alike); a round times a block of calls long enough for the clock (about 5 ms). Printed: the median time per call,
and the median over rounds of the ratio within a round. Cells are skipped (``-``) when the naive port would need
more than ``--max-memory-gb`` or a call of a method is estimated above ``--max-seconds``.

    python benchmarks/bench_sizes.py                  # N from 10 to 65536 (long on 2 cores: the large cells)
    python benchmarks/bench_sizes.py --quick          # N up to 1024, and the models
    python benchmarks/bench_sizes.py --device cuda
    python benchmarks/bench_sizes.py --src /path/to/other/checkout/src   # another version of thomson, same sweep
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch
from reference_port import reference_mhe, reference_regularizer
from timing import add_timing_options, apply_timing_options
from torch import nn

SIZES = (
    (10, 125),
    (10, 27),
    (25, 75),
    (64, 27),
    (128, 128),
    (256, 2304),
    (1024, 512),
    (4096, 512),
    (16384, 512),
    (65536, 512),
)
QUICK_MAX_N = 1024


def rows(n: int, d: int, device: torch.device) -> torch.Tensor:
    g = torch.Generator(device=device).manual_seed(0)
    return torch.randn(n, d, device=device, generator=g).mul_((2.0 / d) ** 0.5).requires_grad_()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


CLOCK = [time.perf_counter]


def measure(
    runs: dict[str, Callable[[], None]], device: torch.device, rounds: int, block_s: float = 5e-3
) -> dict[str, list[float]]:
    """Seconds per call of each run, one value per round, the runs interleaved within each round."""
    reps: dict[str, int] = {}
    for name, run in runs.items():  # warm-up, and the number of calls in a block
        run()
        sync(device)
        start = CLOCK[0]()
        run()
        sync(device)
        reps[name] = max(1, min(1000, int(block_s / max(CLOCK[0]() - start, 1e-7))))
    out: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            sync(device)
            start = CLOCK[0]()
            for _ in range(reps[name]):
                run()
            sync(device)
            out[name].append((CLOCK[0]() - start) / reps[name])
    return out


def ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))


def floor_run(x: torch.Tensor) -> Callable[[], None]:
    x = x.detach()

    def floor() -> None:
        torch.mm(torch.mm(x, x.T), x)

    return floor


def _all(runs: list[Callable[[], None]]) -> None:
    for run in runs:
        run()


def sweep(args: argparse.Namespace, device: torch.device) -> None:
    import thomson

    print("| N × D | space | naive µs | thomson µs | floor µs | thomson / naive | thomson / floor |")
    print("|---|---|--:|--:|--:|--:|--:|")
    last: dict[tuple[bool, str], tuple[int, float]] = {}  # (space, method) → (N²D, seconds per call) last measured
    for n, d in SIZES:
        if args.quick and n > QUICK_MAX_N:
            continue
        for half in (False, True):
            w = rows(n, d, device)
            candidates: dict[str, Callable[[], None]] = {
                "naive": lambda w=w, half=half: reference_mhe(w, "2", half).backward(),
                "thomson": lambda w=w, half=half: thomson.hyperspherical_energy(
                    w, 2, half_space=half, reference=True
                ).backward(),
                "floor": floor_run(w),
            }
            naive_bytes = 12 * (2 * n if half else n) ** 2 * w.element_size()
            runs: dict[str, Callable[[], None]] = {}
            for name, run in candidates.items():
                work, seconds = last.get((half, name), (n * n * d, 0.0))
                if seconds * n * n * d / work > args.max_seconds:  # O(N²D) time: skipped, and every larger N too
                    last[(half, name)] = (work, float("inf"))
                elif name != "naive" or naive_bytes <= args.max_memory_gb * 2**30:
                    runs[name] = run
            if not runs:
                print(f"| {n} × {d} | {'half' if half else 'full'} | - | - | - | - | - |")
                continue
            rounds = args.rounds if n <= 1024 else max(3, args.rounds // 4)
            times = measure(runs, device, rounds)
            for name, t in times.items():
                last[(half, name)] = (n * n * d, statistics.median(t))
            cell = {k: f"{statistics.median(v) * 1e6:.0f}" for k, v in times.items()}
            tn = f"{ratio(times, 'thomson', 'naive'):.2f}×" if {"thomson", "naive"} <= runs.keys() else "-"
            tf = f"{ratio(times, 'thomson', 'floor'):.2f}×" if {"thomson", "floor"} <= runs.keys() else "-"
            print(
                f"| {n} × {d} | {'half' if half else 'full'} | {cell.get('naive', '-')} | {cell.get('thomson', '-')} "
                f"| {cell.get('floor', '-')} | {tn} | {tf} |",
                flush=True,
            )


def models(args: argparse.Namespace, device: torch.device) -> None:
    import thomson

    built = {
        "CNN-9 (11 layers)": lambda: thomson.models.CNN9(num_classes=100),
        "MNIST-1D CNN (4 layers)": lambda: thomson.models.CNN1D(),
        "ResNet-20 (20 layers)": lambda: thomson.models.ResNet(20),
    }
    print("\n| model | naive loop ms | thomson ms | floor ms | thomson / naive | thomson / floor |")
    print("|---|--:|--:|--:|--:|--:|")
    for name, build in built.items():
        torch.manual_seed(0)
        model = build().to(device)
        reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True, reference=True)).to(device)
        weights = [layer.weight for layer in model.modules() if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Linear))]
        floors = [floor_run(w.flatten(1)) for w in weights]
        runs: dict[str, Callable[[], None]] = {
            "naive": lambda model=model: reference_regularizer(model, half_space=True).backward(),
            "thomson": lambda reg=reg: reg().backward(),
            "floor": lambda floors=floors: _all(floors),
        }
        times = measure(runs, device, args.rounds)
        ms = {k: f"{statistics.median(v) * 1e3:.2f}" for k, v in times.items()}
        print(
            f"| {name} | {ms['naive']} | {ms['thomson']} | {ms['floor']} | {ratio(times, 'thomson', 'naive'):.2f}× "
            f"| {ratio(times, 'thomson', 'floor'):.2f}× |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=15)
    add_timing_options(parser)
    parser.add_argument("--quick", action="store_true", help=f"N up to {QUICK_MAX_N}, and the models")
    parser.add_argument("--no-models", action="store_true", help="the sweep only")
    parser.add_argument("--max-memory-gb", type=float, default=4.0)
    parser.add_argument("--max-seconds", type=float, default=10.0, help="per call, estimated from the last N")
    parser.add_argument("--src", default=None, help="import thomson from this source folder (a before/after run)")
    args = parser.parse_args()
    if args.src:
        sys.path.insert(0, args.src)
    CLOCK[0] = apply_timing_options(args)
    import thomson

    device = torch.device(args.device)
    print(
        f"thomson from {thomson.__file__.rsplit('/thomson/', 1)[0]}, torch {torch.__version__}, {device}, "
        f"{torch.get_num_threads()} threads, {args.clock} clock, float32, forward+backward, {args.rounds} rounds"
    )
    sweep(args, device)
    if not args.no_models:
        models(args, device)


if __name__ == "__main__":
    main()
