"""Stopping cleanly: SIGTERM and SIGINT (Ctrl-C) ask a run to finish its step, save a checkpoint and return, and the
worker processes of ``compare`` end with their parent, whether it was stopped by a signal or killed.

One flag per process says that a stop was asked for (:attr:`StopSignal.requested`); the handlers of
:class:`StopSignal` set it and run its ``on_stop`` hook (``compare`` forwards SIGTERM to its workers there). In a
worker, :func:`start_worker` keeps that flag for the process's lifetime (a signal between two cells stops the
next ones too) and starts a thread that watches the parent: when the parent has gone (SIGKILL), the worker sends
itself SIGTERM, so the running cell saves its checkpoint, and then exits.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, ClassVar

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
"""The signals that stop a run cleanly (checkpoint, exit status 0)."""

PARENT_POLL = 0.5
"""Seconds between two looks of a worker at its parent."""


class StopSignal:
    """Within this context SIGTERM and SIGINT set :attr:`requested` (and call ``on_stop``) instead of ending the
    process, so that a loop can finish its step, save and return; the previous handlers come back at the end.
    Handlers are installed from the main thread only. The flag belongs to the process and is cleared when the
    outermost context ends.

    Example:
        >>> with StopSignal() as stop:
        ...     stop.requested  # no signal yet
        False
    """

    _requested: ClassVar[bool] = False
    _depth: ClassVar[int] = 0

    def __init__(self, on_stop: Callable[[], None] | None = None) -> None:
        self.on_stop = on_stop
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        """Whether SIGTERM or SIGINT has arrived since the outermost context began."""
        return StopSignal._requested

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        StopSignal._requested = True
        if self.on_stop is not None:
            self.on_stop()

    def __enter__(self) -> StopSignal:
        StopSignal._depth += 1
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        StopSignal._depth -= 1
        if StopSignal._depth == 0:
            StopSignal._requested = False


def stop_children() -> None:
    """Send SIGTERM to this process's live child processes (``compare``'s workers), so their cells checkpoint."""
    for child in multiprocessing.active_children():
        if child.pid is not None:
            try:
                os.kill(child.pid, signal.SIGTERM)
            except ProcessLookupError:  # it ended meanwhile
                pass


_CELL = threading.Lock()
"""Held by a worker while it runs a cell: the parent's watcher waits for it before ending the process."""


def start_worker(parent: int) -> None:
    """Initializer of a ``compare`` worker (``parent``: the pid of the process that started it): its stop flag
    lasts the process's lifetime, and a daemon thread ends the process once the parent has gone."""
    StopSignal().__enter__()  # never exited: the worker ends with its process
    threading.Thread(target=_watch_parent, args=(parent,), name="thomson-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os.kill(os.getpid(), signal.SIGTERM)  # the running cell, if any, finishes its step and saves
    with _CELL:
        os._exit(0)


def run_exclusively(work: Callable[[], Any]) -> Any:
    """``work()`` while holding the cell lock (a worker's watcher then waits for it to return)."""
    with _CELL:
        return work()


__all__ = ["PARENT_POLL", "STOP_SIGNALS", "StopSignal", "run_exclusively", "start_worker", "stop_children"]
