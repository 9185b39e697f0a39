"""The pre-declared MNIST-1D study (docs/benchmarks/mnist1d.md): run it, time it, and report it.

    python benchmarks/mnist1d_study.py checks        # the unregularized baselines with each recipe → the doc's checks
    python benchmarks/mnist1d_study.py timing        # CPU time per step of every kind of cell → the doc's sizing table
    python benchmarks/mnist1d_study.py run           # every stage in order with thomson compare (resumes when re-run)
    python benchmarks/mnist1d_study.py report        # tables and plots from the runs → docs/benchmarks/

The stages are the config files ``configs/mnist1d-study-*.toml`` (grid, seeds, settings); ``run`` calls
``thomson compare`` once per file, so each stage's folder also holds compare's own table, files and plots.
``report`` reads every run's ``summary.json`` (a run that diverged or is unfinished has none and is counted as
missing), computes the paired differences to ``none`` with t-intervals and paired t-tests, corrects the p-values
with Holm's method within each stage, and pastes the tables between the doc's markers; figures go to
``docs/benchmarks/``. Nothing in the doc's tables is written by hand.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paste_between_markers import paste

from thomson.train import TrainConfig, fit, make_config
from thomson.train.compare import GridEntry, cell_config
from thomson.train.config import read_toml
from thomson.train.stats import Interval, holm, mean_interval, t_test_pvalue

ROOT = Path(__file__).resolve().parents[1]
STAGES = {
    "stage1": "configs/mnist1d-study-stage1.toml",
    "stage2-coef": "configs/mnist1d-study-stage2-coef.toml",
    "stage2-width100": "configs/mnist1d-study-stage2-width100.toml",
    "stage2-train1000": "configs/mnist1d-study-stage2-train1000.toml",
    "stage2-mlp": "configs/mnist1d-study-stage2-mlp.toml",
    "stage2-adam": "configs/mnist1d-study-stage2-adam.toml",
}
"""Every compare invocation of the study, in the order they run; the folder name of each under the results."""

FAMILIES = {"stage 1": ["stage1"], "stage 2": [name for name in STAGES if name.startswith("stage2")]}
"""Holm's correction runs over all comparisons to ``none`` of one family (13 in stage 1, 24 in stage 2)."""

BASELINE = "none"
LEVEL = 0.05
DOC = ROOT / "docs" / "benchmarks" / "mnist1d.md"
FIGURES = ROOT / "docs" / "benchmarks"
TIMELINE = "timeline.jsonl"


@dataclass(frozen=True)
class Stage:
    """One compare invocation of the study: its shared settings, grid entries, seeds and results folder."""

    name: str
    base: TrainConfig
    entries: list[GridEntry]
    seeds: list[int]
    out: Path

    def config(self, entry: GridEntry, seed: int) -> TrainConfig:
        """The run of ``entry`` with ``seed``, exactly as ``thomson compare`` builds it (same folder)."""
        return cell_config(self.base, entry, seed, self.out)


def load_stage(name: str, results: Path, root: Path = ROOT) -> Stage:
    """The stage ``name`` of :data:`STAGES`, its runs under ``results/<name>``."""
    values = read_toml(root / STAGES[name])
    table = values.pop("compare")
    base = make_config(values)
    return Stage(name, base, [GridEntry.parse(spec) for spec in table["grid"]], list(table["seeds"]), results / name)


