"""Bad command lines and bad files: one line naming the problem and the fix, exit status 2, through the real entry
point (issue 10, 3.14). Each case once ended in a traceback, a message without the file, or silence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from helpers import run_thomson

TINY = ["--data", "synthetic", "--steps", "5", "--milestones", "", "--batch-size", "32", "--model-opt", "hidden=[8]"]


def one_line_error(command: str, *args: str, **kwargs: object) -> str:
    done = run_thomson(command, *args, **kwargs)  # type: ignore[arg-type]
    assert done.returncode == 2, (done.stdout, done.stderr)
    [line] = done.stderr.splitlines()
    assert line.startswith(f"thomson {command}: error: ") and "Traceback" not in done.stderr, done.stderr
    return line


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# (command, config file text or None, extra flags, what the message must say)
CASES = {
    "threads 0": ("train", None, ["--threads", "0"], "threads must be an integer >= 1, got 0"),
    "lr nan": ("train", None, ["--lr", "nan"], "lr must be a finite real number >= 0, got nan"),
    "momentum 5": ("train", None, ["--momentum", "5"], "momentum must be a finite real number >= 0 and < 1, got 5.0"),
    "gamma -1": ("train", None, ["--gamma", "-1"], "gamma must be a finite real number > 0, got -1.0"),
    "coef without a regularizer": (
        "train", None, ["--reg", "none", "--coef", "5"],
        "--coef 5 has no effect with --reg none: remove it, or choose a regularizer",
    ),
    "a table that is not a setting": (
        "train", "[reg_option]\ns = 0\n", [],
        "unknown table [reg_option]; the tables are [model_options], [data_options], [reg_options], [compare]",
    ),
    "unknown key in [compare]": (
        "compare", '[compare]\ngrids = ["none"]\n', [], "unknown key(s) ['grids'] in [compare]; its keys are",
    ),
    "grid as a string": ("compare", '[compare]\ngrid = "none"\n', [], "[compare] grid must be a list of entries"),
    "grid of numbers": ("compare", "[compare]\ngrid = [1, 2]\n", [], "[compare] grid must be a list of entries"),
    "seeds as a string": ("compare", '[compare]\nseeds = "0,1"\n', [], "[compare] seeds must be a list of integers"),
    "reg options in a compare config": (
        "compare", "[reg_options]\ns = 0\n", [], "reg_options is set by the command for each run",
    ),
    "bad --seeds": ("compare", None, ["--seeds", "0,x"], "--seeds must be comma-separated integers >= 0"),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_bad_settings_are_one_line_errors(tmp_path: Path, case: str) -> None:
    command, text, flags, expected = CASES[case]
    config = ["--config", str(write(tmp_path / "run.toml", text))] if text is not None else []
    line = one_line_error(command, *config, *TINY, *flags, "--out", str(tmp_path / "out"))
    assert expected in line, line
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_config_that_is_a_folder_or_binary(tmp_path: Path) -> None:
    line = one_line_error("train", "--config", str(tmp_path))
    assert f"config file {tmp_path} is a folder: name a .toml file in it" in line
    binary = tmp_path / "model.pt"
    torch.save({"w": torch.ones(3)}, binary)
    line = one_line_error("train", "--config", str(binary))
    assert f"config file {binary} is not valid TOML" in line


def test_milestones_help_shows_the_real_default() -> None:
    done = run_thomson("train", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "multiplied by gamma (default: 700)" in text and "(default: {})" not in text


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 cut short", b"step = 700\n", "foreign"])
def test_resume_from_a_bad_checkpoint(tmp_path: Path, content: bytes | str) -> None:
    out = tmp_path / "run"
    out.mkdir()
    if content == "foreign":
        torch.save({"weight": torch.ones(2, 2)}, out / "checkpoint.pt")  # a model's state_dict, not a run
    else:
        assert isinstance(content, bytes)
        (out / "checkpoint.pt").write_bytes(content)
    line = one_line_error("train", *TINY, "--out", str(out), "--resume")
    reason = "is not a checkpoint of thomson train" if content == "foreign" else "is not a readable checkpoint"
    assert f"{out / 'checkpoint.pt'} {reason}" in line and line.endswith(
        "start afresh with --overwrite, or choose another --out"
    )


def test_resume_beyond_the_steps_and_a_corrupt_cell_of_a_comparison(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run_thomson("train", *TINY, "--steps", "30", "--out", str(out)).returncode == 0
    line = one_line_error("train", *TINY, "--steps", "20", "--out", str(out), "--resume")
    assert line.endswith(f"{out / 'checkpoint.pt'} is at step 30, beyond steps=20: resume with --steps 30 or more")

    cell = tmp_path / "grid" / "runs" / "none" / "seed0"
    cell.mkdir(parents=True)
    (cell / "checkpoint.pt").write_bytes(b"\x00" * 10)
    line = one_line_error("compare", *TINY, "--grid", "none", "--seeds", "0", "--workers", "1", "--no-plots",
                          "--out", str(tmp_path / "grid"))  # fmt: skip
    assert f"{cell / 'checkpoint.pt'} is not a readable checkpoint" in line


def test_compare_takes_its_threads_from_omp_num_threads(tmp_path: Path) -> None:
    done = run_thomson("compare", *TINY, "--grid", "none", "--seeds", "0", "--workers", "1", "--no-plots", "--out",
                       str(tmp_path), env={"OMP_NUM_THREADS": "3"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(r"in 1 process\(es\) × 3 thread\(s\)", done.stdout), done.stdout
