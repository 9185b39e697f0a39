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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, required=True, help="number of points")
    parser.add_argument("--dim", type=int, default=3, help="dimension of the ambient space (default 3: S²)")
    parser.add_argument("--s", type=float, default=None, help="Riesz exponent for --objective riesz (default 1)")
    parser.add_argument("--objective", choices=OBJECTIVES, default="riesz", help="what to optimize (default riesz)")
    parser.add_argument("--restarts", type=int, default=10, help="starts besides the symmetric one (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random starts (default 0)")
    parser.add_argument("--hop", type=float, default=0.25, help="first basin-hopping step; 0: random restarts only")
    parser.add_argument("--time-limit", type=float, default=None, help="begin no new start after this many seconds")
    parser.add_argument("--no-symmetric", action="store_true", help="do not start from a symmetric configuration")
    parser.add_argument("--json", action="store_true", help="print one JSON object (with the points)")
    parser.add_argument("--plot", metavar="PNG", help="draw the configuration and the value per iteration")
    parser.add_argument("--save", metavar="PATH", help="write the points: .npy, .csv/.txt, or a torch .pt file")


def run(args: argparse.Namespace) -> int:
    progress = None
    if not args.json and sys.stderr.isatty():

        def progress(index: int, value: float) -> None:
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
            callback=progress,
        )
    except (ValueError, ImportError) as err:
        print(f"thomson solve: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(_as_json(result)))
    else:
        print(_summary(result))
    if args.save:
        _save(result, Path(args.save))
    if args.plot:
        try:
            plot_solution(result, Path(args.plot))
        except ImportError as err:
            print(f"thomson solve: error: {err}", file=sys.stderr)
            return 2
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
        f"time        {result.seconds:.2f} s",
    ]
    return "\n".join(lines)


def _as_json(result: SolveResult) -> dict[str, Any]:
    return {
        "n": result.n,
        "dim": result.dim,
        "objective": result.objective,
        "s": result.s,
        "value": result.value,
        "starts": len(result.start_values),
        "hits": result.hits,
        "start_values": list(result.start_values),
        "start_kinds": list(result.start_kinds),
        "best_start": result.best_start,
        "seconds": result.seconds,
        "history": list(result.history),
        "points": result.points.tolist(),
    }


def _save(result: SolveResult, path: Path) -> None:
    points = result.points.numpy()
    if path.suffix == ".npy":
        np.save(path, points)
    elif path.suffix in (".csv", ".txt"):
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
    fig.savefig(path, dpi=120)
