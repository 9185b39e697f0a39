"""Names that moved keep working for one release, with a DeprecationWarning that names the replacement."""

from __future__ import annotations

import pytest
import torch

import thomson


def test_rows_of_is_weight_rows() -> None:
    from thomson.functional.rows import weight_rows

    with pytest.warns(DeprecationWarning, match="thomson.functional.rows.weight_rows"):
        from thomson.objectives.base import rows_of  # type: ignore[attr-defined]
    assert rows_of is weight_rows


def test_available_objectives_is_list_objectives() -> None:
    with pytest.warns(DeprecationWarning, match="list_objectives"):
        found = thomson.train.available_objectives()
    assert list(found) == thomson.list_objectives() and found["mhe"] is thomson.MHE


def test_report_format_table_is_format_comparison() -> None:
    from thomson.train.report import Cell, format_comparison, format_table, summarize

    summary = {
        "test_acc": 0.5,
        "test_loss": 1.0,
        "wall_time": 1.0,
        "energy_init": {"w": 0.6},
        "energy_final": {"w": 0.55},
        "energy_bound": {"w": 0.5},
        "sizes": {"w": [4, 3]},
    }
    comparison = summarize([Cell("none", "none", {}, 0, summary)], "none", {"data": "d", "model": "m", "steps": 1})
    with pytest.warns(DeprecationWarning, match="format_comparison"):
        assert format_table(comparison) == format_comparison(comparison)


def test_flags_that_did_nothing() -> None:
    with pytest.warns(DeprecationWarning, match="changes nothing"):
        so = thomson.SO(reference=True)
    assert float(so(torch.eye(3))) == 0.0
    with pytest.warns(DeprecationWarning, match="reference=not normalized"):
        assert thomson.RMHP(normalized=True).reference is False


def test_comhe_projection_literal_is_projection_name() -> None:
    from thomson.objectives.comhe import ProjectionName

    with pytest.warns(DeprecationWarning, match="ProjectionName"):
        from thomson.objectives.comhe import Projection  # type: ignore[attr-defined]
    assert Projection is ProjectionName
