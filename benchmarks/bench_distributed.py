"""The exact energy of rows sharded over P processes (``thomson.distributed``) against the single-process engine.

For N rows of dimension D (float32, s = 2, forward + backward), in fresh processes started by this script:

* ``engine``: ``thomson.hyperspherical_energy`` on all N rows in one process (no process group), the baseline;
* ``ring P``: ``thomson.distributed.hyperspherical_energy`` with N/P rows on each of P processes (gloo on the CPU,
  or NCCL with ``--backend nccl --device cuda``, one GPU per rank).

Per method: the median wall time of one step (the slowest rank's, between barriers) and CPU time (the busiest
rank's, gloo's threads included; steadier than the wall time on a shared machine), their ratios to the engine's,
the ideal ratio (the arithmetic of the busiest rank over the engine's), the peak memory per rank above the input
on the first call (CPU: the resident set's high-water mark, reset just before; CUDA: ``max_memory_allocated``),
and the bytes each rank hands to ``torch.distributed`` per step, counted by wrapping its functions:
point-to-point (row and gradient blocks; the ring sends ``P - 1`` blocks of about ``N/P × D``) and collective
payloads (sizes, the value, the estimator's sampled rows; an all-reduce moves about twice its payload).

Two more measurements:

* ``send back vs recompute``: the ring's owner of a block pair computes both sides' gradients and sends the
  partner's back (three block products); the alternative has both ranks compute the pair, each for its own side
  (two products each). Same bytes either way (one block of gradients instead of a second block of rows), so the
  ratio of ``off_diagonal_block`` with both gradients to twice the one with one gradient decides: below 1,
  sending back does less arithmetic.
* ``estimate``: ``thomson.distributed.estimate_energy`` (sampled rows) on ``--estimate-n`` rows against
  ``thomson.estimate_energy`` on all of them in one process.

    python benchmarks/bench_distributed.py                       # P = 1, 2 with gloo, 1 thread per process
    python benchmarks/bench_distributed.py --world 1 2 4 8 --backend nccl --device cuda   # on 8 GPUs

The NCCL mode needs one CUDA device per rank; it has not been run on GPUs yet.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import thomson
import thomson.distributed as td
from thomson.distributed.ring import ring_steps
from thomson.engine.streaming import off_diagonal_block, tile_rows
from thomson.kernels import Riesz


class Traffic:
    """Bytes handed to ``torch.distributed`` by this process, counted by wrapping its functions."""

    def __init__(self) -> None:
        self.p2p = 0
        self.collective = 0
        batch = dist.batch_isend_irecv

        def counted_batch(ops: list[dist.P2POp]) -> Any:
            self.p2p += sum(op.tensor.numel() * op.tensor.element_size() for op in ops if op.op is dist.isend)
            return batch(ops)

        dist.batch_isend_irecv = counted_batch  # type: ignore[assignment]
        for name in ("all_reduce", "all_gather", "broadcast"):
            setattr(dist, name, self._collective(getattr(dist, name)))

    def _collective(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            tensor = args[1] if fn.__name__ == "all_gather" else args[0]
            self.collective += tensor.numel() * tensor.element_size()
            return fn(*args, **kwargs)

        return counted


def rows(n: int, d: int, device: torch.device, seed: int) -> torch.Tensor:
    """``n`` random rows made on ``device``, as a leaf that requires grad (each rank makes only its own)."""
    g = torch.Generator(device=device).manual_seed(seed)
    return torch.randn(n, d, generator=g, device=device).requires_grad_()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def peak_bytes(run: Callable[[], None], device: torch.device) -> int:
    """Peak memory of one ``run()`` above what was allocated before it."""
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        run()
        sync(device)
        return torch.cuda.max_memory_allocated(device) - before
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak resident set size (Linux >= 4.0)
    before = _status_kb("VmRSS")
    run()
    return (_status_kb("VmHWM") - before) * 1024


def step(method: str, w: torch.Tensor, args: argparse.Namespace, group: bool) -> Callable[[], None]:
    half = args.half_space
    if method == "exact":
        fn = td.hyperspherical_energy if group else thomson.hyperspherical_energy
        return lambda: fn(w, 2.0, half_space=half).backward()  # type: ignore[operator]

    def estimate() -> None:
        generator = torch.Generator(device=w.device).manual_seed(1)
        kwargs = {"samples": args.samples, "half_space": half, "generator": generator}
        est = td.estimate_energy(w, **kwargs) if group else thomson.estimate_energy(w, **kwargs)  # type: ignore[arg-type]
        est.value.backward()

    return estimate


def worker(rank: int, world: int, method: str, n: int, d: int, args: argparse.Namespace, out: str) -> None:
    """One rank of ``world`` (0: the engine, alone and without a process group): time, peak memory and traffic of
    ``method`` on its share of the ``n`` rows."""
    torch.set_num_threads(args.threads)
    device = torch.device(f"cuda:{rank}" if args.device == "cuda" else args.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    group = world > 0
    if group:
        if sys.platform.startswith("linux") and args.backend == "gloo":
            os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        store = f"file://{Path(out, 'store')}"
        dist.init_process_group(args.backend, init_method=store, rank=rank, world_size=world)
    share = -(-n // max(world, 1))  # the last rank may hold fewer rows
    w = rows(min(share, n - rank * share), d, device, seed=rank)
    run = step(method, w, args, group)
    peak = peak_bytes(run, device)  # the first call: every buffer is new (later calls reuse freed memory)
    times, cpu = [], []
    for _ in range(args.repeats):
        if group:
            dist.barrier()
        sync(device)
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        sync(device)
        elapsed = torch.tensor([time.perf_counter() - start], dtype=torch.float64, device=device)
        cpu.append(time.process_time() - start_cpu)
        if group:
            dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)  # the step ends with the slowest rank
        times.append(float(elapsed))
    result = {"time": statistics.median(times), "cpu": statistics.median(cpu), "peak": peak, "p2p": 0, "collective": 0}
    if group:
        traffic = Traffic()
        run()
        result.update(p2p=traffic.p2p, collective=traffic.collective)
    Path(out, f"rank{rank}.json").write_text(json.dumps(result))
    if group:
        dist.destroy_process_group()


def launch(method: str, world: int, n: int, d: int, args: argparse.Namespace) -> list[dict[str, float]]:
    """Every rank's results of ``worker`` on ``world`` fresh processes (one for the engine, ``world = 0``)."""
    with tempfile.TemporaryDirectory() as folder:
        procs = max(world, 1)
        mp.start_processes(worker, (world, method, n, d, args, folder), nprocs=procs, start_method=args.start_method)
        return [json.loads(Path(folder, f"rank{r}.json").read_text()) for r in range(procs)]


