from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_thomson
from thomson.cli import main

TINY = ["--data", "synthetic", "--steps", "20", "--milestones", "", "--batch-size", "32", "--model-opt", "hidden=[16]"]


def test_compare_cli_reads_the_compare_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "grid.toml"
    config.write_text(f'[compare]\ngrid = ["none", "mhe"]\nseeds = [3]\nout = "{tmp_path / "res"}"\n')
    assert main(["compare", "--config", str(config), *TINY, "--workers", "1", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "1 seed ·" in out and "(baseline)" in out and "mhe" in out
    assert (tmp_path / "res" / "results.csv").exists() and (tmp_path / "res" / "runs" / "mhe" / "seed3").is_dir()
    assert main(["compare", *TINY, "--grid", "none", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown regularizer 'nope'" in capsys.readouterr().err


def test_the_tables_of_another_comparison_are_never_replaced_silently(tmp_path: Path) -> None:
    out = tmp_path / "res"
    common = [*TINY, "--steps", "5", "--workers", "1", "--no-plots", "--out", str(out)]
    assert main(["compare", *common, "--grid", "none", "mhe", "--seeds", "0"]) == 0
    table = (out / "results.json").read_text()
    done = run_thomson("compare", *common, "--grid", "none", "--seeds", "0")  # would drop mhe from the table
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"thomson compare: error: {out} holds the results of another comparison, with 1 run(s) not in this one "
        f"(mhe seed 0): add them to --grid/--seeds to extend it, replace its tables with --overwrite (the runs stay "
        f"in {out / 'runs'}), or choose another --out\n"
    )
    assert (out / "results.json").read_text() == table
    assert main(["compare", *common, "--grid", "none", "mhe", "--seeds", "0,1"]) == 0  # extending it is resuming
    assert main(["compare", *common, "--grid", "none", "--seeds", "0", "--overwrite"]) == 0
    assert [cell["label"] for cell in json.loads((out / "results.json").read_text())["cells"]] == ["none"]
    assert (out / "runs" / "mhe" / "seed1" / "summary.json").exists()  # the runs stay
