"""Paired t-test p-values against scipy, and Holm's correction against its step-down definition."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from thomson.train.stats import holm, mean_interval, t_test_pvalue


def step_down_rejections(pvalues: list[float], alpha: float) -> set[int]:
    """Holm's procedure: sort, reject while p_(j) <= alpha/(m - j + 1), j from 1; stop at the first miss."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    m, rejected = len(pvalues), set()
    for j, i in enumerate(order, start=1):
        if pvalues[i] > alpha / (m - j + 1):
            break
        rejected.add(i)
    return rejected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=12))
def test_holm_adjusted_pvalues_reproduce_the_step_down_test_at_every_level(pvalues: list[float]) -> None:
    adjusted = holm(pvalues)
    assert all(p <= a <= 1.0 for p, a in zip(pvalues, adjusted, strict=True))
    near = {a * (1 + e) for a in adjusted for e in (-1e-9, 1e-9)}  # just below and above each adjusted p
    levels = sorted(level for level in {*near, 0.001, 0.01, 0.05, 0.1, 0.5} if 0 < level < 1)  # the cap at 1
    for alpha in levels:
        by_adjusted = {i for i, a in enumerate(adjusted) if a <= alpha}
        assert by_adjusted == step_down_rejections(pvalues, alpha)


def test_holm_skips_nan_and_handles_the_edges() -> None:
    adjusted = holm([0.02, float("nan"), 0.04])
    assert math.isnan(adjusted[1]) and adjusted[0] == pytest.approx(0.04) and adjusted[2] == pytest.approx(0.04)
    assert holm([]) == []
    assert holm([0.6, 0.7]) == [1.0, 1.0]


def test_paired_pvalue_and_interval_match_scipy() -> None:
    rng = np.random.default_rng(0)
    for n in (2, 3, 10):
        for shift in (0.0, 0.3, 1.5):
            a = rng.normal(size=n)
            b = a + shift + rng.normal(scale=0.5, size=n)
            diffs = list(b - a)
            assert t_test_pvalue(diffs) == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-10)
            low, high = stats.t.interval(0.95, n - 1, loc=np.mean(diffs), scale=stats.sem(diffs))
            interval = mean_interval(diffs)
            assert (interval.low, interval.high) == (pytest.approx(low, rel=1e-10), pytest.approx(high, rel=1e-10))


def test_degenerate_differences() -> None:
    assert math.isnan(t_test_pvalue([0.5]))
    assert t_test_pvalue([0.0, 0.0, 0.0]) == 1.0
    assert t_test_pvalue([0.01, 0.01, 0.01]) == 0.0
