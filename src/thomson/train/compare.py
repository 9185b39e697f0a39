"""``compare``: a grid of regularizers × seeds, run in parallel processes, resumable, summarized and plotted."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thomson.train.config import (
    RESULT_NEUTRAL,
    TrainConfig,
    build_objective,
    import_modules,
    parse_options,
    saved_setting,
)
from thomson.train.loop import SUMMARY, fit
from thomson.train.plots import plot_comparison
from thomson.train.report import RESULTS_JSON, Cell, Comparison, format_comparison, summarize, write_results
from thomson.train.runlog import LOG, read_log
from thomson.train.signals import StopSignal, run_exclusively, start_worker, stop_children

DEFAULT_GRID = ("none", "mhe", "mhe:half_space=true", "comhe:projection=random", "mhs", "mgd", "so")
"""The default regularizers: none, MHE, half-space MHE, CoMHE (random projections), MHS, MGD and SO."""

DEFAULT_SEEDS = (0, 1, 2)

_LIFTED = ("coef", "classifier_coef")  # grid options that are Regularizer coefficients, not objective options


@dataclass(frozen=True)
class GridEntry:
    """One regularizer of the grid, written ``NAME[:KEY=VALUE,...]`` (e.g. ``mhe:s=0,half_space=true``); ``NAME``
    may be an import path ``module:Class`` (``mypackage.objectives:Spread:coef=0.1``).

    ``coef=`` and ``classifier_coef=`` set the regularizer's coefficients; the other options go to the
    objective. The spec string is the entry's label in the report.

    Example:
        >>> entry = GridEntry.parse("mhe:s=0,half_space=true,coef=0.1")
        >>> entry.reg, entry.options, entry.coefs
        ('mhe', {'s': 0, 'half_space': True}, {'coef': 0.1})
    """

    label: str
    reg: str
    options: dict[str, Any]
    coefs: dict[str, Any]

    @classmethod
    def parse(cls, spec: str) -> GridEntry:
        name, _, rest = spec.strip().partition(":")
        head, colon, tail = rest.partition(":")
        if re.fullmatch(r"[A-Za-z_]\w*", head) and ("." in name or head[0].isupper()):  # NAME is module:Class
            name, rest = f"{name}:{head}", tail if colon else ""
        if not name:
            raise ValueError(f"a grid entry must read NAME[:KEY=VALUE,...], got {spec!r}")
        items = [item for item in re.split(r",(?![^\[]*\])", rest) if item.strip()]
        options = parse_options(items)
        coefs = {k: options.pop(k) for k in _LIFTED if k in options}
        return cls(spec.strip(), name, options, coefs)

    @property
    def folder(self) -> str:
        """A file-system-safe folder name for the entry."""
        return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", self.label)


def cell_config(base: TrainConfig, entry: GridEntry, seed: int, out: Path) -> TrainConfig:
    """The run of ``entry`` with ``seed``: ``base`` with the entry's regularizer, in ``out/runs/<entry>/seed<k>``."""
    return dataclasses.replace(
        base,
        reg=entry.reg,
        reg_options=entry.options,
        seed=seed,
        out=str(out / "runs" / entry.folder / f"seed{seed}"),
        progress=False,
        **entry.coefs,
    )


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Stopped(Exception):
    """A comparison stopped by SIGTERM or SIGINT: its finished runs are kept and the others saved a checkpoint."""


def _omp_threads() -> int | None:
    """``OMP_NUM_THREADS`` when it is set to a whole number >= 1 (the threads of each cell), else None."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) >= 1 else None


def _run_cell(values: dict[str, Any]) -> dict[str, Any] | None:
    """Run (or resume) one cell in a worker process; its summary, or None when a signal stopped it (it saved a
    checkpoint) or came before it began."""

    def cell() -> dict[str, Any] | None:
        if StopSignal().requested:
            return None
        result = fit(TrainConfig(**values), resume=True)
        return result.summary() if result.completed else None

    summary: dict[str, Any] | None = run_exclusively(cell)
    return summary


def _finished(config: TrainConfig) -> dict[str, Any] | None:
    """The summary of a finished cell with the same settings, None if unfinished; error if settings differ."""
    path = config.out_dir / SUMMARY
    if not path.exists():
        return None
    summary: dict[str, Any] = json.loads(path.read_text())
    now = config.to_dict()
    diffs = [k for k in now if k not in RESULT_NEUTRAL - {"steps"} and saved_setting(summary["config"], k) != now[k]]
    if diffs:
        raise ValueError(
            f"{path.parent} holds a finished run with other settings ({', '.join(diffs)}); "
            "compare into another --out folder"
        )
    return summary


Key = tuple[str, int]
"""A cell of the grid: the entry's label and the seed."""


