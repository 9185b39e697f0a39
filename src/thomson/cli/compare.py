"""``thomson compare``: a grid of regularizers × seeds with intervals, paired differences, energies and plots."""

from __future__ import annotations

import argparse


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


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from thomson.train.compare import DEFAULT_GRID, DEFAULT_SEEDS, Stopped, compare
    from thomson.train.config import config_from_args, read_toml
    from thomson.train.report import format_comparison

    try:
        table = read_toml(args.config).get("compare", {}) if args.config else {}
        grid = args.grid or table.get("grid") or list(DEFAULT_GRID)
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else table.get("seeds") or list(DEFAULT_SEEDS)
        baseline = args.baseline or table.get("baseline")
        config = config_from_args(args)
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
