"""Shared test helpers: the published reference tables and closed-form configurations."""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

# The published tables live in shared/reference beside the checkout (or beside one of its parent folders).
REFERENCE_DIR = next(
    (p / "shared" / "reference" for p in Path(__file__).resolve().parents if (p / "shared" / "reference").is_dir()),
    Path(__file__).resolve().parents[2] / "shared" / "reference",
)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    """One intra-op thread per test: pytest-xdist already uses every core, and tiny tensors run many times slower
    with several threads. Reset before every test, since the training tools set their own thread count."""
    torch.set_num_threads(1)


def reference_table(name: str, column: str) -> dict[int, float]:
    """``{n: value}`` from ``../shared/reference/<name>.csv``; skips the test when the folder is absent."""
    path = REFERENCE_DIR / f"{name}.csv"
    if not path.exists():
        pytest.skip(f"reference table {path} not present")
    with path.open() as f:
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