def read_summaries(stage: Stage) -> dict[str, dict[int, dict[str, Any]]]:
    """``label → seed → summary`` of the finished runs of ``stage`` (missing runs are left out)."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for entry in stage.entries:
        out[entry.label] = {}
        for seed in stage.seeds:
            path = stage.config(entry, seed).out_dir / "summary.json"
            if path.exists():
                out[entry.label][seed] = json.loads(path.read_text())
    return out


@dataclass(frozen=True)
class Difference:
    """One method against the baseline in one stage: accuracy over seeds and the paired difference."""

    stage: str
    label: str
    runs: int  # finished runs of the method
    expected: int  # runs declared
    accuracy: Interval
    difference: Interval  # of the per-seed differences method − baseline (seeds both finished)
    pvalue: float  # paired t-test, two-sided
    wall_time: float  # mean seconds per run
    adjusted: float = float("nan")  # Holm-adjusted p-value within the family

    @property
    def verdict(self) -> str:
        """``helps`` / ``hurts`` when the Holm-adjusted p-value is below 0.05, ``not run`` when no run has finished,
        else ``no detectable effect``."""
        if self.runs == 0:
            return "not run"
        if math.isnan(self.adjusted) or self.adjusted >= LEVEL:
            return "no detectable effect"
        return "helps" if self.difference.mean > 0 else "hurts"


def paired_differences(
    stage: str, accuracies: dict[str, dict[int, float]], wall: dict[str, list[float]], expected: int
) -> tuple[Interval, list[Difference]]:
    """The baseline's accuracy interval and, for every other label, the paired difference to it.

    For each seed that both the method and the baseline finished, ``d_k = acc_method(k) − acc_none(k)``; the
    difference is the mean of ``d`` with its t-interval and the paired t-test's p-value.
    """
    base = accuracies[BASELINE]
    rows = []
    for label, by_seed in accuracies.items():
        if label == BASELINE:
            continue
        diffs = [by_seed[s] - base[s] for s in sorted(by_seed) if s in base]
        times = wall.get(label, [])
        rows.append(
            Difference(
                stage=stage,
                label=label,
                runs=len(by_seed),
                expected=expected,
                accuracy=mean_interval(list(by_seed.values())) if by_seed else mean_interval([]),
                difference=mean_interval(diffs),
                pvalue=t_test_pvalue(diffs),
                wall_time=math.fsum(times) / len(times) if times else float("nan"),
            )
        )
    return mean_interval(list(base.values())), rows


def with_holm(rows: Sequence[Difference]) -> list[Difference]:
    """``rows`` with their Holm-adjusted p-values, the family being all of ``rows``."""
    adjusted = holm([r.pvalue for r in rows])
    return [dataclasses.replace(r, adjusted=a) for r, a in zip(rows, adjusted, strict=True)]


# ---------------------------------------------------------------- report


def _pct(x: float, signed: bool = False) -> str:
    return "—" if math.isnan(x) else (f"{100 * x:+.2f}" if signed else f"{100 * x:.2f}")


def _p(x: float) -> str:
    return "—" if math.isnan(x) else ("<0.001" if x < 0.001 else f"{x:.3f}")


def _difference_cells(r: Difference) -> list[str]:
    d = r.difference
    runs = f"{r.runs}/{r.expected}" + ("" if r.runs == r.expected else " ⚠")
    return [
        runs,
        f"{_pct(r.accuracy.mean)} ± {_pct(r.accuracy.std)}",
        f"{_pct(d.mean, True)} [{_pct(d.low, True)}, {_pct(d.high, True)}]",
        _p(r.pvalue),
        _p(r.adjusted),
        r.verdict,
        "—" if math.isnan(r.wall_time) else f"{r.wall_time:.0f}",
    ]


def _table(header: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


HEADER = ["runs", "accuracy (%)", "Δ to none, points [95% CI]", "p", "Holm p", "verdict", "s/run"]


def _baseline_cells(base: Interval, runs: int, expected: int, wall: float) -> list[str]:
    marker = "" if runs == expected else " ⚠"
    accuracy = f"{_pct(base.mean)} ± {_pct(base.std)}"
    return [
        f"{runs}/{expected}{marker}",
        accuracy,
        "(baseline)",
        "",
        "",
        "",
        "—" if math.isnan(wall) else f"{wall:.0f}",
    ]


def _energy_table(stage: Stage, summaries: dict[str, dict[int, dict[str, Any]]]) -> str:
    finished = [s for by_seed in summaries.values() for s in by_seed.values()]
    if not finished:
        return "(no finished runs)"
    layers = list(finished[0]["energy_final"])
    sizes = finished[0]["sizes"]

    def mean(values: list[float]) -> str:
        return f"{math.fsum(values) / len(values):.4f}" if values else "—"

    header = ["", *(f"{k.removesuffix('.weight')} ({sizes[k][0]}×{sizes[k][1]})" for k in layers)]
    rows = [["at initialization", *(mean([s["energy_init"][k] for s in finished]) for k in layers)]]
    for label, by_seed in summaries.items():
        rows.append([label, *(mean([s["energy_final"][k] for s in by_seed.values()]) for k in layers)])
    rows.append(["simplex bound", *(f"{finished[0]['energy_bound'][k]:.4f}" for k in layers)])
    return _table(header, rows)


def analyze(results: Path) -> dict[str, Any]:
    """Everything the report shows: per stage the baseline, the Holm-corrected differences, the energies."""
    stages = {name: load_stage(name, results) for name in STAGES}
    summaries = {name: read_summaries(stage) for name, stage in stages.items()}
    out: dict[str, Any] = {"stages": stages, "summaries": summaries, "baselines": {}, "families": {}}
    for family, names in FAMILIES.items():
        rows: list[Difference] = []
        for name in names:
            accuracies = {label: {s: v["test_acc"] for s, v in runs.items()} for label, runs in summaries[name].items()}
            wall = {label: [v["wall_time"] for v in runs.values()] for label, runs in summaries[name].items()}
            base, stage_rows = paired_differences(name, accuracies, wall, len(stages[name].seeds))
            base_wall = wall[BASELINE]
            out["baselines"][name] = (
                base,
                len(accuracies[BASELINE]),
                len(stages[name].seeds),
                math.fsum(base_wall) / len(base_wall) if base_wall else float("nan"),
            )
            rows += stage_rows
        out["families"][family] = with_holm(rows)
    return out


def _stage_table(analysis: dict[str, Any], family: str, with_stage: bool) -> str:
    rows = []
    for name in FAMILIES[family]:
        base, runs, expected, wall = analysis["baselines"][name]
        prefix = [name.removeprefix("stage2-")] if with_stage else []
        rows.append([*prefix, BASELINE, *_baseline_cells(base, runs, expected, wall)])
        rows += [[*prefix, r.label, *_difference_cells(r)] for r in analysis["families"][family] if r.stage == name]
    return _table([*(["variant"] if with_stage else []), "method", *HEADER], rows)


def _same_baseline_note(analysis: dict[str, Any]) -> str:
    a, b = analysis["summaries"]["stage1"][BASELINE], analysis["summaries"]["stage2-coef"][BASELINE]
    common = sorted(set(a) & set(b))
    same = sum(a[s]["test_acc"] == b[s]["test_acc"] and a[s]["energy_final"] == b[s]["energy_final"] for s in common)
    return f"Check: `none` of stage2-coef (stage 1's settings) equals stage 1's in {same} of {len(common)} seeds."


def _timeline_note(results: Path) -> str:
    path = results / TIMELINE
    if not path.exists():
        return "(no timeline: the study has not been run with `mnist1d_study.py run`)"
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    ends = [e for e in events if e.get("event") == "end"]
    if not ends:
        return "(the study has not finished a stage yet)"
    busy = math.fsum(e["seconds"] for e in ends)
    first, last = min(e["time"] for e in events), max(e["time"] for e in ends)
    return (
        f"Wall time: {busy / 3600:.2f} h of compare invocations ({len(ends)} stage runs incl. resumptions), "
        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(first))} to "
        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(last))}."
    )


def _plot_differences(rows: list[Difference], path: Path, title: str, with_stage: bool) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 0.32 * len(rows) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    colors = {"helps": "C2", "hurts": "C3", "no detectable effect": "0.35"}
    for i, r in enumerate(reversed(rows)):
        d = r.difference
        if math.isnan(d.mean):
            continue
        err = None if math.isnan(d.low) else [[100 * (d.mean - d.low)], [100 * (d.high - d.mean)]]
        ax.errorbar([100 * d.mean], [i], xerr=err, fmt="o", color=colors[r.verdict], capsize=3)
    labels = [f"{r.stage.removeprefix('stage2-')}: {r.label}" if with_stage else r.label for r in reversed(rows)]
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_xlabel("test accuracy − none's, same seed (points); 95% t-interval; colour: Holm-corrected verdict")
    ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=110)


def _plot_energies(stage: Stage, summaries: dict[str, dict[int, dict[str, Any]]], path: Path) -> None:
    from matplotlib.figure import Figure

    finished = [s for by_seed in summaries.values() for s in by_seed.values()]
    if not finished:
        return
    layers = list(finished[0]["energy_final"])
    fig = Figure(figsize=(3.2 * len(layers), 4.2), layout="constrained")
    for j, layer in enumerate(layers):
        ax = fig.add_subplot(1, len(layers), j + 1)
        labels = [label for label, runs in summaries.items() if runs]
        for i, label in enumerate(labels):
            values = [s["energy_final"][layer] for s in summaries[label].values()]
            ax.scatter(values, [i] * len(values), s=9, color="C0")
        init = math.fsum(s["energy_init"][layer] for s in finished) / len(finished)
        ax.axvline(init, color="0.5", linestyle="--", linewidth=1, label="at init (mean)")
        ax.axvline(finished[0]["energy_bound"][layer], color="C3", linewidth=1, label="simplex bound")
        ax.set_yticks(range(len(labels)), labels if j == 0 else [""] * len(labels), fontsize=8)
        ax.set_title(layer.removesuffix(".weight"), fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        if j == 0:
            ax.legend(fontsize=7)
    fig.suptitle(f"{stage.name}: final full-space s=2 energy per layer, one dot per seed", fontsize=10)
    fig.savefig(path, dpi=110)


def headline(analysis: dict[str, Any]) -> str:
    """The README's summary: stage 1's paired differences with their verdicts, and how much of stage 2 has run."""
    base, runs, expected, _ = analysis["baselines"]["stage1"]
    rows = [[BASELINE, f"{runs}/{expected}", f"{_pct(base.mean)}", "(baseline)", ""]]
    for r in analysis["families"]["stage 1"]:
        d = r.difference
        rows.append(
            [
                r.label,
                f"{r.runs}/{r.expected}",
                _pct(r.accuracy.mean),
                f"{_pct(d.mean, True)} [{_pct(d.low, True)}, {_pct(d.high, True)}]",
                r.verdict,
            ]
        )
    stage2 = analysis["families"]["stage 2"]
    done = sum(r.runs for r in stage2) + sum(analysis["baselines"][n][1] for n in FAMILIES["stage 2"])
    declared = sum(r.expected for r in stage2) + sum(analysis["baselines"][n][2] for n in FAMILIES["stage 2"])
    return (
        _table(["method", "runs", "accuracy (%)", "Δ to none, points [95% CI]", "verdict (Holm)"], rows)
        + f"\n\nStage 2 (coefficients ×0.1 and ×10, width 100, 1,000 items, the MLP, Adam): {done} of {declared} runs"
        + " finished; its table is in the study's document."
    )


def report(results: Path, doc: Path, figures: Path, readme: Path | None = None) -> None:
    """Paste the study's tables into ``doc`` (and its headline into ``readme``), write its figures to ``figures``."""
    analysis = analyze(results)
    if readme is not None:
        paste(readme, "study-headline", headline(analysis))
    paste(doc, "stage1-table", _stage_table(analysis, "stage 1", with_stage=False))
    stage2 = _stage_table(analysis, "stage 2", with_stage=True)
    paste(doc, "stage2-table", stage2 + "\n\n" + _same_baseline_note(analysis))
    stages, summaries = analysis["stages"], analysis["summaries"]
    energies = [f"**{name}**\n\n{_energy_table(stages[name], summaries[name])}" for name in STAGES]
    paste(doc, "energy-tables", "\n\n".join(energies))
    paste(doc, "wall-time", _timeline_note(results))
    figures.mkdir(parents=True, exist_ok=True)
    _plot_differences(
        analysis["families"]["stage 1"], figures / "mnist1d-stage1.png", "Stage 1: CNN, SGD, 4,000 items", False
    )
    _plot_differences(
        analysis["families"]["stage 2"], figures / "mnist1d-stage2.png", "Stage 2: one change at a time", True
    )
    _plot_energies(analysis["stages"]["stage1"], analysis["summaries"]["stage1"], figures / "mnist1d-energies.png")
    print(f"tables pasted into {doc}; figures in {figures}")


