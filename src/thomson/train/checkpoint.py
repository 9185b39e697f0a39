"""Training checkpoints: one file, written atomically, holding everything a bit-exact resume needs."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINT = "checkpoint.pt"
"""The checkpoint's file name in a run's folder."""


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` with ``torch.save`` to a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic, so ``path`` always holds a complete checkpoint, even if the process is killed
    while writing. A run's checkpoint is the dict ``{"model": state_dict, "optimizer": ..., "regularizer":
    ..., "step": int, "rng": capture_rng(), "config": dict, ...}``; it loads with ``weights_only=True``.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "ckpt.pt"
        >>> save_checkpoint(path, {"step": 3}); load_checkpoint(path)["step"]
        3
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


RUN_KEYS = ("model", "optimizer", "regularizer", "step", "rng", "config", "elapsed", "energy_init", "metrics")
"""What a training run's checkpoint holds (see :func:`save_checkpoint`)."""


def load_checkpoint(path: str | Path, *, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """The dict saved by :func:`save_checkpoint`, on the CPU (``weights_only=True``: no code is run).

    A file that cannot be read as one (empty, cut short, not a torch file, unsafe, or a dict without ``keys``) is
    a ValueError naming it.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # torch.load raises RuntimeError, EOFError, UnpicklingError, ... on a bad file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path} is not a readable checkpoint ({reason[:200]})") from error
    missing = [key for key in keys if not isinstance(state, dict) or key not in state]
    if missing:
        raise ValueError(f"{path} is not a checkpoint of thomson train (it has no {', '.join(missing)})")
    checked: dict[str, Any] = state
    return checked


def capture_rng() -> dict[str, Any]:
    """The state of every global random generator: torch (CPU and CUDA), numpy and Python's ``random``."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # type: ignore[misc]  # noqa: NPY002
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, cached],
        "python": random.getstate(),
    }


def restore_rng(state: dict[str, Any]) -> None:
    """Set the global generators to a state from :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    legacy = (kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached)
    np.random.set_state(legacy)  # noqa: NPY002
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
