"""Separation of directions: the smallest pairwise distance (Tammes problem, MHS) and nearest-neighbour angles (MMA)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import Tensor

from thomson._validate import one_of, real
from thomson.engine import BACKENDS, Backend, block_rows, pairwise_sum
from thomson.functional.rows import as_rows, normalize_rows, unit_rows
from thomson.kernels import Gaussian

MMA_CLAMP = 0.99999
"""MMA's cosine clamp (Wang et al.'s code): angles stay in ``[0.0045, π - 0.0045]``, ``arccos`` has a finite slope."""


def min_separation(
    x: Tensor,
    *,
    temperature: float = 0.0,
    half_space: bool = False,
    reference: bool = False,
    backend: Backend = "auto",
) -> Tensor:
    """Smallest squared chord between the directions of the rows of ``x: [N, D]`` (the Tammes objective).

        sep(X) = min_{i<j} d²_ij,   d²_ij = |u_i - u_j|² = 2 - 2 u_iᵀu_j,   u_i = x_i / |x_i|

    The smallest angle is ``arccos(1 - sep/2)``. The hard minimum's gradient reaches only the closest pair
    (one of them when several tie). With ``temperature = T > 0`` it is the soft minimum

        sep_T(X) = -T log Σ_{i<j} exp(-d²_ij / T)

    which is smooth, gives gradient to every pair in proportion to ``exp(-d²/T)``, and satisfies
    ``sep - T log P <= sep_T <= sep`` for ``P`` pairs, so it tends to the hard minimum as ``T → 0``. The sum
    runs through :func:`thomson.engine.pairwise_sum` with a :class:`~thomson.kernels.Gaussian` kernel shifted
    by the hard minimum (no overflow or underflow at any temperature).

    ``half_space=True`` measures the ``2N`` directions ``[u; -u]``: the minimum of ``2 - 2|c_ij|`` over
    ``i < j`` and of ``2 + 2|u_i|²`` (a row against its own negation).

    ``reference=True`` is the Sphere-Uniformity code: rows ε-normalized twice (ε = 1e-4, see
    :func:`~thomson.functional.directions.directions`), and the hard minimum summed over every pair of the
    (doubled) set that attains it, as the code's masked sum does. In half space each pair ``i < j`` appears
    twice (``(u_i, u_j)`` and ``(-u_i, -u_j)``), so the reference value is twice the minimum.

    Args:
        x: rows ``[N, D]``; need not be unit vectors. Half precision is computed in float32.
        temperature: ``0`` for the hard minimum, ``> 0`` for the soft minimum. Default 0.
        half_space: measure ``[u; -u]``. Default False.
        reference: the reference code's normalization and tie sum. Default False.
        backend: engine backend for the soft minimum's pair sum. Default ``"auto"``.

    Returns:
        A 0-dim tensor; 0 when there is no pair (``N = 1`` in full space).

    Example:
        >>> square = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
        >>> float(min_separation(square))  # neighbours at 90°: d² = 2
        2.0
    """
    real("temperature", temperature, low=0.0)
    one_of("backend", backend, BACKENDS)
    with torch.autocast(x.device.type, enabled=False):
        rows = as_rows(x)
        n = rows.shape[0]
        if n == 0 or (n == 1 and not half_space):
            return rows.sum() * 0.0
        unit = unit_rows(rows, reference=reference)
        if reference and temperature == 0.0:
            pairs = _tied_pairs(unit.detach(), half_space)
            if not len(pairs):  # no distance is a number: the rows are not finite
                return rows.sum() * math.nan
        else:  # found on the device, nothing read on the host (torch.compile traces it whole)
            pairs = _closest_pair(unit.detach(), half_space)
        i, j = pairs[:, 0], pairs[:, 1]
        c = (unit[i] * unit[j]).sum(dim=1)
        own = i == j  # a row and its own negation: d² = 2 + 2|u_i|² (half space only)
        d2 = torch.where(own, 2.0 + 2.0 * c, 2.0 - 2.0 * c.abs()) if half_space else 2.0 - 2.0 * c
        if temperature > 0.0:
            smallest = float(d2.detach().min())
            if not math.isfinite(smallest):  # no pair has a distance: the rows are not finite
                return rows.sum() * math.nan
            smallest = max(smallest, 0.0)  # the kernel's shift: no term overflows or underflows
            kernel = Gaussian(width=temperature, shift=smallest)
            total = pairwise_sum(unit, kernel, half_space=half_space, backend=backend)
            return smallest - temperature * torch.log(total)
        if not (reference and half_space):
            return d2.sum()  # one pair, or every tied pair in reference mode
        # Entries of the doubled set's upper triangle: (u_i,u_j), (-u_i,-u_j) give 2-2c; (u_i,-u_j), (-u_i,u_j)
        # give 2+2c; both kinds tie at c = 0. A row against its own negation appears once.
        copies = torch.where(own, 1.0, torch.where(c == 0, 4.0, 2.0))
        return (copies * d2).sum()


def _distances(unit: Tensor, half_space: bool) -> Iterator[tuple[int, Tensor]]:
    """Blocks of :func:`~thomson.engine.block_rows` rows of the matrix of ``d²`` (see :func:`min_separation`), with
    their first row: ``d²_ij`` above the diagonal, on it ``2 + 2|u_i|²`` (half space: a row and its negation) or
    inf, inf below. Memory ``O(GRAM_BLOCK)``."""
    n = unit.shape[0]
    step = block_rows(n)
    cols = torch.arange(n, device=unit.device)
    for start in range(0, n, step):
        g = unit[start : start + step] @ unit.T
        r = torch.arange(start, start + g.shape[0], device=unit.device)[:, None]
        if half_space:
            yield start, torch.where(cols > r, 2.0 - 2.0 * g.abs(), torch.where(cols == r, 2.0 + 2.0 * g, math.inf))
        else:
            yield start, torch.where(cols > r, 2.0 - 2.0 * g, math.inf)


def _closest_pair(unit: Tensor, half_space: bool) -> Tensor:
    """``[[i, j]]``: the first pair, in row-major order, with the smallest ``d²`` (``j == i``: a row and its
    negation). Kept on the device: a running minimum, no value read on the host."""
    n = unit.shape[0]
    best = torch.full((), math.inf, dtype=unit.dtype, device=unit.device)
    where = torch.zeros((), dtype=torch.long, device=unit.device)
    with torch.no_grad():
        for start, d2 in _distances(unit, half_space):
            low, k = d2.flatten().min(0)  # the first smallest; a NaN when there is one (then the value is NaN)
            better = (low < best) | low.isnan()  # strict: an equal pair later in the order is not the first
            best = torch.where(better, low, best)
            where = torch.where(better, k + start * n, where)
    return torch.stack([where // n, where % n])[None]


def _tied_pairs(unit: Tensor, half_space: bool) -> Tensor:
    """``[K, 2]``: every pair ``(i, j)`` attaining the smallest ``d²`` (their number is read on the host); none when
    no ``d²`` is a number."""
    best = torch.full((), math.inf, dtype=unit.dtype, device=unit.device)
    found: list[Tensor] = []
    with torch.no_grad():
        for start, d2 in _distances(unit, half_space):
            low = d2.min()
            if bool(low < best):
                best, found = low, []
            if bool(low == best):
                hits = (d2 == low).nonzero()
                hits[:, 0] += start
                found.append(hits)
    return torch.cat(found) if found else torch.zeros((0, 2), dtype=torch.long, device=unit.device)


def mean_min_angle(x: Tensor, *, reference: bool = False) -> Tensor:
    """Mean over rows of the angle to the nearest other row (the quantity MMA maximizes; Wang et al. 2020).

        mean_i min_{j≠i} θ_ij,   θ_ij = arccos(clamp(ĉ_ij, -0.99999, 0.99999))

    The gradient of each row's term reaches its nearest neighbour pair only.

    ``reference=True`` is the MMA authors' code to the letter: rows divided by ``max(|x_i|, 1e-12)``, and the
    diagonal excluded by replacing ``c_ii`` with ``-c_ii`` rather than masking it (the same unless a row is
    zero, or ``N = 1``, where the reference measures a row against itself: θ ≈ π). The default masks the
    diagonal and gives 0 for ``N = 1``.

    Args:
        x: rows ``[N, D]``.
        reference: the MMA code's diagonal handling. Default False.

    Example:
        >>> round(float(mean_min_angle(torch.eye(3))), 6)  # orthonormal rows: every nearest angle is π/2
        1.570796
    """
    with torch.autocast(x.device.type, enabled=False):
        rows = as_rows(x)
        n = rows.shape[0]
        if n < (1 if reference else 2):
            return rows.sum() * 0.0
        if reference:
            unit = rows / torch.linalg.vector_norm(rows, dim=1, keepdim=True).clamp_min(1e-12)
            cos = unit @ unit.T
            cos = cos - 2.0 * torch.diag(torch.diagonal(cos))
        else:
            unit = normalize_rows(rows)
            cos = (unit @ unit.T).masked_fill(torch.eye(n, dtype=torch.bool, device=rows.device), -math.inf)
        nearest = cos.max(dim=1).values.clamp(-MMA_CLAMP, MMA_CLAMP)
        return torch.acos(nearest).mean()
