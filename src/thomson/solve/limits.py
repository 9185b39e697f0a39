"""Bounds on a solve: the memory it needs, estimated before anything is allocated, and the time it may take.

Memory. :func:`memory_estimate` adds up what a solve holds at its peak (bytes, float64 throughout): the L-BFGS
state, ``6·memory + 24`` copies of the ``N·D`` coordinates (the curvature pairs, their transported copies
while they are replaced, the iterates and gradients); the symmetric start's SVD of an ``N×N`` matrix when
``N <= D + 1``; and for separation and covering the SLSQP polish over ``V = N·D + 1`` variables (scipy's
workspace of about ``5·V²`` numbers, a dense Jacobian row per constraint, an ``N×N`` Gram matrix). The
constraints are the near pairs (about ``N·2^(D-1)``) or the convex hull's facets (about ``2N·4^(D-3)``, as
measured for random points). :func:`check_memory` refuses a solve whose estimate exceeds the limit, by
default the memory the machine has available (``MemAvailable`` of ``/proc/meminfo``).

Time. Inside :func:`watch` the optimizer checks :func:`expired` at every iteration and every step of its line
search, the SLSQP polish at every evaluation of its constraints, and an energy evaluated through
:class:`WatchedKernel` at every tile of pairs (raising :class:`Expired`, which the optimizer catches), so a time
limit bounds the whole run, even one whose single evaluation takes minutes: it returns the best configuration
found by the deadline. :func:`progress` is how the optimizer reports where it is; the watch passes a line to its
``report`` function every ``every`` seconds, also in the middle of a long evaluation.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from torch import Tensor

from thomson.kernels import Kernel

LBFGS_MEMORY = 20
"""Curvature pairs the solver's L-BFGS keeps (:func:`~thomson.solve.lbfgs.minimize_on_spheres`'s default)."""

FIXED_BYTES = 128 * 2**20
"""Workspace of a solve whatever its size: the engine's tiles, the interpreter's and the allocator's temporaries
(measured: about 12 MB above the L-BFGS state for 1000 points in R^120; the rest is margin)."""

LONG_RUN_PAIRS = 10**7
"""Pair terms per evaluation from which a solve announces its size (about a second per evaluation on a CPU core)."""


def memory_estimate(n: int, dim: int, objective: str, *, symmetric: bool = True) -> int:
    """Bytes a solve of ``n`` points in ``R^dim`` holds at its peak (an upper estimate, see the module's text).

    Example:
        >>> memory_estimate(10**9, 3, "riesz") > 10**12     # a billion points: about 3 TB
        True
        >>> memory_estimate(12, 3, "riesz") < 200 * 2**20
        True
    """
    coordinates = 8 * n * dim
    total = FIXED_BYTES + (6 * LBFGS_MEMORY + 24) * coordinates
    if symmetric and n <= dim + 1:
        total += 6 * 8 * n * n  # the regular simplex: an SVD of the centred N×N identity
    if objective in ("separation", "covering"):
        variables = n * dim + 1
        if objective == "separation":
            constraints = min(n * 2 ** (dim - 1), n * (n - 1) // 2)
        else:
            constraints = 2 * n * 4 ** max(dim - 3, 0)
        total += 8 * (5 * variables**2 + 3 * (constraints + n) * variables + 3 * n * n)
    return total


def available_memory() -> int | None:
    """Bytes of memory the machine can give a new allocation without swapping (``MemAvailable`` of
    ``/proc/meminfo`` on Linux, the free physical pages elsewhere), or None where that is unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(n: int, dim: int, objective: str, limit: float | None = None, *, symmetric: bool = True) -> int:
    """The estimate of :func:`memory_estimate`, or ValueError, in one line naming it and the limit, when it
    exceeds ``limit`` bytes (None: the memory available now; ``math.inf``: no limit)."""
    need = memory_estimate(n, dim, objective, symmetric=symmetric)
    if limit is None:
        available = available_memory()
        limit, where = (math.inf, "") if available is None else (float(available), "available")
    else:
        where = "allowed"
    if need > limit:
        raise ValueError(
            f"a {objective} solve of n={n} points in R^{dim} needs about {format_bytes(need)} of memory, more than "
            f"the {format_bytes(limit)} {where}: lower n (or dim), or set a higher memory limit "
            "(memory_limit=, --memory-limit) if the machine has it"
        )
    return need


def format_bytes(size: float) -> str:
    """``size`` bytes in binary units: ``'1.5 GiB'``.

    Example:
        >>> format_bytes(1536 * 2**20), format_bytes(512)
        ('1.5 GiB', '512 B')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError  # pragma: no cover


def parse_bytes(text: str) -> float:
    """A size in bytes from ``"8G"``, ``"500M"``, ``"2.5GiB"``, ``"123"``, or ``"none"`` (no limit: ``inf``).

    Example:
        >>> parse_bytes("8G") == 8 * 2**30, parse_bytes("none")
        (True, inf)
    """
    cleaned = text.strip().lower().removesuffix("ib").removesuffix("b")
    if cleaned in ("none", "inf", "no"):
        return math.inf
    scale = 1
    if cleaned and cleaned[-1] in "kmgtp":
        scale = 1024 ** ("kmgtp".index(cleaned[-1]) + 1)
        cleaned = cleaned[:-1]
    try:
        value = float(cleaned) * scale
    except ValueError:
        value = math.nan
    if not value > 0:
        raise ValueError(f"a memory size must read like 8G, 500M or 1000000 (bytes) or none, got {text!r}")
    return value


@dataclass
class Watch:
    """The deadline of a running solve and its progress reports (see :func:`watch`)."""

    deadline: float | None
    report: Callable[[str], None] | None
    every: float
    began: float = field(default_factory=time.monotonic)
    stage: str = ""
    last_report: float = field(default_factory=time.monotonic)
    timed_out: bool = False
    iteration: int = 0
    value: float = math.nan

    def maybe_report(self, doing: str = "") -> None:
        now = time.monotonic()
        if self.report is not None and now - self.last_report >= self.every:
            self.last_report = now
            where = (
                "first evaluation" if math.isnan(self.value) else f"iteration {self.iteration}, value {self.value!r}"
            )
            self.report(f"{self.stage}: {where}{doing} ({now - self.began:.0f} s)")


class Expired(Exception):
    """The solve's time limit passed in the middle of an evaluation (raised by :class:`WatchedKernel`)."""


_WATCH: ContextVar[Watch | None] = ContextVar("thomson_solve_watch", default=None)


@contextmanager
def watch(
    time_limit: float | None = None, report: Callable[[str], None] | None = None, *, every: float = 5.0
) -> Iterator[Watch]:
    """Within this context the solver stops at ``time_limit`` seconds from now (None: no limit) and passes a
    progress line to ``report`` every ``every`` seconds."""
    now = time.monotonic()
    state = Watch(None if time_limit is None else now + time_limit, report, every, now, last_report=now)
    token = _WATCH.set(state)
    try:
        yield state
    finally:
        _WATCH.reset(token)


def expired() -> bool:
    """Whether the running solve has reached its deadline (False outside :func:`watch`, or without a limit)."""
    state = _WATCH.get()
    if state is None or state.deadline is None:
        return False
    if time.monotonic() >= state.deadline:
        state.timed_out = True
    return state.timed_out


def stage(description: str) -> None:
    """Name what the solver is doing now (e.g. ``"start 3 of 11 (random)"``), for the progress lines."""
    state = _WATCH.get()
    if state is not None:
        state.stage = description


def progress(iteration: int, value: float) -> None:
    """Report an iteration of the optimizer; a line goes to the watch's ``report`` every ``every`` seconds."""
    state = _WATCH.get()
    if state is not None:
        state.iteration, state.value = iteration, value
        state.maybe_report()


@dataclass(frozen=True)
class WatchedKernel(Kernel):
    """``inner``, evaluated tile by tile under the solve's watch: each tile first checks the deadline (raising
    :class:`Expired` once it has passed) and may report progress. The values are ``inner``'s."""

    inner: Kernel

    def _tick(self) -> None:
        state = _WATCH.get()
        if state is None:
            return
        if expired():
            raise Expired
        state.maybe_report(", evaluating")

    def value(self, c: Tensor) -> Tensor:
        self._tick()
        return self.inner.value(c)

    def derivative(self, c: Tensor) -> Tensor:
        self._tick()
        return self.inner.derivative(c)

    def value_and_derivative(self, c: Tensor) -> tuple[Tensor, Tensor]:
        self._tick()
        return self.inner.value_and_derivative(c)


__all__ = [
    "Expired",
    "WatchedKernel",
    "available_memory",
    "check_memory",
    "expired",
    "format_bytes",
    "memory_estimate",
    "parse_bytes",
    "progress",
    "stage",
    "watch",
]
