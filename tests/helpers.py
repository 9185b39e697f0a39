"""Helpers shared by the tests: the repository root, the published reference tables, closed-form configurations
and numpy re-expressions of reference code used by more than one test module. Import them with
``from helpers import ...`` (``tests/`` is on the path, see ``pythonpath`` in pyproject.toml)."""

from __future__ import annotations

import csv
import itertools
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
"""The repository root (configs/, src/)."""

RECORDS_DIR = ROOT / "records"
"""The published tables (Thomson, Tammes, log-energy, Riesz s = 2 records) shipped with the repository."""


def reference_table(name: str, column: str) -> dict[int, float]:
    """``{n: value}`` from ``records/<name>.csv``; a missing table is an error, never a skip."""
    with (RECORDS_DIR / f"{name}.csv").open() as f:
        return {int(row["n"]): float(row[column]) for row in csv.DictReader(f)}


def tetrahedron() -> np.ndarray:
    return np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64) / math.sqrt(3)


def octahedron() -> np.ndarray:
    return np.concatenate([np.eye(3), -np.eye(3)])


def icosahedron() -> np.ndarray:
    phi = (1 + math.sqrt(5)) / 2
    pts = []
    for a, b in itertools.product((-1, 1), repeat=2):
        pts += [(0, a, b * phi), (a, b * phi, 0), (b * phi, 0, a)]
    x = np.array(pts, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def regular_simplex(n: int) -> np.ndarray:
    """``n`` unit vectors in R^n with all pairwise cosines ``-1/(n-1)``."""
    x = np.eye(n) - 1.0 / n
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def as_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64)


def reference_columns(w: np.ndarray, half: bool) -> np.ndarray:
    """The code's neurons: columns of [W, -W] (half space), ε-normalized once (its ``norm``)."""
    filt = w.reshape(w.shape[0], -1).T
    if half:
        filt = np.concatenate([filt, -filt], axis=1)
    return filt / np.sqrt((filt * filt).sum(axis=0, keepdims=True) + 1e-4)


def reference_cosines(filt: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The code's ``cal``: cosines of the pole with the columns, each ε-normalized again; also the unit columns
    ``u`` and the pole's ``n = sqrt(|v|² + ε)``, so that ``c = vᵀu / n`` and ``dc/dv = u/n - c v/n²``."""
    u = filt / np.sqrt((filt * filt).sum(axis=0, keepdims=True) + 1e-4)
    n = math.sqrt(float(v @ v) + 1e-4)
    return (v @ u) / n, u, n


def mma_reference(w: np.ndarray) -> float:
    """Wang et al.'s MMA code re-expressed in numpy (F.normalize, cos - 2 diag(diag(cos)), row max, clamp)."""
    unit = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
    cos = unit @ unit.T
    cos = cos - 2.0 * np.diag(np.diag(cos))
    return float(np.arccos(np.clip(cos.max(axis=1), -0.99999, 0.99999)).mean())


def run_thomson(*args: str, timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m thomson ARGS`` in a fresh interpreter (the real entry point), one torch thread, output captured."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", **kwargs.pop("env", {})}
    return subprocess.run(
        [sys.executable, "-m", "thomson", *args], capture_output=True, text=True, env=env, timeout=timeout, **kwargs
    )
