"""How a pairwise reduction ``Σ_{i<j} f(x_iᵀx_j)`` over the rows of ``x`` is evaluated.

Backends take rows that are already normalized (the caller decides how) and a :class:`~thomson.kernels.Kernel`.
``half_space=True`` evaluates the same reduction over the ``2N`` rows ``[x; -x]`` from the ``N×N`` cosines alone:

    Σ_{pairs of [x; -x]} f = 2 Σ_{i<j} (f(c_ij) + f(-c_ij)) + Σ_i f(-c_ii)

(``c_ii = |x_i|²``, which is 1 for unit rows; the last sum is each row against its own negation).

Both exact backends run the same custom autograd function (:mod:`thomson.engine.streaming`), which computes the
value and the gradient ``h'(C) X`` in one pass from the kernel's ``value_and_derivative``:

* ``"dense"``: one ``N×N`` tile. Fewest operations; ``O(N²)`` memory.
* ``"streaming"``: tiles of ``tile_rows(device, D)`` rows (256 or 512 on the CPU, 4096 on a GPU), only those on
  or above the diagonal: half the pair terms and 3/4 of the matrix-product work of the dense evaluation.
  ``O(N·D + tile²)`` memory. Up to one tile of rows it is the dense evaluation.
* ``"auto"`` (default): the streaming schedule, i.e. dense up to ``tile_rows`` rows and tiles above; measured
  fastest at every size on the CPU (``benchmarks/bench_energy.py``). Results agree to round-off whichever
  backend runs.

:func:`pairwise_sums` takes several row sets (several layers) in one autograd node and as few passes as pay
(:mod:`thomson.engine.batches`).

:mod:`thomson.engine.sampled` estimates the mean of the reduction from sampled pairs or rows when even the
streaming pass is too costly (10⁵–10⁶ rows).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Literal, get_args

import torch
from torch import Tensor

from thomson._validate import one_of
from thomson.engine.batches import Group, batch_groups
from thomson.engine.chosen_rows import cross_sums, row_sums
from thomson.engine.normalization import REFERENCE_EPS, Normalization
from thomson.engine.sampled import SAMPLINGS, Estimate, Sampling, sampled_pair_mean
from thomson.engine.streaming import (
    GRAM_BLOCK,
    block_rows,
    streaming_pairwise_sum,
    streaming_pairwise_sums,
    tile_rows,
)
from thomson.kernels import Kernel

Backend = Literal["auto", "dense", "streaming"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)


def pair_count(n: int, half_space: bool = False) -> int:
    """Number of unordered pairs among ``n`` rows, or among the ``2n`` rows ``[x; -x]`` when ``half_space``."""
    m = 2 * n if half_space else n
    return m * (m - 1) // 2


def pairwise_sum(
    x: Tensor,
    kernel: Kernel,
    *,
    half_space: bool = False,
    backend: Backend = "auto",
    normalize: Normalization | None = None,
    weight: float = 1.0,
) -> Tensor:
    """``Σ_{i<j} f(x_iᵀx_j)`` over the rows of ``x: [N, D]`` (over ``[x; -x]`` when ``half_space``).

    Differentiable with respect to ``x``. Returns a 0-dim tensor of ``x``'s dtype (0 when there is no
    pair). ``x`` may also be a batch ``[..., N, D]`` of independent row sets (e.g. the projections of one
    layer, or several layers of one shape); the result then has shape ``[...]``.

    ``normalize`` (a :class:`~thomson.engine.normalization.Normalization`) scales the rows first, in the same
    pass (``f`` of the cosines ``x̂_iᵀx̂_j``; the gradient is with respect to the raw rows); ``weight``
    multiplies the value and its gradient (``1/#pairs`` for a mean), both at no extra cost.

    Example:
        >>> import torch
        >>> from thomson.kernels import Riesz
        >>> x = torch.eye(3, dtype=torch.float64)      # three orthogonal unit vectors, all chords √2
        >>> round(float(pairwise_sum(x, Riesz(s=2))), 6)  # 3 pairs × 1/2
        1.5
    """
    if backend not in BACKENDS:
        one_of("backend", backend, BACKENDS)
    if x.dim() < 2:
        raise ValueError(f"x must have shape [..., N, D], got shape {tuple(x.shape)}")
    n, d = x.shape[-2:]
    tile = _tile(x.device, n, d, backend == "dense")
    return streaming_pairwise_sum(x, kernel, half_space=half_space, tile=tile, normalize=normalize, weight=weight)


def pairwise_sums(
    sets: Sequence[Tensor],
    kernel: Kernel,
    *,
    half_space: Sequence[bool],
    weights: Sequence[float],
    backend: Backend = "auto",
    normalize: Normalization | None = None,
) -> Tensor:
    """``[weights[b] · pairwise_sum(sets[b], half_space=half_space[b]) for b]`` as one tensor ``[L]``, from one
    autograd node and as few passes as pay (:mod:`thomson.engine.batches`): the pairwise sums of several layers'
    rows ``sets[b]: [N_b, D_b]`` at the cost of about one small call. Each value and gradient is exactly its own.

    Example:
        >>> import torch
        >>> from thomson.kernels import Riesz
        >>> sets = [torch.eye(3), torch.eye(4)[:3], torch.eye(2)]   # 3, 3 and 1 pairs at chord √2
        >>> pairwise_sums(sets, Riesz(s=2), half_space=[False] * 3, weights=[1.0] * 3)
        tensor([1.5000, 1.5000, 0.5000])
    """
    if backend not in BACKENDS:
        one_of("backend", backend, BACKENDS)
    if not len(sets) == len(half_space) == len(weights) or not sets:
        raise ValueError(
            f"pairwise_sums needs one half_space flag and one weight per set and at least one set, got {len(sets)} "
            f"sets, {len(half_space)} flags and {len(weights)} weights"
        )
    if any(x.dim() != 2 for x in sets) or len({x.device for x in sets}) > 1:
        raise ValueError("pairwise_sums needs sets of shape [N, D] on one device; call pairwise_sum for each other")
    key = (
        tuple((x.shape[0], x.shape[1], x.dtype) for x in sets),
        tuple(bool(h) for h in half_space),
        tuple(float(w) for w in weights),
        sets[0].device,
        backend == "dense",
    )
    groups = (_plan if torch.compiler.is_compiling() else _cached_plan)(*key)
    values = streaming_pairwise_sums(sets, kernel, groups, normalize=normalize)
    return values if len(sets) > 1 else values.reshape(1)


def _plan(
    sets: tuple[tuple[int, int, torch.dtype], ...],
    half_space: tuple[bool, ...],
    weights: tuple[float, ...],
    device: torch.device,
    dense: bool,
) -> tuple[Group, ...]:
    """The passes of :func:`pairwise_sums` for sets of these shapes ``(N, D, dtype)``, flags and weights: sets that
    share the space, weight and dtype stacked where :func:`~thomson.engine.batches.batch_groups` says it pays."""
    passes: dict[tuple[bool, float, torch.dtype], list[int]] = {}
    for b, ((_, _, dtype), half, weight) in enumerate(zip(sets, half_space, weights, strict=True)):
        passes.setdefault((half, weight, dtype), []).append(b)
    groups = []
    for (half, weight, _), members in passes.items():
        for chosen in batch_groups([sets[b][:2] for b in members], device):
            n, d, _ = sets[members[chosen[0]]]  # the widest
            groups.append(Group(tuple(sorted(members[c] for c in chosen)), half, weight, _tile(device, n, d, dense)))
    return tuple(groups)


def _tile(device: torch.device, n: int, d: int, dense: bool) -> int:
    """Rows per tile for sets of ``n`` rows of dimension ``d``: the device's, or (``dense``) at least ``n``, one tile
    per set (a batch of sets is still sliced to the device's tile, :mod:`thomson.engine.streaming`)."""
    tile = tile_rows(device, d)
    return max(n, tile) if dense else tile


_cached_plan = functools.lru_cache(maxsize=64)(_plan)


__all__ = [
    "BACKENDS",
    "GRAM_BLOCK",
    "REFERENCE_EPS",
    "SAMPLINGS",
    "Backend",
    "Estimate",
    "Normalization",
    "Sampling",
    "block_rows",
    "cross_sums",
    "pair_count",
    "pairwise_sum",
    "pairwise_sums",
    "row_sums",
    "sampled_pair_mean",
    "tile_rows",
]
