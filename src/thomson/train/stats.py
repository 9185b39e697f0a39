"""Summary statistics of repeated runs: mean, standard deviation and the t-interval of the mean."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from thomson._optional import require


@dataclass(frozen=True)
class Interval:
    """Mean, sample standard deviation (n − 1) and a confidence interval ``[low, high]`` of the mean of ``n``
    values; the interval is NaN for fewer than 2 values."""

    n: int
    mean: float
    std: float
    low: float
    high: float


def t_quantile(p: float, df: int) -> float:
    """The ``p``-quantile of Student's t distribution with ``df`` degrees of freedom (scipy).

    Example:
        >>> round(t_quantile(0.975, 2), 4)
        4.3027
    """
    stats = require("scipy.stats", extra="train", purpose="the t-intervals of a comparison")
    return float(stats.t.ppf(p, df))


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """The mean of ``values`` with its t-interval: ``mean ± t_{(1+confidence)/2, n−1} · std / √n``.

    Paired differences (a regularizer's accuracy minus the baseline's, seed by seed) go through the same
    function: the interval of their mean is the paired t-interval.

    Args:
        values: the observations (NaN-free).
        confidence: coverage of the interval. Default 0.95.

    Example:
        >>> iv = mean_interval([1.0, 2.0, 3.0])
        >>> iv.mean, iv.std, round(iv.high - iv.mean, 4)
        (2.0, 1.0, 2.4841)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    n = len(values)
    if n == 0:
        nan = float("nan")
        return Interval(0, nan, nan, nan, nan)
    mean = math.fsum(values) / n
    if n == 1:
        return Interval(1, mean, float("nan"), float("nan"), float("nan"))
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile((1 + confidence) / 2, n - 1) * std / math.sqrt(n)
    return Interval(n, mean, std, mean - half, mean + half)


def t_test_pvalue(values: Sequence[float]) -> float:
    """Two-sided p-value of Student's one-sample t-test of mean 0; on paired differences, the paired t-test.

        t = mean / (std / √n),   p = 2·(1 − F_{n−1}(|t|))

    NaN for fewer than 2 values; 1 when all values are 0, 0 when they are equal and not 0 (std = 0).

    Args:
        values: the observations, e.g. a regularizer's accuracy minus the baseline's, seed by seed.

    Example:
        >>> round(t_test_pvalue([1.0, 2.0, 3.0]), 4)
        0.0742
    """
    t = require("scipy.stats", extra="train", purpose="the paired t-test of a comparison").t
    n = len(values)
    if n < 2:
        return float("nan")
    mean = math.fsum(values) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    if std == 0:
        return 1.0 if mean == 0 else 0.0
    return float(2 * t.sf(abs(mean) / (std / math.sqrt(n)), n - 1))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values: reject hypothesis ``i`` at family-wise error rate α iff ``p̃_i ≤ α``.

        with p_(1) ≤ … ≤ p_(m) sorted,   p̃_(k) = min(1, max_{j ≤ k} (m − j + 1)·p_(j))

    Equivalent to Holm's step-down test (compare ``p_(j)`` with ``α/(m − j + 1)`` from the smallest, stop at the
    first that fails) at every α, and controls the family-wise error rate under any dependence between the
    tests. NaN p-values are left NaN and not counted in ``m``.

    Args:
        pvalues: one p-value per hypothesis of the family.

    Example:
        >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03, 0.5])]
        [0.04, 0.09, 0.09, 0.5]
    """
    indexed = sorted((p, i) for i, p in enumerate(pvalues) if not math.isnan(p))
    m = len(indexed)
    out = [float("nan")] * len(pvalues)
    running = 0.0
    for j, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - j) * p))
        out[i] = running
    return out
