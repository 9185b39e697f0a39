"""examples/contrastive.py runs end to end in reduced form (a few steps), writing its plot and its numbers."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contrastive.py"


def test_contrastive_example_runs(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    spec = importlib.util.spec_from_file_location("contrastive_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--steps", "3", "--eval-every", "2", "--out", str(tmp_path)])
    assert set(results) == {"untrained", "align + uniformity", "align only"}
    for r in results.values():
        assert 0.0 <= r["probe_accuracy"] <= 1.0
        assert 0.0 <= r["alignment"] <= 4.0 and -8.0 <= r["uniformity"] <= 0.0 and math.isfinite(r["uniformity"])
    assert (tmp_path / "contrastive.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "contrastive.json").read_text())
    assert [h["step"] for h in saved["histories"]["align only"]] == [0, 2, 3]
