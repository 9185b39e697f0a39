from __future__ import annotations

import json
from pathlib import Path

import pytest

from thomson.train import runlog
from thomson.train.runlog import RunLog, read_log


def test_records_are_json_lines_and_resume_drops_later_ones(tmp_path: Path) -> None:
    log = RunLog(tmp_path, tensorboard=False)
    for step in (0, 10, 20, 30):
        log.write({"step": step, "kind": "train", "loss": 1.0 / (step + 1), "energy": {"fc": float("nan")}})
    log.close()
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [0, 10, 20, 30]
    assert json.loads(lines[0])["energy"] == {"fc": None}
    with (tmp_path / "log.jsonl").open("a") as f:
        f.write('{"step": 40, "kin')  # cut short by a kill
    assert [r["step"] for r in read_log(tmp_path / "log.jsonl")] == [0, 10, 20, 30]
    RunLog(tmp_path, resume_step=20, tensorboard=False).close()
    assert [r["step"] for r in read_log(tmp_path / "log.jsonl")] == [0, 10, 20]
    RunLog(tmp_path, tensorboard=False).close()  # a fresh run starts an empty log
    assert read_log(tmp_path / "log.jsonl") == []


def test_disabled_log_writes_nothing(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "rank1", enabled=False)
    log.write({"step": 0, "kind": "eval"})
    assert not (tmp_path / "rank1").exists()


class _Board:
    """A stand-in for ``torch.utils.tensorboard`` that records the writers made."""

    def __init__(self) -> None:
        self.writers: list[str] = []

    def SummaryWriter(self, folder: str, purge_step: int | None = None) -> _Board:  # the real name
        self.writers.append(folder)
        return self

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("asked", "installed", "writes"), [(None, True, True), (None, False, False),
                                                            (False, True, False), (True, True, True)])  # fmt: skip
def test_tensorboard_is_written_as_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asked: bool | None, installed: bool, writes: bool
) -> None:
    board = _Board()
    monkeypatch.setattr(runlog, "optional", lambda module: board if installed else None)
    RunLog(tmp_path, tensorboard=asked).close()
    assert board.writers == ([str(tmp_path / "tb")] if writes else [])


def test_tensorboard_asked_for_but_missing_is_an_error_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runlog, "optional", lambda module: None)
    with pytest.raises(ImportError, match="needs the tensorboard package, which is not installed: pip install"):
        RunLog(tmp_path / "run", tensorboard=True)
    assert not (tmp_path / "run").exists()
