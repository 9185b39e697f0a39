"""A before/after table from two outputs of ``bench_sizes.py`` (two versions of thomson, e.g. ``--src``).

Each output's ratios come from its own process (thomson against the naive port and the floor measured beside
it), so the two columns compare without trusting absolute times across runs.

    python benchmarks/bench_sizes.py --src ../before/src > before.txt
    python benchmarks/bench_sizes.py > after.txt
    python benchmarks/compare_runs.py before.txt after.txt
"""

from __future__ import annotations

import argparse
from pathlib import Path


def ratios(path: str) -> dict[str, tuple[str, str]]:
    """Case → (thomson / naive, thomson / floor): the last two columns of each table row of a run."""
    out: dict[str, tuple[str, str]] = {}
    for line in Path(path).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) < 5 or not cells[-1].endswith(("×", "-")):
            continue
        case = f"{cells[0]} {cells[1]}" if cells[1] in ("full", "half") else cells[0]
        out[case] = (cells[-2], cells[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    args = parser.parse_args()
    before, after = ratios(args.before), ratios(args.after)
    print("| case | thomson / naive, before | after | thomson / floor, before | after |")
    print("|---|--:|--:|--:|--:|")
    for case, (naive, floor) in after.items():
        old = before.get(case, ("-", "-"))
        print(f"| {case} | {old[0]} | {naive} | {old[1]} | {floor} |")


if __name__ == "__main__":
    main()