def send_back_vs_recompute(n: int, d: int, device: torch.device) -> float:
    """Time of a block pair with both gradients over twice the time with one (blocks of ``n`` rows)."""
    x = torch.nn.functional.normalize(torch.randn(1, n, d, device=device), dim=2)
    y = torch.nn.functional.normalize(torch.randn(1, n, d, device=device), dim=2)
    kernel, tile = Riesz(s=2.0, contraction=1e-6), tile_rows(device, d)

    clock = time.perf_counter if device.type == "cuda" else time.process_time  # CPU: steadier on a shared machine

    def timed(both: bool) -> float:
        runs = []
        for _ in range(5):
            sync(device)
            start = clock()
            off_diagonal_block(x, y, kernel, False, tile, torch.zeros_like(x), torch.zeros_like(y) if both else None)
            sync(device)
            runs.append(clock() - start)
        return min(runs)

    timed(True)  # warm-up
    return timed(True) / (2 * timed(False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", type=int, nargs="+", default=[1, 2], help="process counts P")
    parser.add_argument("--n", type=int, nargs="+", default=[4096, 16384])
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--half-space", action="store_true")
    parser.add_argument("--backend", choices=("gloo", "nccl"), default="gloo")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--estimate-n", type=int, default=1_000_000, help="rows for the estimator (0: skip)")
    parser.add_argument("--estimate-d", type=int, default=64)
    parser.add_argument("--samples", type=int, default=64, help="rows sampled by the estimator")
    args = parser.parse_args()
    if args.backend == "nccl" and args.device != "cuda":
        parser.error("--backend nccl needs --device cuda")
    if args.device == "cuda" and torch.cuda.device_count() < max(args.world):
        parser.error(f"--world {max(args.world)} needs as many CUDA devices, found {torch.cuda.device_count()}")
    args.start_method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    if args.start_method == "forkserver":
        mp.get_context("forkserver").set_forkserver_preload(["torch", "thomson", "thomson.distributed"])
    torch.set_num_threads(args.threads)
    print(
        f"# s=2, {'half' if args.half_space else 'full'} space, float32, forward+backward, {args.backend} on "
        f"{args.device}, {args.threads} thread(s) per process, median of {args.repeats}; "
        f"MB = 10^6 bytes per rank per step"
    )
    print(
        "| method | P | N | D | wall s | wall / engine | CPU s | CPU / engine | ideal | peak MB per rank | p2p MB sent "
        "| (P-1)·N/P·D·4 B | collective MB |"
    )
    print("|---|" + "---:|" * 12)
    cells = [("exact", n, args.d) for n in args.n]
    if args.estimate_n:
        cells.append(("estimate", args.estimate_n, args.estimate_d))
    for method, n, d in cells:
        base = launch(method, 0, n, d, args)[0]
        print(row(f"{method}: engine", 1, n, d, [base], base, None, 1.0), flush=True)
        for world in args.world:
            ranks = launch(method, world, n, d, args)
            expected = (world - 1) * -(-n // world) * d * 4 / 1e6 if method == "exact" else None
            name = "exact: ring" if method == "exact" else "estimate: sharded"
            print(row(name, world, n, d, ranks, base, expected, ideal_ratio(method, world)), flush=True)
    device = torch.device("cuda:0" if args.device == "cuda" else "cpu")
    for n in args.n:
        for world in [w for w in args.world if w > 1]:
            block = -(-n // world)
            ratio = send_back_vs_recompute(block, args.d, device)
            print(
                f"# send back vs recompute, blocks of {block} x {args.d}: 3 products / (2 x 2 products) = {ratio:.2f}"
            )


def row(
    name: str,
    world: int,
    n: int,
    d: int,
    ranks: list[dict[str, float]],
    base: dict[str, float],
    expected: float | None,
    ideal: float,
) -> str:
    """A table row: the step time (the slowest rank's), and the largest memory and traffic over the ranks."""
    t, cpu = ranks[0]["time"], max(r["cpu"] for r in ranks)
    peak, p2p, coll = (max(r[key] for r in ranks) / 1e6 for key in ("peak", "p2p", "collective"))
    exp = "-" if expected is None else f"{expected:.1f}"
    return (
        f"| {name} | {world} | {n} | {d} | {t:.3g} | {t / base['time']:.2f} | {cpu:.3g} | {cpu / base['cpu']:.2f} "
        f"| {ideal:.2f} | {peak:.0f} | {p2p:.1f} | {exp} | {coll:.3f} |"
    )


def ideal_ratio(method: str, world: int) -> float:
    """The time over the engine's if the arithmetic were all there is: for the ring, the block products of one rank
    (1.5 for its diagonal block, 3 per owned pair, 2 per shared pair, in units of (N/P)²D) over the engine's 1.5 P²;
    for the estimator, 1/P."""
    if method != "exact":
        return 1.0 / world
    return (1.5 + sum(2 if s.shared else 3 for s in ring_steps(0, world))) / (1.5 * world * world)


if __name__ == "__main__":
    main()
