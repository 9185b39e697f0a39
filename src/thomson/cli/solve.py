"""``thomson solve``: N points on the sphere minimizing an energy, or best separated or covering it."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from thomson._optional import figure
from thomson.solve import OBJECTIVES, SolveResult, solve
from thomson.solve.limits import parse_bytes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, required=True, help="number of points")
    parser.add_argument("--dim", type=int, default=3, help="dimension of the ambient space (default 3: S²)")
    parser.add_argument("--s", type=float, default=None, help="Riesz exponent for --objective riesz (default 1)")
    parser.add_argument("--objective", choices=OBJECTIVES, default="riesz", help="what to optimize (default riesz)")
    parser.add_argument("--restarts", type=int, default=10, help="starts besides the symmetric one (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random starts (default 0)")
    parser.add_argument("--hop", type=float, default=0.25, help="first basin-hopping step; 0: random restarts only")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="stop after this many seconds with the best configuration so far (checked at every iteration)",
    )
    parser.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="memory the solve may use, e.g. 8G or none (default: what the machine has available); a solve whose "
        "estimate exceeds it is refused before anything is allocated",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--no-symmetric", action="store_true", help="do not start from a symmetric configuration")
    parser.add_argument("--json", action="store_true", help="print one JSON object (with the points)")
    parser.add_argument("--plot", metavar="PNG", help="draw the configuration and the value per iteration")
    parser.add_argument("--save", metavar="PATH", help="write the points: .npy, .csv/.txt, or a torch .pt file")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of --save and --plot if they exist")


SAVE_FORMATS = (".npy", ".csv", ".txt", ".pt", ".pth")
PLOT_FORMATS = (".png", ".pdf", ".svg")


def _error(message: str) -> int:
    print(f"thomson solve: error: {message}", file=sys.stderr)
    return 2


def _say(line: str) -> None:
    print(f"thomson solve: {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    for flag, value, formats in (("--save", args.save, SAVE_FORMATS), ("--plot", args.plot, PLOT_FORMATS)):
        if value is not None and Path(value).suffix.lower() not in formats:
            return _error(f"{flag} {value}: unknown file type; use one of {', '.join(formats)}")
        if value is not None and Path(value).exists() and not args.overwrite:
            return _error(f"{flag} {value} exists: choose another file, or replace it with --overwrite")
    try:
        memory_limit = None if args.memory_limit is None else parse_bytes(args.memory_limit)
    except ValueError as err:
        return _error(f"--memory-limit: {err}")
    per_start = None
    if not args.json and sys.stderr.isatty():

        def per_start(index: int, value: float) -> None:
            print(f"  start {index}: {value!r}", file=sys.stderr)

    try:
        result = solve(
            args.n,
            args.dim,
            args.s,
            objective=args.objective,
            restarts=args.restarts,
            seed=args.seed,
            symmetric=not args.no_symmetric,
            hop=args.hop,
            time_limit=args.time_limit,
            callback=per_start,
            memory_limit=memory_limit,
            progress=None if args.quiet else _say,
        )
    except (ValueError, ImportError) as err:
        return _error(str(err))
    if args.json:
        print(json.dumps(_as_json(result)))
    else:
        print(_summary(result))
    try:
        if args.save:
            _save(result, Path(args.save))
        if args.plot:
            plot_solution(result, Path(args.plot))
    except (ImportError, OSError) as err:
        return _error(str(err))
    return 0


def _describe(result: SolveResult) -> str:
    names = {
        "riesz": f"Riesz s={result.s!r} energy",
        "log": "log energy",
        "separation": "minimum angle (degrees)",
        "covering": "covering radius (degrees)",
    }
    return names[result.objective]


def _summary(result: SolveResult) -> str:
    lines = [
        f"{_describe(result)} of {result.n} points on S^{result.dim - 1}",
        f"value       {result.value!r}",
        f"starts      {len(result.start_values)} ({result.hits} reached the value; best: start {result.best_start},"
        f" {result.start_kinds[result.best_start]})",
        f"iterations  {len(result.history) - 1} (best start)",
        f"time        {result.seconds:.2f} s" + (" (stopped by the time limit)" if result.timed_out else ""),
    ]
    return "\n".join(lines)


def _as_json(result: SolveResult) -> dict[str, Any]:
    return {
        "n": result.n,
        "dim": result.dim,
        "objective": result.objective,
        "s": result.s,
        "value": result.value if math.isfinite(result.value) else None,
        "starts": len(result.start_values),
        "hits": result.hits,
        "start_values": list(result.start_values),
        "start_kinds": list(result.start_kinds),
        "best_start": result.best_start,
        "seconds": result.seconds,
        "timed_out": result.timed_out,
        "history": list(result.history),
        "points": result.points.tolist(),
    }


def _save(result: SolveResult, path: Path) -> None:
    """Write the points to ``path`` (its folder is created), in the format its suffix names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    points = result.points.numpy()
    if path.suffix.lower() == ".npy":
        np.save(path, points)
    elif path.suffix.lower() in (".csv", ".txt"):
        np.savetxt(path, points, fmt="%.17g", delimiter=",")
    else:
        torch.save(result.points, path)


def plot_solution(result: SolveResult, path: Path) -> None:
    """Draw ``result``: the points on the sphere (D = 3) or a histogram of pairwise angles, and the value per
    iteration of the best start; write a PNG (matplotlib, its own Agg canvas)."""
    fig = figure(11, 4.8, purpose="--plot")
    points = result.points.numpy()
    if result.dim == 3:
        ax = fig.add_subplot(1, 2, 1, projection="3d")
        u, v = np.mgrid[0 : 2 * math.pi : 40j, 0 : math.pi : 20j]
        ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", linewidth=0.4)
        ax.scatter(points[:, 0], points[:, 1], points[:, 2], s=max(4.0, 400.0 / math.sqrt(result.n)), depthshade=True)
        ax.set_box_aspect((1, 1, 1))
        ax.set_axis_off()
    else:
        ax = fig.add_subplot(1, 2, 1)
        gram = np.clip(points @ points.T, -1.0, 1.0)
        angles = np.degrees(np.arccos(gram[np.triu_indices(result.n, 1)]))
        ax.hist(angles, bins=min(90, max(10, len(angles) // 5)), color="C0")
        ax.set_xlabel("pairwise angle (degrees)")
        ax.set_ylabel("pairs")
    ax.set_title(f"{result.n} points on S^{result.dim - 1}")
    ax2 = fig.add_subplot(1, 2, 2)
    history = np.asarray(result.history)
    ax2.plot(np.arange(len(history)), history, color="C1")
    ax2.set_xlabel("iteration (best start)")
    ax2.set_ylabel(_describe(result))
    ax2.set_title(f"value {result.value!r}")
    gap = np.abs(history - result.value)
    if (gap[:-1] > 0).any():
        twin = ax2.twinx()
        twin.semilogy(np.arange(len(history) - 1), np.maximum(gap[:-1], 1e-16), color="C2", linewidth=0.8)
        twin.set_ylabel("|value − final|", color="C2")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
