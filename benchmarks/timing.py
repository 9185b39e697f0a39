"""The timing options every benchmark takes: ``--threads`` (torch's intra-op threads) and ``--clock`` (wall time,
or this process's CPU time, steadier on a shared machine)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch


def add_timing_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--threads`` and ``--clock`` to ``parser``."""
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or this process's CPU time (steadier on a shared machine; use with --threads 1)",
    )


def apply_timing_options(args: argparse.Namespace) -> Callable[[], float]:
    """Set torch's thread count from ``--threads`` and return the clock ``--clock`` names."""
    if args.threads:
        torch.set_num_threads(args.threads)
    return time.process_time if args.clock == "cpu" else time.perf_counter
