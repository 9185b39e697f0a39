"""Shared test helpers: the published reference tables and closed-form configurations."""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

RECORDS_DIR = Path(__file__).resolve().parents[1] / "records"
"""The published tables (Thomson, Tammes, log-energy, Riesz s = 2 records) shipped with the repository."""


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    """One intra-op thread per test: pytest-xdist already uses every core, and tiny tensors run many times slower
    with several threads. Reset before every test, since the training tools set their own thread count."""
    torch.set_num_threads(1)


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