def _check_table(out: Path, cells: Sequence[tuple[str, int]]) -> None:
    """Refuse to replace the table of another comparison in ``out``: one with a cell this one does not have."""
    path = out / RESULTS_JSON
    if not path.exists():
        return
    try:
        earlier = {(cell["label"], cell["seed"]) for cell in json.loads(path.read_text())["cells"]}
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a comparison's results ({error}): replace it with --overwrite") from error
    missing = sorted(earlier - set(cells))
    if missing:
        listed = ", ".join(f"{label} seed {seed}" for label, seed in missing[:4]) + (
            ", ..." if len(missing) > 4 else ""
        )
        raise ValueError(
            f"{out} holds the results of another comparison, with {len(missing)} run(s) not in this one ({listed}): "
            "add them to --grid/--seeds to extend it, replace its tables with --overwrite (the runs stay in "
            f"{out / 'runs'}), or choose another --out"
        )


def compare(
    base: TrainConfig,
    grid: Sequence[str] = DEFAULT_GRID,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    *,
    out: str | Path = "results/compare",
    baseline: str | None = None,
    workers: int | None = None,
    plots: bool = True,
    echo: Callable[[str], None] | None = print,
    overwrite: bool = False,
) -> Comparison:
    """Train every regularizer of ``grid`` with every seed (same seeds for all) and compare them.

    Each cell is a :func:`~thomson.train.fit` run of ``base`` with the entry's regularizer and the seed, in
    ``out/runs/<entry>/seed<k>/``. Finished cells (their ``summary.json`` exists) are skipped and unfinished
    ones resumed from their checkpoint, so an interrupted comparison is continued by running it again.
    Cells run in ``workers`` processes (default: one per core, up to the number of cells), each with
    ``base.threads`` torch threads, else ``OMP_NUM_THREADS`` if set, else ``max(1, cores // workers)``. The
    result is written to ``out/results.csv``, ``out/results.json`` and, with ``plots``, three PNG figures.
    SIGTERM or SIGINT (Ctrl-C) stops the comparison cleanly: it is passed on to the workers, whose running cells
    save a checkpoint, finished cells are kept, and :class:`Stopped` is raised; a worker whose parent is killed
    does the same and exits.

    Args:
        base: settings shared by all cells (its ``reg``, ``reg_options``, ``seed`` and ``out`` are replaced).
        grid: entries ``NAME[:KEY=VALUE,...]``, see :class:`GridEntry`. Default :data:`DEFAULT_GRID`.
        seeds: seeds, the same for every entry. Default ``(0, 1, 2)``.
        out: results folder. Default ``"results/compare"``.
        baseline: the entry the others are compared to, pairwise by seed. Default the first entry.
        workers: processes; 1 runs in this process. Default None (automatic).
        plots: write the PNG figures. Default True.
        echo: where progress lines go (None: silent). Default ``print``.
        overwrite: replace the tables of another comparison in ``out`` (one with a cell this grid does not
            have). Default False: refused with a ValueError, before any training.

    Returns:
        The :class:`~thomson.train.report.Comparison`; ``format_comparison`` of it is the terminal table.

    Example:
        >>> import tempfile
        >>> base = TrainConfig(data="synthetic", steps=5, batch_size=32, milestones=[], model_options={"hidden": [8]})
        >>> result = compare(base, ["none", "mhe"], seeds=[0, 1], out=tempfile.mkdtemp(), workers=1, echo=None)
        >>> [(row.label, row.seeds) for row in result.rows]
        [('none', [0, 1]), ('mhe', [0, 1])]
    """
    entries, baseline = _parse_grid(grid, seeds, baseline)
    import_modules(base.imports)
    for entry in entries:  # fail before any training on an unknown name or a bad option
        build_objective(entry.reg, entry.options)
    out = Path(out)
    say = echo or (lambda line: None)

    configs = {(e.label, s): cell_config(base, e, s, out) for e in entries for s in seeds}
    if not overwrite:
        _check_table(out, list(configs))
    summaries = {key: _finished(config) for key, config in configs.items()}
    todo = [key for key, summary in summaries.items() if summary is None]
    cores = _cpu_count()
    workers = min(len(todo), cores) if workers is None else min(workers, len(todo))
    threads = base.threads or _omp_threads() or max(1, cores // max(workers, 1))
    say(
        f"{len(configs)} runs ({len(entries)} regularizers × {len(seeds)} seeds), {len(configs) - len(todo)} done, "
        f"{len(todo)} to run in {max(workers, 1)} process(es) × {threads} thread(s) → {out}"
    )
    began = time.perf_counter()

    def finished(key: Key, summary: dict[str, Any]) -> None:
        summaries[key] = summary
        done = sum(s is not None for s in summaries.values())
        say(
            f"[{done:>{len(str(len(configs)))}}/{len(configs)}] {key[0]} seed {key[1]}: test accuracy "
            f"{100 * summary['test_acc']:.2f}% ({summary['wall_time']:.0f} s)"
        )

    cells = {key: dataclasses.replace(configs[key], threads=threads) for key in todo}
    stopped, failures = _run_cells(cells, workers, finished, say)
    if stopped:
        done = sum(s is not None for s in summaries.values())
        raise Stopped(
            f"stopped by a signal: {done} of {len(configs)} runs finished (kept), the others saved a checkpoint; run "
            "the same command again to continue"
        )
    if failures:
        raise RuntimeError(f"{len(failures)} run(s) failed (re-run to retry them): " + "; ".join(failures))
    say(f"grid done in {time.perf_counter() - began:.0f} s")
    return _report(entries, seeds, configs, summaries, baseline, base, out, plots=plots)


def _parse_grid(grid: Sequence[str], seeds: Sequence[int], baseline: str | None) -> tuple[list[GridEntry], str]:
    """The grid's entries and the baseline's label, after checking that entries and seeds are distinct."""
    entries = [GridEntry.parse(spec) for spec in grid]
    labels = [e.label for e in entries]
    if len(set(labels)) != len(labels) or not labels:
        raise ValueError(f"grid entries must be distinct and at least one, got {labels}")
    if len(set(seeds)) != len(seeds) or not seeds:
        raise ValueError(f"seeds must be distinct and at least one, got {list(seeds)}")
    baseline = labels[0] if baseline is None else baseline
    if baseline not in labels:
        raise ValueError(f"baseline {baseline!r} is not a grid entry; entries: {labels}")
    return entries, baseline


def _run_cells(
    cells: dict[Key, TrainConfig],
    workers: int,
    finished: Callable[[Key, dict[str, Any]], None],
    say: Callable[[str], None],
) -> tuple[bool, list[str]]:
    """Run ``cells`` (in this process when ``workers <= 1``, else in that many processes), passing each finished
    one's summary to ``finished``. Returns whether SIGTERM/SIGINT stopped them (it is passed on to the workers,
    whose cells save) and the failures, one line each."""
    failures: list[str] = []
    with StopSignal(on_stop=stop_children) as stop:
        if workers <= 1:
            for key, config in cells.items():
                result = None if stop.requested else fit(config, resume=True)
                if result is None or not result.completed:
                    break
                finished(key, result.summary())
        elif cells:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                workers, mp_context=context, initializer=start_worker, initargs=(os.getpid(),)
            ) as pool:
                futures: dict[Future[dict[str, Any] | None], Key] = {
                    pool.submit(_run_cell, config.to_dict()): key for key, config in cells.items()
                }
                for future in as_completed(futures):
                    key = futures[future]
                    error = future.exception()
                    if error is not None:
                        failures.append(f"{key[0]} seed {key[1]}: {type(error).__name__}: {error}")
                        say(f"failed: {failures[-1]}")
                    elif (summary := future.result()) is not None:
                        finished(key, summary)
        stopped = stop.requested
    return stopped, failures


def _report(
    entries: list[GridEntry],
    seeds: Sequence[int],
    configs: dict[Key, TrainConfig],
    summaries: dict[Key, dict[str, Any] | None],
    baseline: str,
    base: TrainConfig,
    out: Path,
    *,
    plots: bool,
) -> Comparison:
    """The comparison of the finished cells, written to ``out`` (tables, and figures with ``plots``)."""
    cells = []
    for entry in entries:
        for seed in seeds:
            summary = summaries[(entry.label, seed)]
            assert summary is not None
            log = read_log(configs[(entry.label, seed)].out_dir / LOG)
            curve = [(r["step"], r["energy"]) for r in log if r["kind"] == "eval"]
            cells.append(Cell(entry.label, entry.reg, entry.options, seed, summary, curve))
    comparison = summarize(cells, baseline, base.to_dict())
    write_results(comparison, out)
    if plots:
        plot_comparison(comparison, out)
    (out / "table.txt").write_text(format_comparison(comparison) + "\n")
    return comparison
