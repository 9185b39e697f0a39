"""pytest configuration shared by every test: one torch thread per test. Helpers live in ``tests/helpers.py``."""

from __future__ import annotations

import pytest
import torch

from helpers import (  # noqa: F401  (re-exported: ``from conftest import ...`` still works)
    RECORDS_DIR,
    as_tensor,
    icosahedron,
    octahedron,
    reference_table,
    regular_simplex,
    tetrahedron,
)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    """One intra-op thread per test: pytest-xdist already uses every core, and tiny tensors run many times slower
    with several threads. Reset before every test, since the training tools set their own thread count."""
    torch.set_num_threads(1)
