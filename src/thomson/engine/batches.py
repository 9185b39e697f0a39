"""Several row sets in one engine pass: which ones to evaluate together, and how to stack them.

The engine reduces a batch ``[B, N, D]`` of row sets in one pass (:func:`thomson.engine.pairwise_sum`), which on
small layers costs little more than one set: most of a small call is fixed cost. Row sets with the same number of
rows ``N`` can share a pass when their dimensions ``D`` differ too, by padding the shorter rows with zero
coordinates, which changes no norm and no cosine (in either normalization, :mod:`thomson.engine.normalization`),
so each set's value and gradient are exactly its own. Row sets with different ``N`` are never stacked (padding rows
would add pairs).

Padding costs arithmetic, so :func:`batch_groups` merges sets only while a simple cost model says it pays: a pass
costs a fixed ``CALL_COST`` plus ``N²·D`` multiply-adds per set at ``MAC_COST`` (both in microseconds of a
forward and backward, measured with ``benchmarks/bench_sizes.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

CALL_COST = {"cpu": 60.0, "cuda": 150.0}
"""Fixed cost of one engine pass, forward and backward, in µs (Python, autograd and ~30 small kernels)."""

MAC_COST = {"cpu": 2e-4, "cuda": 2e-6}
"""Cost of ``N²·D`` (the Gram product and the gradient's, forward and backward) per unit, in µs."""


@dataclass(frozen=True)
class Group:
    """Row sets reduced in one pass: ``members`` (indices into the sets: one set of any shape ``[..., N, D]``, or
    several ``[N, D_b]`` sets of one ``N``, stacked with zero coordinates padding the narrower rows, which changes no
    cosine), in half space or not, times ``weight``, by tiles of ``tile`` rows."""

    members: tuple[int, ...]
    half_space: bool
    weight: float
    tile: int


def batch_groups(shapes: Sequence[tuple[int, int]], device: torch.device) -> list[list[int]]:
    """Groups of indices of row sets ``(N, D)`` to evaluate together: same ``N``, merged (largest ``D`` first) while
    the padded pass is estimated cheaper than separate ones. Every index appears in exactly one group.

    Example:
        >>> batch_groups([(25, 5), (25, 75), (25, 75), (64, 27), (64, 576)], torch.device("cpu"))
        [[1, 2, 0], [4], [3]]
    """
    call = CALL_COST.get(device.type, CALL_COST["cuda"])
    mac = MAC_COST.get(device.type, MAC_COST["cuda"])
    by_rows: dict[int, list[int]] = {}
    for index, (n, _) in enumerate(shapes):
        by_rows.setdefault(n, []).append(index)
    groups: list[list[int]] = []
    for n, indices in by_rows.items():
        indices = sorted(indices, key=lambda i: -shapes[i][1])  # stable: equal D keep their order
        group = [indices[0]]
        for i in indices[1:]:
            width, d = shapes[group[0]][1], shapes[i][1]
            if mac * n * n * (width - d) < call:  # padding this set costs less than a pass of its own
                group.append(i)
            else:
                groups.append(group)
                group = [i]
        groups.append(group)
    return groups


def stack_rows(rows: Sequence[Tensor]) -> Tensor:
    """``[B, N, D]``: the row sets ``[N, D_b]`` stacked, the narrower ones padded with zero coordinates."""
    width = max(r.shape[-1] for r in rows)
    return torch.stack(
        [r if r.shape[-1] == width else torch.nn.functional.pad(r, (0, width - r.shape[-1])) for r in rows]
    )


__all__ = ["CALL_COST", "MAC_COST", "Group", "batch_groups", "stack_rows"]
