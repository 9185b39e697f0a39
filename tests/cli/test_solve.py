"""``thomson solve`` through ``thomson.cli.main``."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import run_thomson
from thomson.cli import main


def test_prints_the_value_at_full_precision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "--n", "6", "--restarts", "1"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("value"))
    text = line.split()[1]
    assert float(text) == pytest.approx(6 * math.sqrt(2) + 1.5, rel=1e-14)  # the octahedron
    assert repr(float(text)) == text  # round-trips: every digit is printed


def test_json_has_the_points(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "--n", "5", "--dim", "4", "--objective", "log", "--restarts", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["n"], data["dim"], data["objective"], data["s"]) == (5, 4, "log", 0.0)
    points = np.array(data["points"])
    assert points.shape == (5, 4)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0, atol=1e-14)
    assert data["value"] == pytest.approx(-10 * 0.5 * math.log(2 * 5 / 4), rel=1e-12)  # the simplex in S³
    assert data["history"][-1] == data["value"]


@pytest.mark.parametrize(("dim", "objective"), [("3", "riesz"), ("4", "separation")])
def test_plot_and_save(tmp_path: Path, dim: str, objective: str, capsys: pytest.CaptureFixture[str]) -> None:
    png, npy = tmp_path / "out.png", tmp_path / "points.npy"
    args = ["solve", "--n", "8", "--dim", dim, "--objective", objective, "--restarts", "1"]
    assert main([*args, "--plot", str(png), "--save", str(npy)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.load(npy).shape == (8, int(dim))


def test_save_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("p.csv", "p.pt"):
        assert main(["solve", "--n", "4", "--restarts", "1", "--save", str(tmp_path / name)]) == 0
    csv_points = np.loadtxt(tmp_path / "p.csv", delimiter=",")
    pt_points = torch.load(tmp_path / "p.pt", weights_only=True)
    np.testing.assert_array_equal(csv_points, pt_points.numpy())


def test_bad_arguments_give_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "--n", "1"]) == 2
    assert "n must be an integer >= 2" in capsys.readouterr().err
    assert main(["solve", "--n", "4", "--objective", "separation", "--s", "2"]) == 2
    with pytest.raises(SystemExit):
        main(["solve", "--n", "4", "--objective", "nonsense"])


def test_a_solve_too_large_for_the_memory_is_refused_in_one_line() -> None:
    done = run_thomson("solve", "--n", "1000000000", timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert re.fullmatch(
        r"thomson solve: error: a riesz solve of n=1000000000 points in R\^3 needs about [\d.]+ TiB of memory, more "
        r"than the [\d.]+ [KMGT]iB (available|allowed): lower n \(or dim\), or set a higher memory limit .*",
        line,
    ), line
    done = run_thomson("solve", "--n", "40", "--memory-limit", "1M")
    assert done.returncode == 2 and "more than the 1.0 MiB allowed" in done.stderr


def test_the_time_limit_stops_a_long_evaluation_with_progress_lines() -> None:
    done = run_thomson("solve", "--n", "100000", "--restarts", "0", "--time-limit", "6", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # valid JSON: the unknown value is null
    assert result["timed_out"] and result["value"] is None and result["seconds"] < 30
    lines = done.stderr.splitlines()
    assert lines[0].startswith("thomson solve: 100000 points in R^3: about 5.0e+09 pair terms per evaluation")
    assert any("start 1 of 1 (symmetric): first evaluation, evaluating (" in line for line in lines[1:])


def test_save_checks_the_file_type_first_and_creates_the_folder(tmp_path: Path) -> None:
    done = run_thomson("solve", "--n", "6", "--save", str(tmp_path / "points.xyz"))
    assert done.returncode == 2 and done.stdout == ""  # refused before solving
    assert "--save" in done.stderr and "unknown file type; use one of .npy, .csv, .txt, .pt" in done.stderr
    done = run_thomson("solve", "--n", "6", "--restarts", "1", "--save", str(tmp_path / "new" / "points.npy"))
    assert done.returncode == 0, done.stderr
    assert np.load(tmp_path / "new" / "points.npy").shape == (6, 3)


def test_save_and_plot_never_replace_a_file_silently(tmp_path: Path) -> None:
    points = tmp_path / "points.npy"
    np.save(points, np.zeros((2, 3)))
    done = run_thomson("solve", "--n", "6", "--restarts", "1", "--save", str(points))
    assert done.returncode == 2 and done.stdout == ""  # refused before solving
    assert (
        done.stderr
        == f"thomson solve: error: --save {points} exists: choose another file, or replace it with --overwrite\n"
    )
    assert np.load(points).shape == (2, 3)
    done = run_thomson("solve", "--n", "6", "--restarts", "1", "--save", str(points), "--overwrite")
    assert done.returncode == 0, done.stderr
    assert np.load(points).shape == (6, 3)
