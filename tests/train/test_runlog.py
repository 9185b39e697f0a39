from __future__ import annotations

import json
from pathlib import Path

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