# ---------------------------------------------------------------- run


def run(results: Path, workers: int) -> int:
    """Run every stage with ``thomson compare`` in order (finished cells are skipped, unfinished ones resumed)."""
    results.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    failed = []
    for name, config in STAGES.items():
        command = [sys.executable, "-m", "thomson", "compare", "--config", str(ROOT / config)]
        command += ["--workers", str(workers), "--out", str(results / name)]
        began = time.time()
        _event(results, {"event": "start", "stage": name, "time": began, "command": command})
        print(f"== {time.strftime('%H:%M:%S')} {name}: {' '.join(command)}", flush=True)
        code = subprocess.call(command, env=env, cwd=ROOT)
        ended = time.time()
        _event(results, {"event": "end", "stage": name, "time": ended, "seconds": ended - began, "rc": code})
        print(f"== {time.strftime('%H:%M:%S')} {name} exited {code} after {time.time() - began:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    print(f"== done; stages with failed runs: {failed or 'none'}", flush=True)
    return 1 if failed else 0


def _event(results: Path, record: dict[str, Any]) -> None:
    with (results / TIMELINE).open("a") as f:
        f.write(json.dumps(record) + "\n")


# ---------------------------------------------------------------- checks

CHECKS = [
    (model, recipe, steps)
    for model in ("cnn1d", "mlp1d")
    for recipe in ("mnist1d-sgd", "mnist1d-adam")
    for steps in (6000, 2000)
]
"""The setup checks: each model with each recipe, at the recipes' 6,000 steps and the study's 2,000, seed 0."""


def checks(doc: Path | None) -> None:
    """Train the unregularized baselines of :data:`CHECKS` (one thread each) and paste their accuracies."""
    rows = []
    for model, recipe, steps in CHECKS:
        overrides: dict[str, Any] = {"steps": steps}
        if recipe == "mnist1d-sgd":
            overrides["milestones"] = [steps // 2, 3 * steps // 4]
        with tempfile.TemporaryDirectory() as folder:
            config = make_config(
                {"data": "mnist1d", "model": model, "recipe": recipe},
                {**overrides, "threads": 1, "progress": False, "out": folder},
            )
            result = fit(config)
        schedule = f" (×0.1 at {config.milestones[0]:,}, {config.milestones[1]:,})" if config.milestones else ""
        rows.append([model, recipe, f"{steps:,}{schedule}", f"{100 * result.test_acc:.1f}%", f"{result.wall_time:.0f}"])
        print(" | ".join(rows[-1]), flush=True)
    text = _table(["model", "recipe", "steps", "test accuracy", "wall s"], rows)
    print(text)
    if doc is not None:
        paste(doc, "checks-table", text)


# ---------------------------------------------------------------- timing


def _cost_key(stage: Stage, entry: GridEntry) -> tuple[str, str, str, str]:
    """What a run's time per step depends on: model and width, optimizer, regularizer (not its coefficient)."""
    b = stage.base
    return b.model, json.dumps(b.model_options, sort_keys=True), b.optimizer, f"{entry.reg}:{json.dumps(entry.options)}"


def _cpu_seconds(config: TrainConfig, steps: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        run_config = dataclasses.replace(config, steps=steps, milestones=[], out=folder, eval_every=100, threads=1)
        began = time.process_time()
        fit(run_config)
        return time.process_time() - began


def timing(results: Path, doc: Path | None, short: int, long: int) -> None:
    """CPU seconds per step of each kind of cell (one thread), the projected study time, pasted into ``doc``."""
    stages = [load_stage(name, results) for name in STAGES]
    measured: dict[tuple[str, str, str, str], tuple[float, float]] = {}
    _cpu_seconds(stages[0].config(stages[0].entries[0], 0), 20)  # warm-up: imports, data generation
    for stage in stages:
        for entry in stage.entries:
            key = _cost_key(stage, entry)
            if key in measured:
                continue
            config = stage.config(entry, 0)
            a, b = _cpu_seconds(config, short), _cpu_seconds(config, long)
            per_step = (b - a) / (long - short)
            measured[key] = (per_step, max(a - short * per_step, 0.0))
            print(f"{stage.name:17} {entry.label:28} {1e3 * per_step:7.2f} ms/step", flush=True)
    rows, total = [], 0.0
    for stage in stages:
        stage_total = 0.0
        for entry in stage.entries:
            per_step, fixed = measured[_cost_key(stage, entry)]
            per_run = fixed + stage.base.steps * per_step
            stage_total += per_run * len(stage.seeds)
            rows.append([stage.name, entry.label, f"{1e3 * per_step:.1f}", f"{per_run:.0f}"])
        total += stage_total
        runs = f"**all {len(stage.entries)} × {len(stage.seeds)} runs**"
        rows.append([stage.name, runs, "", f"**{stage_total:.0f}**"])
    text = _table(["stage", "method", "CPU ms/step", f"CPU s/run ({stages[0].base.steps} steps)"], rows)
    text += (
        f"\n\nTotal: {total:.0f} CPU s = {total / 3600:.2f} h on one core; {total / 7200:.2f} h of wall time on 2 "
        f"cores with 2 workers of one thread each, if the machine is otherwise idle. Measured with "
        f"`benchmarks/mnist1d_study.py timing` ({short}- and {long}-step runs, one thread) on "
        f"{time.strftime('%Y-%m-%d')}."
    )
    print(text)
    if doc is not None:
        paste(doc, "timing-table", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("run", "report", "timing", "checks"))
    parser.add_argument("--results", type=Path, default=ROOT / "results" / "mnist1d-study", help="results folder")
    parser.add_argument("--workers", type=int, default=2, help="compare's worker processes (run)")
    parser.add_argument("--doc", type=Path, default=DOC, help="the study's Markdown document")
    parser.add_argument("--figures", type=Path, default=FIGURES, help="folder of the report's figures")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md", help="report: the README with the headline")
    parser.add_argument("--no-doc", action="store_true", help="timing, checks: print only")
    parser.add_argument("--steps", default="100,300", help="timing: the two run lengths, e.g. 100,300")
    args = parser.parse_args()
    if args.command == "run":
        sys.exit(run(args.results, args.workers))
    if args.command == "report":
        report(args.results, args.doc, args.figures, args.readme)
    elif args.command == "checks":
        checks(None if args.no_doc else args.doc)
    else:
        short, long = (int(s) for s in args.steps.split(","))
        timing(args.results, None if args.no_doc else args.doc, short, long)


if __name__ == "__main__":
    main()
