"""The comparison report: per-regularizer statistics over seeds, the terminal table, results.csv and results.json."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from thomson import _deprecation, _table
from thomson.train.stats import Interval, mean_interval


@dataclass(frozen=True)
class Cell:
    """One finished run of the grid: a regularizer (``label``) with one seed, and its ``summary.json``."""

    label: str
    reg: str
    options: dict[str, Any]
    seed: int
    summary: dict[str, Any]
    curve: list[tuple[int, dict[str, float]]] = field(default_factory=list)  # (step, per-layer energy) at evals


@dataclass(frozen=True)
class Row:
    """One regularizer over its seeds: accuracy interval, paired difference to the baseline, mean energies."""

    label: str
    reg: str
    options: dict[str, Any]
    seeds: list[int]
    accuracies: list[float]
    accuracy: Interval
    difference: Interval | None  # None for the baseline itself
    energy_final: dict[str, float]
    wall_time: float


@dataclass(frozen=True)
class Comparison:
    """Everything the table, the files and the plots show."""

    rows: list[Row]
    baseline: str
    layers: list[str]
    energy_init: dict[str, float]
    energy_bound: dict[str, float]
    sizes: dict[str, list[int]]
    cells: list[Cell]
    config: dict[str, Any]
    confidence: float = 0.95


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else float("nan")


def summarize(cells: Sequence[Cell], baseline: str, config: dict[str, Any], confidence: float = 0.95) -> Comparison:
    """Group ``cells`` by regularizer (in order of first appearance) into rows with statistics over seeds.

    The difference to ``baseline`` is paired: for each seed both ran with, the regularizer's accuracy minus
    the baseline's; its mean and t-interval are those of these differences.
    """
    labels = list(dict.fromkeys(c.label for c in cells))
    if baseline not in labels:
        raise ValueError(f"baseline {baseline!r} is not in the grid {labels}")
    by_label = {label: sorted((c for c in cells if c.label == label), key=lambda c: c.seed) for label in labels}
    base_acc = {c.seed: c.summary["test_acc"] for c in by_label[baseline]}
    layers = list(cells[0].summary["energy_final"])
    rows = []
    for label, group in by_label.items():
        accuracies = [c.summary["test_acc"] for c in group]
        paired = [c.summary["test_acc"] - base_acc[c.seed] for c in group if c.seed in base_acc]
        rows.append(
            Row(
                label=label,
                reg=group[0].reg,
                options=group[0].options,
                seeds=[c.seed for c in group],
                accuracies=accuracies,
                accuracy=mean_interval(accuracies, confidence),
                difference=None if label == baseline else mean_interval(paired, confidence),
                energy_final={k: _mean([c.summary["energy_final"][k] for c in group]) for k in layers},
                wall_time=_mean([c.summary["wall_time"] for c in group]),
            )
        )
    first = cells[0].summary
    return Comparison(
        rows=rows,
        baseline=baseline,
        layers=layers,
        energy_init={k: _mean([c.summary["energy_init"][k] for c in cells]) for k in layers},
        energy_bound=first["energy_bound"],
        sizes=first["sizes"],
        cells=list(cells),
        config=config,
        confidence=confidence,
    )


def _pct(x: float, signed: bool = False) -> str:
    return "—" if math.isnan(x) else f"{100 * x:+.2f}" if signed else f"{100 * x:.2f}"


def _short(layer: str) -> str:
    return layer.removesuffix(".weight")


def format_comparison(comparison: Comparison) -> str:
    """The terminal report: accuracy table, then final per-layer energies with their init values and bounds.

    Accuracies in %, ``mean ± std`` over seeds, the t-interval of the mean, and the paired difference to the
    baseline (mean [interval]); energies are the full-space s = 2 MHE of each layer, mean over seeds.
    """
    level = f"{100 * comparison.confidence:g}%"
    n_seeds = max(len(r.seeds) for r in comparison.rows)
    c = comparison.config
    header = (
        f"{c['data']} · {c['model']} · {c['steps']} steps · {n_seeds} seed{'s' * (n_seeds != 1)} · test accuracy (%) · "
        f"{level} t-intervals · Δ = paired difference to {comparison.baseline!r} (same seeds)"
    )
    width = max(11, *(len(r.label) for r in comparison.rows))
    accuracy = [("regularizer", "accuracy", f"{level} interval", f"Δ {level}", "time/run")]
    for r in comparison.rows:
        acc = f"{_pct(r.accuracy.mean)} ± {_pct(r.accuracy.std)}"
        interval = f"[{_pct(r.accuracy.low)}, {_pct(r.accuracy.high)}]"
        if r.difference is None:
            diff = "(baseline)"
        else:
            d = r.difference
            diff = f"{_pct(d.mean, True)} [{_pct(d.low, True)}, {_pct(d.high, True)}]"
        accuracy.append((r.label, acc, interval, diff, f"{r.wall_time:.1f}s"))
    layers = comparison.layers
    energy = [
        ("", *(_short(k) for k in layers)),
        ("(N×D)", *(f"{comparison.sizes[k][0]}×{comparison.sizes[k][1]}" for k in layers)),
    ]
    energy.append(("at init", *(f"{comparison.energy_init[k]:.4f}" for k in layers)))
    energy += [(r.label, *(f"{r.energy_final[k]:.4f}" for k in layers)) for r in comparison.rows]
    energy.append(("simplex bound", *(f"{comparison.energy_bound[k]:.4f}" for k in layers)))
    col = max(9, *(len(cell) for row in energy[:2] for cell in row[1:]))
    return "\n".join(
        [
            header,
            "",
            _table.format_table(accuracy, right={1, 2, 3, 4}, widths=(width, 14, 16, 24, 8)),
            "",
            "final hyperspherical energy per layer (full-space s=2 MHE, mean over seeds; lower = more uniform)",
            _table.format_table(energy, right=range(1, len(layers) + 1), widths=(width, *[col] * len(layers))),
        ]
    )


def format_table(comparison: Comparison) -> str:
    """Deprecated name of :func:`format_comparison`."""
    _deprecation.warn("thomson.train.report.format_table is format_comparison")
    return format_comparison(comparison)


RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"


def write_results(comparison: Comparison, folder: str | Path) -> None:
    """``results.csv`` (one line per run) and ``results.json`` (rows with statistics, cells, config)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    layers = comparison.layers
    with (folder / RESULTS_CSV).open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["regularizer", "reg", "options", "seed", "test_acc", "test_loss", "wall_time"]
            + [f"energy_init/{k}" for k in layers]
            + [f"energy_final/{k}" for k in layers]
        )
        for cell in comparison.cells:
            s = cell.summary
            writer.writerow(
                [
                    cell.label,
                    cell.reg,
                    json.dumps(cell.options),
                    cell.seed,
                    s["test_acc"],
                    s["test_loss"],
                    s["wall_time"],
                ]
                + [s["energy_init"][k] for k in layers]
                + [s["energy_final"][k] for k in layers]
            )
    rows = []
    for r in comparison.rows:
        row = asdict(r)
        row["accuracy"], row["difference"] = asdict(r.accuracy), asdict(r.difference) if r.difference else None
        rows.append(row)
    document = {
        "baseline": comparison.baseline,
        "confidence": comparison.confidence,
        "config": comparison.config,
        "layers": layers,
        "sizes": comparison.sizes,
        "energy_init": comparison.energy_init,
        "energy_bound": comparison.energy_bound,
        "rows": rows,
        "cells": [{"label": c.label, "seed": c.seed, **c.summary} for c in comparison.cells],
    }
    (folder / RESULTS_JSON).write_text(json.dumps(_nan_to_none(document), indent=1) + "\n")


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
