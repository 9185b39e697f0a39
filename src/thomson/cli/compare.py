"""``thomson compare``: a grid of regularizers × seeds with intervals, paired differences, energies and plots."""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from thomson.train.compare import DEFAULT_GRID, DEFAULT_SEEDS
    from thomson.train.config import add_config_arguments

    parser.add_argument(
        "--grid",
        nargs="+",
        metavar="NAME[:KEY=VALUE,...]",
        help=f"regularizers to compare (default: {' '.join(DEFAULT_GRID)}); also [compare] grid in --config",
    )
    parser.add_argument(
        "--seeds", metavar="S", help=f"comma-separated seeds (default: {','.join(map(str, DEFAULT_SEEDS))})"
    )
    parser.add_argument("--baseline", help="grid entry the others are compared to (default: the first)")
    parser.add_argument("--workers", type=int, help="parallel processes (default: one per core)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the tables of another comparison in the output folder"
    )
    add_config_arguments(parser, skip=("reg", "reg_options", "seed"))
    parser.epilog = "example: thomson compare --grid none mhe mhe:half_space=true --seeds 0,1,2 --out results/mine"


FIXED = ("reg", "reg_options", "seed")
"""Run settings that compare sets for each cell (from the grid and the seeds), never from the config."""

TABLE_KEYS = {"grid": "a list of entries NAME[:KEY=VALUE,...]", "seeds": "a list of integers >= 0",
              "baseline": "a grid entry", "out": "a folder"}  # fmt: skip
"""The keys of a config's ``[compare]`` table and what each holds."""


def compare_table(table: object, path: str) -> dict[str, Any]:
    """The ``[compare]`` table of the config file ``path``, checked: known keys, each of its kind."""
    if not isinstance(table, dict):
        raise ValueError(f"config file {path}: compare must be a table ([compare])")
    unknown = sorted(set(table) - set(TABLE_KEYS))
    if unknown:
        raise ValueError(f"config file {path}: unknown key(s) {unknown} in [compare]; its keys are {list(TABLE_KEYS)}")
    grid, seeds = table.get("grid", []), table.get("seeds", [])
    bad = [
        key
        for key, ok in (
            ("grid", isinstance(grid, list) and all(isinstance(entry, str) for entry in grid)),
            ("seeds", isinstance(seeds, list) and all(type(seed) is int and seed >= 0 for seed in seeds)),
            ("baseline", isinstance(table.get("baseline", ""), str)),
            ("out", isinstance(table.get("out", ""), str)),
        )
        if not ok
    ]
    if bad:
        key = bad[0]
        raise ValueError(
            f"config file {path}: [compare] {key} must be {TABLE_KEYS[key]}, got {table[key]!r} "
            '(e.g. grid = ["none", "mhe:s=0"], seeds = [0, 1, 2])'
        )
    return dict(table)


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(seed) for seed in text.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--seeds must be comma-separated integers >= 0 (e.g. 0,1,2), got {text!r}")
    return seeds


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from thomson.train.compare import DEFAULT_GRID, DEFAULT_SEEDS, Stopped, compare
    from thomson.train.config import config_from_args, read_toml
    from thomson.train.report import format_comparison

    try:
        table = compare_table(read_toml(args.config).get("compare", {}), args.config) if args.config else {}
        grid = args.grid or table.get("grid") or list(DEFAULT_GRID)
        seeds = _seeds(args.seeds) if args.seeds else table.get("seeds") or list(DEFAULT_SEEDS)
        baseline = args.baseline or table.get("baseline")
        config = config_from_args(args, fixed=FIXED)
        out = Path(config.out or table.get("out") or "results/compare")
        comparison = compare(
            config,
            grid,
            seeds,
            out=out,
            baseline=baseline,
            workers=args.workers,
            plots=not args.no_plots,
            overwrite=args.overwrite,
        )
    except Stopped as stopped:
        print(stopped)
        return 0
    except (ValueError, RuntimeError, ImportError) as error:
        print(f"thomson compare: error: {error}", file=sys.stderr)
        return 2
    print()
    print(format_comparison(comparison))
    print(f"\nresults: {out}/results.csv, results.json" + ("" if args.no_plots else ", accuracy.png, energy_*.png"))
    return 0
