"""PNG figures of a comparison (matplotlib, Agg canvas, no global pyplot state)."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from thomson._optional import figure
from thomson.train.report import Comparison

PLOTS = ("accuracy.png", "energy_curves.png", "energy_final.png")
"""The files :func:`plot_comparison` writes."""


def _figure(width: float, height: float) -> Any:
    return figure(width, height, purpose="the comparison's plots", layout="constrained")


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 4)
    return math.ceil(n / cols), cols


def _plot_accuracy(comparison: Comparison, path: str | Path) -> None:
    """Test accuracy per regularizer: each seed as a dot, the mean with its t-interval as an error bar."""
    rows = comparison.rows
    fig = _figure(max(5.0, 1.1 * len(rows) + 1.5), 4.0)
    ax = fig.add_subplot()
    for i, r in enumerate(rows):
        ax.scatter([i] * len(r.accuracies), [100 * a for a in r.accuracies], color="0.6", s=14, zorder=2)
        low, high = r.accuracy.low, r.accuracy.high
        err = [[100 * (r.accuracy.mean - low)], [100 * (high - r.accuracy.mean)]] if not math.isnan(low) else None
        ax.errorbar([i + 0.15], [100 * r.accuracy.mean], yerr=err, fmt="o", color="C0", capsize=4, zorder=3)
    base = next(r for r in rows if r.label == comparison.baseline)
    ax.axhline(100 * base.accuracy.mean, color="C3", linestyle="--", linewidth=1, label=f"{base.label} (mean)")
    ax.set_xticks(range(len(rows)), [r.label for r in rows], rotation=30, ha="right")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"mean and {100 * comparison.confidence:g}% t-interval over seeds (dots: seeds)")
    ax.legend(loc="lower right", fontsize="small")
    fig.savefig(path, dpi=120)


def _plot_energy_curves(comparison: Comparison, path: str | Path) -> None:
    """Each layer's s = 2 energy during training, one line per regularizer (mean over seeds), and its bound."""
    layers = comparison.layers
    nrows, ncols = _grid(len(layers))
    fig = _figure(3.6 * ncols, 2.9 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for k, layer in enumerate(layers):
        ax = axes[k]
        for i, row in enumerate(comparison.rows):
            by_step: dict[int, list[float]] = defaultdict(list)
            for cell in comparison.cells:
                if cell.label == row.label:
                    for step, energy in cell.curve:
                        by_step[step].append(energy[layer])
            steps = sorted(by_step)
            ax.plot(steps, [sum(by_step[s]) / len(by_step[s]) for s in steps], color=f"C{i % 10}", label=row.label)
        ax.axhline(comparison.energy_bound[layer], color="k", linestyle=":", linewidth=1, label="simplex bound")
        n, d = comparison.sizes[layer]
        ax.set_title(f"{layer.removesuffix('.weight')} ({n}×{d})", fontsize="medium")
        ax.set_xlabel("step")
    for ax in axes[len(layers) :]:
        ax.set_visible(False)
    axes[0].set_ylabel("s=2 energy")
    axes[0].legend(fontsize="x-small")
    fig.savefig(path, dpi=120)


def _plot_final_energy(comparison: Comparison, path: str | Path) -> None:
    """Each layer's final s = 2 energy per regularizer (mean over seeds), against its value at init and the bound."""
    layers, rows = comparison.layers, comparison.rows
    nrows, ncols = _grid(len(layers))
    fig = _figure(3.6 * ncols, 3.2 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for k, layer in enumerate(layers):
        ax = axes[k]
        values = [r.energy_final[layer] for r in rows]
        ax.scatter(range(len(rows)), values, c=[f"C{i % 10}" for i in range(len(rows))], s=36, zorder=3)
        ax.axhline(comparison.energy_init[layer], color="C7", linestyle="--", linewidth=1, label="at init")
        ax.axhline(comparison.energy_bound[layer], color="k", linestyle=":", linewidth=1, label="simplex bound")
        reference = [comparison.energy_init[layer], comparison.energy_bound[layer], *values]
        low, high = min(reference), max(reference)
        pad = 0.1 * (high - low) or 0.01 * abs(high) or 0.01
        ax.set_ylim(low - pad, high + pad)
        ax.set_xticks(range(len(rows)), [r.label for r in rows], rotation=40, ha="right", fontsize="x-small")
        n, d = comparison.sizes[layer]
        ax.set_title(f"{layer.removesuffix('.weight')} ({n}×{d})", fontsize="medium")
    for ax in axes[len(layers) :]:
        ax.set_visible(False)
    axes[0].set_ylabel("final s=2 energy")
    axes[0].legend(fontsize="x-small")
    fig.savefig(path, dpi=120)


def plot_comparison(comparison: Comparison, folder: str | Path) -> list[Path]:
    """Write the three figures of :data:`PLOTS` into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in PLOTS]
    _plot_accuracy(comparison, paths[0])
    _plot_energy_curves(comparison, paths[1])
    _plot_final_energy(comparison, paths[2])
    return paths
