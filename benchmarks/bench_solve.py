"""``thomson.solve`` against the Thomson-problem records, with scipy's L-BFGS-B as the baseline.

For each N of ``records/thomson.csv`` up to ``--n-max`` (default 200), and N = 470, both methods
run starts until one reaches the record (within ``max(2e-8, 1e-11·E)``, the tables' precision) or the start
budget (``--restarts``) or time budget (``--time-limit`` per N and method) is spent:

* thomson: ``thomson.solve(n, 3, s=1, target=record + tol)``: symmetric (Fibonacci) start, then random and
  basin-hopping starts, Riemannian L-BFGS on the energy of :func:`thomson.hyperspherical_energy`.
* baseline: ``scipy.optimize.minimize(method="L-BFGS-B")`` on the unconstrained coordinates ``y ∈ R^(3N)``,
  the energy of ``y_i/|y_i|`` and its gradient in numpy, random starts, tight tolerances (``ftol=1e-15``,
  ``gtol=1e-10``) so that a converged start can reach the records' precision.

Prints one row per N as it finishes (energy found, record, difference, starts, time to the record) and the
number of records matched by each method, with the ratio of the total times. Single-threaded; run with
``PYTHONPATH=src python benchmarks/bench_solve.py [--quick] [--n-max N] [--restarts R] [--csv out.csv]``.
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import minimize

import thomson

QUICK = (*range(2, 41), 50, 60, 72, 80, 100, 122, 150)


def tolerance(record: float) -> float:
    return max(2e-8, 1e-11 * abs(record))


def records() -> dict[int, float]:
    """The published Thomson records, ``records/thomson.csv`` of this repository."""
    with (Path(__file__).resolve().parents[1] / "records" / "thomson.csv").open() as f:
        return {int(row["n"]): float(row["energy"]) for row in csv.DictReader(f)}


def coulomb(y: np.ndarray, n: int) -> tuple[float, np.ndarray]:
    """The Coulomb energy of the normalized rows of ``y`` and its gradient with respect to ``y`` (numpy)."""
    y = y.reshape(n, 3)
    norm = np.linalg.norm(y, axis=1, keepdims=True)
    x = y / norm
    diff = x[:, None, :] - x[None, :, :]
    r2 = np.einsum("ijk,ijk->ij", diff, diff)
    np.fill_diagonal(r2, 1.0)
    inv = 1.0 / np.sqrt(r2)
    np.fill_diagonal(inv, 0.0)
    energy = 0.5 * float(inv.sum())
    grad_x = -np.einsum("ij,ijk->ik", inv**3, diff)
    grad_y = (grad_x - np.sum(grad_x * x, axis=1, keepdims=True) * x) / norm
    return energy, grad_y.ravel()


def baseline(n: int, target: float, restarts: int, time_limit: float, seed: int) -> tuple[float, int, float]:
    """Random starts of scipy's L-BFGS-B until one reaches ``target``: (best energy, starts, seconds)."""
    rng = np.random.default_rng(seed)
    began = time.perf_counter()
    best = math.inf
    starts = 0
    while starts < restarts + 1:
        y0 = rng.normal(size=3 * n)
        out = minimize(
            coulomb,
            y0,
            args=(n,),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 20000, "maxcor": 20, "ftol": 1e-15, "gtol": 1e-10},
        )
        starts += 1
        best = min(best, float(coulomb(out.x, n)[0]))
        if best <= target or time.perf_counter() - began > time_limit:
            break
    return best, starts, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-max", type=int, default=200, help="largest N of the table below 470 (default 200)")
    parser.add_argument("--n-min", type=int, default=2, help="smallest N (default 2)")
    parser.add_argument("--quick", action="store_true", help=f"only N in {QUICK[0]}..{QUICK[-1]} (a subset), no 470")
    parser.add_argument("--no-470", action="store_true", help="leave out N = 470")
    parser.add_argument("--restarts", type=int, default=40, help="start budget per N and method (default 40)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per N and method (default 120)")
    parser.add_argument("--no-baseline", action="store_true", help="thomson only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", type=Path, help="also write the rows to this CSV file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    table = records()
    ns = [n for n in (QUICK if args.quick else sorted(table)) if args.n_min <= n <= args.n_max and n in table]
    if not (args.quick or args.no_470) and 470 in table and 470 not in ns:
        ns.append(470)
    head = f"{'N':>4} {'record':>18} | {'thomson':>18} {'diff':>9} {'starts':>6} {'time s':>7}"
    if not args.no_baseline:
        head += f" | {'L-BFGS-B':>18} {'diff':>9} {'starts':>6} {'time s':>7} | {'ratio':>6}"
    print(head)
    print("-" * len(head))
    rows = []
    for n in ns:
        record = table[n]
        target = record + tolerance(record)
        ours = thomson.solve(
            n, 3, s=1, restarts=args.restarts, seed=args.seed, target=target, time_limit=args.time_limit
        )
        row = {
            "n": n,
            "record": record,
            "thomson": ours.value,
            "thomson_diff": ours.value - record,
            "thomson_starts": len(ours.start_values),
            "thomson_seconds": ours.seconds,
            "thomson_matched": abs(ours.value - record) <= tolerance(record),
        }
        line = (
            f"{n:>4} {record:>18.9f} | {ours.value:>18.9f} {ours.value - record:>9.1e} "
            f"{len(ours.start_values):>6} {ours.seconds:>7.2f}"
        )
        if not args.no_baseline:
            value, starts, seconds = baseline(n, target, args.restarts, args.time_limit, args.seed)
            row |= {
                "baseline": value,
                "baseline_diff": value - record,
                "baseline_starts": starts,
                "baseline_seconds": seconds,
                "baseline_matched": abs(value - record) <= tolerance(record),
            }
            line += f" | {value:>18.9f} {value - record:>9.1e} {starts:>6} {seconds:>7.2f}"
            line += f" | {ours.seconds / seconds:>6.2f}"
        print(line, flush=True)
        rows.append(row)
    print()
    matched = sum(r["thomson_matched"] for r in rows)
    below = [r["n"] for r in rows if r["thomson_diff"] < -tolerance(r["record"])]
    t_ours = sum(r["thomson_seconds"] for r in rows)
    print(f"thomson.solve matched {matched} of {len(rows)} records; total {t_ours:.1f} s")
    if below:
        print(f"  below the record by more than the tolerance (inspect!): N = {below}")
    if not args.no_baseline:
        base = sum(r["baseline_matched"] for r in rows)
        t_base = sum(r["baseline_seconds"] for r in rows)
        print(f"L-BFGS-B baseline matched {base} of {len(rows)} records; total {t_base:.1f} s")
        both = [r for r in rows if r["thomson_matched"] and r["baseline_matched"]]
        if both:
            ratios = [r["thomson_seconds"] / r["baseline_seconds"] for r in both]
            print(
                f"time to record, thomson / baseline, where both matched ({len(both)} N): "
                f"median {float(np.median(ratios)):.2f}, total {t_ours / t_base:.2f} (all N)"
            )
    if args.csv:
        with args.csv.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
