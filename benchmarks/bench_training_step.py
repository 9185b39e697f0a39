"""Training-step overhead of each regularizer: CNN9, batch 128, random 32×32×3 inputs.

For each regularizer, the time of one SGD step (forward, cross-entropy + regularizer, backward, update) divided
by the time of the same step without a regularizer. All variants run in this one process, interleaved round by
round (so slow drifts of a shared machine hit them alike); each ratio is the median over rounds of the ratio
within a round. Also printed: the regularizer's own forward+backward time. The baseline "reference port" is the
straightforward port of the reference formula (``reference_port.py``: 2N×2N matrices under autograd). Minor
page faults per step are printed too: on Linux, glibc hands large freed blocks back to the system, and the
faults of taking them back can cost more than the regularizer's arithmetic (see the note printed at the end).

    python benchmarks/bench_training_step.py                 # CPU, 10 rounds
    python benchmarks/bench_training_step.py --quick         # 3 rounds, batch 32
    python benchmarks/bench_training_step.py --device cuda
    python benchmarks/bench_training_step.py --compile none  # eager only (compiling takes minutes on a CPU)

Objectives written in parallel (CoMHE, MHS, MGD) are measured when ``thomson`` has them. Each thomson regularizer
is also measured compiled (``torch.compile(reg, fullgraph=True)``, backend ``--compile``; the model stays eager),
in the rows marked "compiled"; one that does not compile whole is reported and skipped.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable

import torch
from reference_port import reference_regularizer
from timing import add_timing_options, apply_timing_options
from torch import nn

import thomson


def regularizers(model: nn.Module) -> dict[str, Callable[[], torch.Tensor] | None]:
    """Name → the loss term to add (None: no regularizer). Missing or incompatible objectives are skipped."""
    out: dict[str, Callable[[], torch.Tensor] | None] = {"none": None}
    out["thomson MHE half s=2"] = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True, reference=True))
    out["reference port MHE half s=2"] = lambda: reference_regularizer(model, half_space=True)
    candidates = {
        "thomson CoMHE random (40, 20)": ("CoMHE", {"projection": "random", "dim": 40, "num_projections": 20}),
        "thomson MHS": ("MHS", {}),
        "thomson MGD": ("MGD", {}),
    }
    for name, (cls, kwargs) in candidates.items():
        if not hasattr(thomson, cls):
            print(f"# {name}: thomson.{cls} not available in this build, skipped")
            continue
        try:
            out[name] = thomson.Regularizer(model, getattr(thomson, cls)(**kwargs))
        except (TypeError, ValueError) as error:
            print(f"# {name}: could not construct thomson.{cls}(**{kwargs}): {error}")
    return out


def compiled(reg: thomson.Regularizer, backend: str, name: str) -> Callable[[], torch.Tensor] | None:
    """``reg`` compiled whole (sharing its state: step counter, random stream), or None when it does not compile."""
    run = torch.compile(reg, backend=backend, fullgraph=True)
    try:
        start = time.perf_counter()
        run().backward()
        print(f"# {name}: compiled with {backend} in {time.perf_counter() - start:.0f} s")
    except Exception as error:
        print(f"# {name}: does not compile with fullgraph=True ({type(error).__name__}: {str(error)[:200]})")
        return None
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=10)
    add_timing_options(parser)
    parser.add_argument(
        "--compile",
        choices=("inductor", "aot_eager", "none"),
        default="inductor",
        help="torch.compile backend of the compiled rows, or none (default inductor)",
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds at batch 32")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.batch = 3, 32
    clock = apply_timing_options(args)
    device = torch.device(args.device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    torch.manual_seed(0)
    model = thomson.models.CNN9(num_classes=100).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    x = torch.randn(args.batch, 3, 32, 32, device=device)
    y = torch.randint(0, 100, (args.batch,), device=device)
    variants = regularizers(model)
    for reg in variants.values():
        if isinstance(reg, nn.Module):
            reg.to(device)
    if args.compile != "none":
        for name, reg in list(variants.items()):
            if isinstance(reg, thomson.Regularizer):
                variants[f"{name} compiled"] = compiled(reg, args.compile, name)
        variants = {name: reg for name, reg in variants.items() if name == "none" or reg is not None}

    def step(reg: Callable[[], torch.Tensor] | None) -> float:
        sync()
        start = clock()
        faults[0] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), y)
        if reg is not None:
            loss = loss + reg()
        loss.backward()
        optimizer.step()
        sync()
        elapsed = clock() - start
        faults[0] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults[0]
        return elapsed

    def alone(reg: Callable[[], torch.Tensor]) -> float:
        sync()
        start = clock()
        reg().backward()
        sync()
        return clock() - start

    faults = [0]
    for reg in variants.values():  # warm-up: allocator, lazily created state, first-call costs
        step(reg)
    times: dict[str, list[float]] = {name: [] for name in variants}
    step_faults: dict[str, list[int]] = {name: [] for name in variants}
    reg_times: dict[str, list[float]] = {name: [] for name in variants if variants[name] is not None}
    for _ in range(args.rounds):
        for name, reg in variants.items():
            times[name].append(step(reg))
            step_faults[name].append(faults[0])
            if reg is not None:
                reg_times[name].append(alone(reg))
        optimizer.zero_grad(set_to_none=True)

    base = times["none"]
    print(
        f"CNN9, batch {args.batch}, 32×32×3, {device}, {torch.get_num_threads()} threads, {args.clock} clock, "
        f"{args.rounds} rounds "
        f"(median step without regularizer: {statistics.median(base) * 1e3:.0f} ms)"
    )
    print(f"| {'regularizer':40} | step ms | ratio to none | regularizer fwd+bwd ms | page faults/step |")
    print(f"|{'-' * 42}|--------:|--------------:|-----------------------:|-----------------:|")
    for name, ts in times.items():
        ratio = statistics.median(t / b for t, b in zip(ts, base, strict=True))
        alone_ms = f"{statistics.median(reg_times[name]) * 1e3:.1f}" if name in reg_times else "-"
        pf = statistics.median(step_faults[name])
        print(f"| {name:40} | {statistics.median(ts) * 1e3:7.0f} | {ratio:13.3f} | {alone_ms:>22} | {pf:16.0f} |")
    print(
        "\nPage faults are memory the allocator took fresh from the system during the step. glibc returns large "
        "blocks\nto the system and faults them back in; to measure without that churn, run with PyTorch's "
        "THP_MEM_ALLOC_ENABLE=1\n(huge pages for large tensors) or MALLOC_MMAP_THRESHOLD_=4294967296 "
        "MALLOC_TRIM_THRESHOLD_=17179869184."
    )


if __name__ == "__main__":
    main()
