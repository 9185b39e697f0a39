"""``thomson inspect PATH``: per-layer uniformity of a checkpoint, against random directions and the best known;
``thomson inspect --embeddings FILE``: the same report, with Wang & Isola's uniformity and alignment, for a tensor
of embeddings."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from thomson._optional import figure
from thomson._table import format_table
from thomson.embeddings import inspect_embeddings, load_embeddings
from thomson.inspection import MEASURES, SOLVER_LIMIT, LayerReport, inspect_checkpoint

EMBEDDING_OPTIONS = ("pairs", "key", "t", "alpha")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a .pt state_dict, a thomson training checkpoint, or a .safetensors file")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--plot", metavar="PNG", help="draw the table as a figure")
    parser.add_argument(
        "--solver-limit",
        type=int,
        default=SOLVER_LIMIT,
        help=f"solve for best values when N·D is at most this (default {SOLVER_LIMIT}; 0: never)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the solver's starts (default 0)")
    group = parser.add_argument_group("embeddings")
    group.add_argument(
        "--embeddings",
        action="store_true",
        help="PATH holds embeddings [N, D], one per row (.pt tensor or dict of tensors, .npy, .safetensors)",
    )
    group.add_argument("--pairs", metavar="FILE", help="their positives [N, D] (row i pairs with row i): alignment")
    group.add_argument("--key", metavar="NAME", help="the tensor to read when a file holds several")
    group.add_argument("--t", type=float, help="uniformity scale t (default 2)")
    group.add_argument("--alpha", type=float, help="alignment power α (default 2)")


def run(args: argparse.Namespace) -> int:
    stray = [f"--{name}" for name in EMBEDDING_OPTIONS if getattr(args, name) is not None]
    if stray and not args.embeddings:
        print(f"thomson inspect: error: {', '.join(stray)} apply to --embeddings only", file=sys.stderr)
        return 2
    try:
        reports = (
            _embeddings_report(args)
            if args.embeddings
            else inspect_checkpoint(args.path, solver_limit=args.solver_limit, seed=args.seed)
        )
    except (OSError, ValueError, ImportError) as err:
        print(f"thomson inspect: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([_as_json(r) for r in reports]))
    else:
        print(format_reports(reports))
    if args.plot:
        try:
            plot_reports(reports, Path(args.plot))
        except ImportError as err:
            print(f"thomson inspect: error: {err}", file=sys.stderr)
            return 2
    return 0


def _embeddings_report(args: argparse.Namespace) -> list[LayerReport]:
    z = load_embeddings(args.path, args.key)
    pairs = None if args.pairs is None else load_embeddings(args.pairs, args.key)
    report = inspect_embeddings(
        z,
        pairs,
        t=2.0 if args.t is None else args.t,
        alpha=2.0 if args.alpha is None else args.alpha,
        name=Path(args.path).name,
        solver_limit=args.solver_limit,
        seed=args.seed,
    )
    return [report]


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _as_json(report: LayerReport) -> dict[str, Any]:
    """One layer as JSON; ``random`` is null where the expectation is infinite (energy at s >= D - 1), ``value``
    where the measure is undefined for the layer (``note`` says why)."""
    return {
        "layer": report.name,
        "n": report.n,
        "dim": report.dim,
        "note": report.note,
        "measures": {
            key: {
                "value": m.value,
                "random": _finite(m.random),
                "best": m.best,
                "best_source": m.best_source,
                "gap": m.gap,
            }
            for key, m in report.measures.items()
        },
    }


def _cell(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.6g}"


def format_reports(reports: list[LayerReport]) -> str:
    """The report as a text table, one line per layer and measure; gap = (value - best)/(random - best). A layer
    with a note is marked ``[k]`` and the notes follow the table; its undefined measures read ``—``."""
    rows = [("layer", "N", "D", "measure", "value", "random", "best", "gap", "best from")]
    notes: list[str] = []
    for r in reports:
        label = r.name
        if r.note is not None:
            notes.append(f"[{len(notes) + 1}] {r.name}: {r.note}")
            label = f"{r.name} [{len(notes)}]"
        if all(m.value is None for m in r.measures.values()):  # not measured: one line
            rows.append((label, str(r.n), str(r.dim), "—", "—", "—", "—", "—", "—"))
            continue
        for k, (key, m) in enumerate(r.measures.items()):
            first = (label, str(r.n), str(r.dim)) if k == 0 else ("", "", "")
            gap = "—" if m.gap is None else f"{m.gap:.3f}"
            rows.append((*first, key, _cell(m.value), _cell(m.random), _cell(m.best), gap, m.best_source or "—"))
    return "\n".join([format_table(rows, right={1, 2, 4, 5, 6, 7}, rule=True), *notes])


def plot_reports(reports: list[LayerReport], path: Path) -> None:
    """Draw the table as a heat map: a row per layer, a column per measure, coloured by the gap (0 = best known,
    1 = random) and annotated with the value; write a PNG (matplotlib, its own Agg canvas)."""
    keys = list(reports[0].measures) if reports else list(MEASURES)
    fig = figure(2.0 + 1.6 * len(keys), 1.2 + 0.42 * max(len(reports), 1), purpose="--plot")
    ax = fig.add_subplot()
    gaps = np.array([[np.nan if r.measures[k].gap is None else r.measures[k].gap for k in keys] for r in reports])
    image = ax.imshow(np.clip(gaps, 0.0, 1.5), cmap="viridis_r", vmin=0.0, vmax=1.5, aspect="auto")
    for i, r in enumerate(reports):
        for j, key in enumerate(keys):
            dark = bool(gaps[i, j] > 0.5)  # dark cells (gap > 0.5) get white text; light and blank ones black
            value = r.measures[key].value
            text = "—" if value is None else f"{value:.4g}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="w" if dark else "k")
    ax.set_xticks(range(len(keys)), keys)
    ax.set_yticks(range(len(reports)), [f"{r.name} ({r.n}×{r.dim})" for r in reports])
    fig.colorbar(image, ax=ax, label="gap: 0 = best known, 1 = random")
    ax.set_title("uniformity per layer (value in each cell)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
