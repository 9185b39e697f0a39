from __future__ import annotations

import math

import numpy as np
import pytest

from thomson.train.stats import mean_interval, t_quantile


def test_t_quantiles_match_closed_forms() -> None:
    for p in (0.9, 0.975, 0.995):
        assert math.isclose(t_quantile(p, 1), math.tan(math.pi * (p - 0.5)), rel_tol=1e-9)  # Cauchy
        assert math.isclose(t_quantile(p, 2), (2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel_tol=1e-9)


def test_interval_of_three_values() -> None:
    values = [0.91, 0.93, 0.96]
    iv = mean_interval(values)
    half = (2 * 0.975 - 1) / math.sqrt(2 * 0.975 * 0.025) * np.std(values, ddof=1) / math.sqrt(3)
    assert iv.n == 3 and iv.mean == pytest.approx(np.mean(values), abs=1e-15)
    assert iv.std == pytest.approx(np.std(values, ddof=1), rel=1e-12)
    assert (iv.low, iv.high) == pytest.approx((iv.mean - half, iv.mean + half), rel=1e-12)


def test_degenerate_samples() -> None:
    one = mean_interval([0.5])
    assert one.mean == 0.5 and math.isnan(one.std) and math.isnan(one.low)
    assert math.isnan(mean_interval([]).mean)
    same = mean_interval([0.2, 0.2, 0.2])
    assert same.low == pytest.approx(0.2) and same.high == pytest.approx(0.2)
    with pytest.raises(ValueError, match="confidence"):
        mean_interval([1.0, 2.0], confidence=1.0)
