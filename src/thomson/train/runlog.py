"""A run's log: one JSON object per line, mirrored to TensorBoard when it is installed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from thomson._optional import optional

LOG = "log.jsonl"
"""The log's file name in a run's folder."""

TENSORBOARD = "tb"
"""The folder of a run's TensorBoard events."""


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines log (a last line cut short by a kill is ignored)."""
    records: list[dict[str, Any]] = []
    path = Path(path)
    if not path.exists():
        return records
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records


def _scalars(record: dict[str, Any], prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(_scalars(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key != "step":
            out[f"{prefix}{key}"] = float(value)
    return out


class RunLog:
    """Appends records ``{"step": t, "kind": "train" | "eval", ...}`` to ``log.jsonl`` in ``folder``.

    On a resumed run (``resume_step`` given) records after that step, written before the interruption, are
    dropped, so the log of a resumed run equals the log of an uninterrupted one; a fresh run starts an empty
    log. With ``enabled=False`` (DDP ranks other than 0) nothing is written. TensorBoard receives the same
    numbers (nested keys joined with ``/``) as asked by ``tensorboard``.

    Args:
        folder: the run's folder.
        resume_step: the checkpoint's step, or None for a fresh log. Default None.
        enabled: write at all. Default True.
        tensorboard: also write TensorBoard events under ``folder/tb``: True (ImportError, naming the package,
            when ``tensorboard`` is not installed), False (never), or None (when it is installed). Default None.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        resume_step: int | None = None,
        enabled: bool = True,
        tensorboard: bool | None = None,
    ) -> None:
        self.path = Path(folder) / LOG
        self.enabled = enabled
        self._tb: Any = None
        if not enabled:
            return
        board = None if tensorboard is False else optional("torch.utils.tensorboard")
        if board is None and tensorboard:  # before anything is written
            raise ImportError(
                "tensorboard = true (--tensorboard true) needs the tensorboard package, which is not installed: pip "
                "install tensorboard, or leave TensorBoard out (--tensorboard false)"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept = [r for r in read_log(self.path) if r["step"] <= resume_step] if resume_step is not None else []
        self.path.write_text("".join(json.dumps(r) + "\n" for r in kept))
        if board is not None:
            self._tb = board.SummaryWriter(str(Path(folder) / TENSORBOARD), purge_step=resume_step)

    def write(self, record: dict[str, Any]) -> None:
        """Append one record (non-finite numbers are written as null)."""
        if not self.enabled:
            return
        with self.path.open("a") as f:
            f.write(json.dumps(_finite(record)) + "\n")
        if self._tb is not None:
            for tag, value in _scalars(record, f"{record.get('kind', 'run')}/").items():
                self._tb.add_scalar(tag, value, record["step"])

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
