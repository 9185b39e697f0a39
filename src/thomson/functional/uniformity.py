"""Uniformity of embeddings (Wang & Isola, ICML 2020): the log of the mean Gaussian kernel over pairs.

    U_t(Z) = log (1/P) Σ_{i<j} exp(-t |ẑ_i - ẑ_j|²),    ẑ_i = z_i/|z_i|,   P = N(N-1)/2

For unit rows ``|ẑ_i - ẑ_j|² = 2 - 2c_ij``, so the pair term is the Gaussian kernel of the cosine
(:class:`~thomson.kernels.Gaussian` with width ``1/t``) and the sum runs through the streaming engine: exact,
``O(N·D)`` memory with the gradient. Three forms: exact (:func:`uniformity`), a batch against a memory bank
(``queue=``, MoCo-style) and a sampled estimate with a standard error (:func:`estimate_uniformity`).

Numerics. Every term lies in ``[e^{-4t}, 1]``: the kernel's maximum is 1 (a duplicate pair), so nothing can
overflow, and a batch of duplicates gives exactly ``log 1 = 0``. The only hazard is underflow: when ``4t``
exceeds the exponent range of the computing precision (``log(1/tiny)``: 87.3 in float32, i.e. ``t > 21.8``;
708.4 in float64) a term could be 0 and a whole sum of them ``-inf``. Then the sum is shifted by the closest
pair's squared distance ``m`` (found in one more pass, without gradient): the terms ``exp(-t(d² - m))`` lie in
``(0, 1]`` with the largest equal to 1, and ``U = log((1/P) Σ exp(-t(d² - m))) - t·m`` exactly, with the same
gradient (``m`` is a constant of the identity). See ``docs/features.md``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from thomson._validate import one_of, real
from thomson.engine import (
    SAMPLINGS,
    Backend,
    Estimate,
    Sampling,
    block_rows,
    cross_sums,
    pairwise_sum,
    sampled_pair_mean,
)
from thomson.functional.rows import as_rows, normalize_rows
from thomson.kernels import Gaussian


def uniformity(
    z: Tensor,
    t: float = 2.0,
    *,
    queue: Tensor | None = None,
    intra_batch: bool = True,
    reference: bool = False,
    backend: Backend = "auto",
) -> Tensor:
    """Uniformity of the embeddings ``z: [N, D]`` (Wang & Isola): lower is more uniform.

        U_t(Z) = log (1/P) Σ_{i<j} exp(-t |ẑ_i - ẑ_j|²),     P = N(N-1)/2,   ẑ_i = z_i/|z_i|

    With a memory bank ``queue = Q: [K, D]`` of earlier embeddings (MoCo-style), the mean runs over the ``B·K``
    pairs of the batch ``z`` (``B = N`` rows) with the queue and, when ``intra_batch``, the ``B(B-1)/2`` pairs
    within the batch as well (the form of Wang & Isola's MoCo code, ``unif_intra_batch=True``):

        U_t(Z; Q) = log (1/P') [Σ_{b,k} exp(-t |ẑ_b - q̂_k|²) + Σ_{b<b'} exp(-t |ẑ_b - ẑ_b'|²)],
        P' = B·K + B(B-1)/2            (without the second sum and its B(B-1)/2 when intra_batch=False)

    The queue is detached: the gradient reaches ``z`` only. The batch-against-queue sum runs through
    :func:`thomson.engine.cross_sums` (``O((B + K)·D)`` memory).

    Values lie in ``[-4t, 0]``: 0 when all rows coincide, ``-2t·N/(N-1)`` at the minimum for ``N <= D + 1``
    (the regular simplex), and about ``-2t`` for many uniformly random directions in high dimension
    (``docs/features.md`` derives these).

    Modes:

    * default: rows normalized by :func:`~thomson.functional.normalize_rows` (a zero row stays zero: its cosine
      with every row is 0, i.e. it counts as orthogonal to all, ``d² = 2``); the log of the mean computed
      stably (see the module: no ``-inf`` at any ``t``, duplicates give 0, not NaN).
    * ``reference=True``: Wang & Isola's ``align_uniform`` code exactly, on ``z`` as given (no normalization:
      normalize first, as their code expects): ``log mean exp(-t·pdist(z)²)`` over ``i < j`` (``torch.pdist``,
      ``O(N²)`` memory); with a queue, their MoCo code: squared distances ``2 - 2 z_bᵀq_k`` to the queue (which
      assumes unit rows), joined with the batch's ``pdist²`` when ``intra_batch``. It underflows to ``-inf`` when
      every ``t·d²`` exceeds the exponent range, as theirs does.

    Args:
        z: embeddings ``[N, D]``, one per row; need not be unit vectors. Half precision is computed in float32.
        t: the kernel's scale, ``> 0``. Default 2 (Wang & Isola's default).
        queue: earlier embeddings ``[K, D]`` (no gradient flows into them), or None. Default None.
        intra_batch: with a queue, also count the pairs within the batch. Default True.
        reference: reproduce ``align_uniform`` (and its MoCo form) to the letter. Default False.
        backend: engine backend for the pairs within the batch, see :func:`thomson.engine.pairwise_sum`.

    Returns:
        A 0-dim tensor (float32 at least).

    Raises:
        ValueError: when there is no pair (``N = 1`` without a queue, or with an empty one): a mean over no
            pairs is undefined (``align_uniform`` returns NaN there). Drop incomplete last batches
            (``drop_last=True``) or give a queue.

    Example:
        >>> tetrahedron = torch.tensor([[1., 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64)
        >>> round(float(uniformity(tetrahedron)), 12)   # the minimum for N = 4: -2t·N/(N-1) = -16/3
        -5.333333333333
        >>> float(uniformity(torch.tensor([[0.0, 2.0, 0.0]]).repeat(5, 1)))   # five duplicates: log 1
        0.0
    """
    _check_t(t)
    with torch.autocast(z.device.type, enabled=False):
        rows = as_rows(z, "z")
        bank = None if queue is None else _as_bank(queue, rows)
        n, k = rows.shape[0], 0 if bank is None else bank.shape[0]
        within = n * (n - 1) // 2 if (bank is None or intra_batch) else 0
        pairs = within + n * k
        if pairs == 0:
            raise ValueError(
                f"uniformity needs at least one pair of embeddings, got N = {n}"
                + ("" if bank is None else f" and a queue of {k} (intra_batch={intra_batch})")
                + "; drop incomplete last batches (drop_last=True) or pass a queue"
            )
        if reference:
            return _reference(rows, t, bank, within > 0)
        unit = normalize_rows(rows)
        unit_bank = None if bank is None or k == 0 else normalize_rows(bank)
        shift = 0.0
        if 4.0 * t > _exponent_range(unit.dtype):  # some term could underflow: shift by the closest pair
            candidates = [] if within == 0 else [_nearest_d2(unit.detach(), None)]
            if unit_bank is not None:
                candidates.append(_nearest_d2(unit.detach(), unit_bank))
            shift = min(candidates)
        kernel = Gaussian(width=1.0 / t, shift=shift)
        total = unit.new_zeros(())
        if within:
            total = total + pairwise_sum(unit, kernel, backend=backend)
        if unit_bank is not None:
            total = total + cross_sums(unit, unit_bank, kernel)[0]
        return torch.log(total / pairs) - t * shift


def estimate_uniformity(
    z: Tensor,
    t: float = 2.0,
    *,
    samples: int,
    sampling: Sampling = "rows",
    generator: torch.Generator | None = None,
) -> Estimate:
    """Estimated :func:`uniformity` of ``z: [N, D]`` with its standard error, for 10⁵–10⁶ embeddings.

        Û = log m̂,    m̂ = mean over sampled rows b of (1/(N-1)) Σ_{j ≠ b} exp(-t |ẑ_b - ẑ_j|²)   (rows)
                      m̂ = mean over sampled pairs (a, b) of exp(-t |ẑ_a - ẑ_b|²)                    (pairs)
        se(Û) = se(m̂) / m̂          (the delta method: d log m = dm / m)

    ``m̂`` is the unbiased estimator of :func:`thomson.engine.sampled_pair_mean` (the mean kernel over all
    pairs), with its standard error from the same draw; the log of a mean is estimated by the log of the
    estimate, whose error is ``se(m̂)/m̂`` to first order. The log makes ``Û`` slightly biased low (by about
    ``se(Û)²/2``, Jensen's inequality), and its gradient ``∇m̂/m̂`` is a ratio estimator (consistent, not
    unbiased); with ``sampling="rows"`` the error is small (each sampled row averages ``N - 1`` terms), so
    both effects are negligible for monitoring and regularizing.

    Cost ``samples·N·D`` (rows) or ``samples·D`` (pairs); see ``docs/engine.md`` for which to use. Rows are
    normalized as in :func:`uniformity`; computed in float64 when ``exp(-4t)`` would underflow in float32
    (``t > 21.8``); ``t > 177`` (beyond float64) is refused: use the exact :func:`uniformity`.

    Args:
        z: embeddings ``[N, D]``; need not be unit vectors.
        t: the kernel's scale, ``> 0``. Default 2.
        samples: rows (at most ``N``; ``N`` gives the exact value and error 0) or pairs to draw.
        sampling: ``"rows"`` or ``"pairs"``. Default ``"rows"``.
        generator: random source on ``z``'s device. Default: torch's global generator.

    Returns:
        ``Estimate(value, stderr)``, 0-dim tensors (float32 at least).

    Example:
        >>> z = torch.randn(5000, 32, generator=torch.Generator().manual_seed(0))
        >>> est = estimate_uniformity(z, samples=64, generator=torch.Generator().manual_seed(1))
        >>> bool(abs(est.value - uniformity(z)) < 4 * est.stderr), bool(est.stderr < 0.01)
        (True, True)
    """
    _check_t(t)
    one_of("sampling", sampling, SAMPLINGS)
    with torch.autocast(z.device.type, enabled=False):
        unit = normalize_rows(as_rows(z, "z"))
        if unit.shape[0] < 2:
            raise ValueError(f"uniformity needs at least 2 embeddings, got N = {unit.shape[0]}")
        work = unit if 4.0 * t <= _exponent_range(unit.dtype) else unit.double()
        if 4.0 * t > _exponent_range(work.dtype):
            raise ValueError(
                f"t = {t!r} is too large to estimate: exp(-4t) underflows even in float64 (t <= 177); "
                "use the exact thomson.functional.uniformity, which shifts the sum by the closest pair"
            )
        mean, stderr = sampled_pair_mean(work, Gaussian(width=1.0 / t), samples, sampling=sampling, generator=generator)
        value = torch.log(mean)
        return Estimate(value.to(unit.dtype), (stderr / mean.detach()).to(unit.dtype))


def _check_t(t: float) -> None:
    real("t", t, low=0.0, strict=True)


def _as_bank(queue: Tensor, rows: Tensor) -> Tensor:
    """The queue as detached rows ``[K, D]`` matching the batch's dimension, dtype and device."""
    bank = as_rows(queue, "queue")
    if bank.shape[1] != rows.shape[1]:
        raise ValueError(
            f"queue must have the embeddings' dimension D = {rows.shape[1]}, got shape {tuple(queue.shape)}"
        )
    return bank.detach().to(device=rows.device, dtype=torch.promote_types(rows.dtype, bank.dtype))


def _exponent_range(dtype: torch.dtype) -> float:
    """``log(1/tiny)``: ``exp(-a)`` is a normal number of ``dtype`` for every ``a`` up to this."""
    return -math.log(torch.finfo(dtype).tiny)


def _nearest_d2(q: Tensor, x: Tensor | None) -> float:
    """The smallest ``2 - 2 q_bᵀx_j`` over all pairs of ``q`` with ``x`` (``x = None``: pairs ``b ≠ j`` within
    ``q``), a block of rows of ``q`` at a time (``O(GRAM_BLOCK)`` memory, see :func:`thomson.engine.block_rows`)."""
    other = q if x is None else x
    best = -math.inf
    step = block_rows(max(other.shape[0], 1))
    with torch.no_grad():
        for start in range(0, q.shape[0], step):
            c = q[start : start + step] @ other.T
            if x is None:
                c.diagonal(offset=start).fill_(-math.inf)
            best = max(best, float(c.max()))
    return max(0.0, 2.0 - 2.0 * min(best, 1.0))


def _reference(rows: Tensor, t: float, bank: Tensor | None, intra_batch: bool) -> Tensor:
    """Wang & Isola's formulas on the rows as given: ``align_uniform`` (and its MoCo form with a queue)."""
    d2 = torch.pdist(rows, p=2).pow(2)
    if bank is not None:
        cross = (2 - 2 * rows @ bank.T).flatten()
        d2 = torch.cat([cross, d2]) if intra_batch else cross
    return d2.mul(-t).exp().mean().log()
