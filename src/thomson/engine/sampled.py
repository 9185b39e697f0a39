"""Unbiased estimators of the mean pair term ``mean_{i<j} f(c_ij)`` for sets too large for exact pairs.

Two sampling units, both unbiased for the mean over the ``M(M-1)/2`` pairs of the ``M`` points (``M = N``, or
``M = 2N`` for ``[x; -x]`` in half space), with a standard error from the same draw:

* ``"pairs"``: ``S`` pairs of distinct points drawn uniformly with replacement; the estimate is the mean of their
  terms, its standard error ``sd/√S``. Cost ``O(S·D)``; use it when even one row against all is too much, or
  for a quick look at a huge layer.
* ``"rows"``: ``S`` distinct rows drawn uniformly; each contributes its mean term against all ``M - 1`` other
  points, ``m_b = r_b/(M - 1)`` (exact, streamed). ``E[m_b]`` is the mean pair term because every pair is
  counted once from each end. Standard error ``sd(m)/√S · √(1 - S/N)`` (finite population), 0 when ``S = N``.
  Cost ``O(S·N·D)`` in matrix products; far lower variance per sample, so the better choice whenever a few
  rows against all fit the budget.

The estimate is differentiable (once): its gradient is an unbiased estimate of the gradient of the mean.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple, get_args

import torch
from torch import Tensor

from thomson._validate import integer, one_of
from thomson.engine.chosen_rows import row_sums
from thomson.kernels import Kernel

Sampling = Literal["rows", "pairs"]
SAMPLINGS: tuple[Sampling, ...] = get_args(Sampling)


class Estimate(NamedTuple):
    """An estimate of a mean and its standard error (the error is not differentiable)."""

    value: Tensor
    stderr: Tensor


def sampled_pair_mean(
    x: Tensor,
    kernel: Kernel,
    samples: int,
    *,
    half_space: bool = False,
    sampling: Sampling = "rows",
    generator: torch.Generator | None = None,
) -> Estimate:
    """Unbiased estimate of ``mean_{i<j} f(x_iᵀx_j)`` over the rows of ``x: [N, D]`` (of ``[x; -x]`` in half space).

    Args:
        x: rows ``[N, D]``, already normalized.
        kernel: the pair term.
        samples: rows (``sampling="rows"``, at most ``N``) or pairs (``"pairs"``) to draw, >= 1.
        half_space: over ``[x; -x]``. Default False.
        sampling: ``"rows"`` or ``"pairs"``, see the module. Default ``"rows"``.
        generator: random source (on ``x``'s device). Default: torch's global generator.

    Returns:
        ``Estimate(value, stderr)``, 0-dim tensors of ``x``'s dtype; ``(0, 0)`` when there is no pair.

    Example:
        >>> from thomson.engine import pair_count, pairwise_sum
        >>> from thomson.kernels import Riesz
        >>> x = torch.nn.functional.normalize(torch.randn(2000, 8, generator=torch.Generator().manual_seed(0)))
        >>> exact = pairwise_sum(x, Riesz(s=1)) / pair_count(2000)
        >>> est = sampled_pair_mean(x, Riesz(s=1), 20, generator=torch.Generator().manual_seed(1))
        >>> bool(abs(est.value - exact) < 4 * est.stderr), bool(est.stderr < 0.01 * exact)
        (True, True)
    """
    one_of("sampling", sampling, SAMPLINGS)
    integer("samples", samples, low=1)
    n = x.shape[0]
    m = 2 * n if half_space else n
    zero = x.new_zeros(())
    if m < 2:
        return Estimate(zero + 0.0 * x.sum(), zero)
    if sampling == "pairs":
        a, b = draw_pairs(m, samples, generator, x.device)
        sign = torch.where((a >= n) ^ (b >= n), -1.0, 1.0).to(x.dtype)
        return pairs_estimate(kernel.value(sign * (x[a % n] * x[b % n]).sum(1)))
    index = draw_rows(n, samples, generator, x.device)
    s = index.shape[0]
    weight = torch.full((s,), 1.0 / (s * (m - 1)), dtype=x.dtype, device=x.device)
    value, sums = row_sums(x, index, kernel, weight=weight, half_space=half_space)
    return Estimate(value, rows_stderr(sums / (m - 1), n))


def draw_rows(n: int, samples: int, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """The rows of the ``"rows"`` estimator: ``min(samples, n)`` distinct indices in ``[0, n)``, uniform."""
    return torch.randperm(n, generator=generator, device=device)[: min(samples, n)]


def draw_pairs(m: int, samples: int, generator: torch.Generator | None, device: torch.device) -> tuple[Tensor, Tensor]:
    """The pairs of the ``"pairs"`` estimator: ``samples`` pairs ``(a, b)`` of distinct points of ``[0, m)``, uniform
    (with replacement). Point ``p`` of ``[x; -x]`` (``m = 2n``) is row ``p mod n``, negated when ``p >= n``, so that
    a row against its own negation is drawn with the right frequency."""
    a = torch.randint(m, (samples,), generator=generator, device=device)
    b = torch.randint(m - 1, (samples,), generator=generator, device=device)  # among the m - 1 others
    return a, b + (b >= a).long()


def rows_stderr(means: Tensor, n: int) -> Tensor:
    """Standard error of the ``"rows"`` estimate from the sampled rows' means ``[S]`` among ``n`` rows: with the
    finite-population factor, 0 when every row was drawn, NaN from a single row."""
    s = means.shape[0]
    if s == n:
        return means.new_zeros(())
    return means.std() / math.sqrt(s) * math.sqrt(1.0 - s / n) if s > 1 else means.new_tensor(math.nan)


def pairs_estimate(terms: Tensor) -> Estimate:
    """The ``"pairs"`` estimate from the sampled pairs' terms ``[S]``: their mean and its standard error."""
    samples = terms.shape[0]
    stderr = terms.detach().std() / math.sqrt(samples) if samples > 1 else terms.new_tensor(math.nan)
    return Estimate(terms.mean(), stderr)
