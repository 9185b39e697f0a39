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
