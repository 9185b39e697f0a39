"""Hyperspherical energy of rows sharded across processes, exact or estimated."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor

from thomson.distributed.ring import sharded_pair_sum
from thomson.distributed.sampled import sampled_pair_mean
from thomson.engine import SAMPLINGS, Estimate, Sampling, pair_count
from thomson.functional.riesz import REDUCTIONS, Reduction, energy_terms
from thomson.kernels import Metric


def hyperspherical_energy(
    shard: Tensor,
    s: float = 2.0,
    *,
    metric: Metric = "euclidean",
    half_space: bool = False,
    reduction: Reduction = "mean",
    eps: float | None = None,
    reference: bool = False,
    group: dist.ProcessGroup | None = None,
) -> Tensor:
    """Hyperspherical energy of the rows of every rank's ``shard``, exact, on every rank.

        E_s = Σ_{i<j} f_s(z_ij)   over all rows of all ranks    (the mean over pairs with reduction="mean")

    Equal to :func:`thomson.hyperspherical_energy` on the concatenation of the shards in rank order (same
    normalization, kernel and constants; see there for the formula and the two modes). The pairs are evaluated
    once each, in a ring of block exchanges (:mod:`thomson.distributed.ring`): ``1.5 N²D/P`` multiply-adds and
    ``O((N/P)·D)`` memory per rank, ``P - 1`` blocks of ``N/P × D`` values sent and received per rank.
    ``backward()`` gives each rank the gradient with respect to its own rows (no communication; use the same
    loss on every rank). Every rank of ``group`` must call it with the same arguments; shards may differ in size
    and may be empty. No second derivatives.

    Args:
        shard: this rank's rows ``[N_r, D]``; need not be unit vectors. On the GPU for NCCL, the CPU for gloo.
        s, metric, half_space, reduction, eps, reference: as in :func:`thomson.hyperspherical_energy`.
        group: the process group holding the rows. Default: the default group (a single process when
            ``torch.distributed`` is not initialized).

    Returns:
        A 0-dim tensor (float32 at least), equal on every rank.

    Example:
        >>> import torch
        >>> w = torch.eye(4, dtype=torch.float64)                  # in a single process: all rows here
        >>> round(float(hyperspherical_energy(w, s=2, eps=0)), 9)   # every pair at chord √2: 1/2
        0.5
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    with torch.autocast(shard.device.type, enabled=False):
        unit, kernel, factor = energy_terms(shard, s, metric, reference=reference, eps=eps)
        total, shards = sharded_pair_sum(unit, kernel, half_space=half_space, group=group)
        total = factor * total
        if reduction == "sum":
            return total
        return total / max(pair_count(shards.total, half_space), 1)


def estimate_energy(
    shard: Tensor,
    s: float = 2.0,
    *,
    samples: int,
    sampling: Sampling = "rows",
    metric: Metric = "euclidean",
    half_space: bool = False,
    eps: float | None = None,
    reference: bool = False,
    generator: torch.Generator | None = None,
    group: dist.ProcessGroup | None = None,
) -> Estimate:
    """Unbiased estimate of the mean hyperspherical energy of every rank's rows, with its standard error.

    Equal to :func:`thomson.estimate_energy` on the concatenation of the shards with group rank 0's
    ``generator`` (the sample is drawn there and broadcast; see :mod:`thomson.distributed.sampled`). Cost per
    rank ``samples·(N/P)·D`` (``"rows"``) or ``samples·D`` (``"pairs"``); communication ``O(samples·D)``,
    independent of ``N``. Differentiable once: each rank gets the gradient with respect to its own rows.

    Args:
        shard: this rank's rows ``[N_r, D]``.
        s, samples, sampling, metric, half_space, eps, reference: as in :func:`thomson.estimate_energy`.
        generator: random source on rank 0. Default: torch's global generator there.
        group: the process group holding the rows. Default: the default group.

    Example:
        >>> import torch
        >>> w = torch.randn(300, 16, generator=torch.Generator().manual_seed(0))
        >>> est = estimate_energy(w, samples=300)       # one process, every row: the exact value, error 0
        >>> float(est.stderr)
        0.0
    """
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    with torch.autocast(shard.device.type, enabled=False):
        unit, kernel, factor = energy_terms(shard, s, metric, reference=reference, eps=eps)
        value, stderr = sampled_pair_mean(
            unit, kernel, samples, half_space=half_space, sampling=sampling, generator=generator, group=group
        )
    return Estimate(factor * value, factor * stderr)
