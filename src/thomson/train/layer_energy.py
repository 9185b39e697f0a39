"""Per-layer hyperspherical energy of a model, the common yardstick of every run, and its simplex lower bound."""

from __future__ import annotations

import torch
from torch import nn

from thomson.objectives import MHE
from thomson.regularizer import Regularizer


def layer_energies(model: nn.Module) -> dict[str, float]:
    """Full-space ``s = 2`` MHE of the rows of each weight a default :class:`~thomson.Regularizer` selects.

        E(W) = mean_{i<j} 1 / |ŵ_i − ŵ_j|²

    The same measure for every run, whatever its regularizer, so runs can be compared.

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
        >>> sorted(layer_energies(model))
        ['0.weight', '2.weight']
    """
    probe = Regularizer(model, MHE(s=2), check_finite=False).eval()
    with torch.no_grad():
        probe()
    return probe.stats


def layer_sizes(model: nn.Module) -> dict[str, tuple[int, int]]:
    """``(N, D)`` of each layer of :func:`layer_energies`: its number of neurons and their dimension."""
    return {t.name: (t.rows().shape[0], t.rows().shape[1]) for t in Regularizer(model, MHE(s=2)).targets}


def simplex_bound(n: int) -> float:
    """The least mean ``s = 2`` energy of ``n`` unit vectors: its value at the regular simplex, ``e(−1/(n−1))``.

        mean_{i<j} 1/(2 − 2c_ij) ≥ 1/(2 + 2/(n − 1)) = (n − 1)/(2n)

    since ``1/(2 − 2c)`` is convex and increasing in ``c`` and the mean cosine is at least ``−1/(n−1)``
    (``|Σ ŵ_i|² ≥ 0``). Attained only when ``n ≤ D + 1``. NaN for ``n < 2`` (no pair).

    Example:
        >>> simplex_bound(100)
        0.495
    """
    return (n - 1) / (2 * n) if n >= 2 else float("nan")
