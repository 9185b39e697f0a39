"""What the solver needs of a problem (a local search from a start, and which direction is better), and the
registry of problems by name.

A problem is registered with a factory ``(s, n, dim) -> Problem`` that checks the arguments it depends on:

>>> sorted(PROBLEMS.names())
['covering', 'log', 'riesz', 'separation']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol, get_args

from torch import Tensor

from thomson._validate import real
from thomson.registry import Registry
from thomson.solve.lbfgs import LocalRun

ObjectiveName = Literal["riesz", "log", "separation", "covering"]
OBJECTIVES: tuple[ObjectiveName, ...] = get_args(ObjectiveName)
"""The problems built into the solver (the names of :data:`PROBLEMS` unless the user registers more)."""


class Problem(Protocol):
    """An objective on ``N`` unit rows: a local search from ``x0``, and its sense (and Riesz exponent, if any)."""

    @property
    def maximize(self) -> bool: ...

    @property
    def s(self) -> float | None: ...

    def local_search(self, x0: Tensor, max_iter: int) -> LocalRun: ...


ProblemFactory = Callable[[float | None, int, int], Problem]
"""``(s, n, dim) -> Problem``: builds a problem for ``n`` points in ``R^dim`` (raises ValueError on arguments it
cannot take)."""

PROBLEMS: Registry[ProblemFactory] = Registry("objective")
"""The solver's problems by name (``objective=`` of :func:`thomson.solve`)."""


def without_exponent(objective: str, s: float | None) -> None:
    """Refuse a Riesz exponent for a problem that has none."""
    if s is not None:
        raise ValueError(f"s applies to objective='riesz' only, got s={s!r} with objective={objective!r}")


def make_problem(objective: str, s: float | None, n: int, dim: int) -> Problem:
    """The :class:`Problem` registered as ``objective``, built for these arguments (validated, naming the
    offending one)."""
    if objective not in PROBLEMS:
        raise ValueError(f"objective must be one of {tuple(sorted(PROBLEMS.names()))}, got {objective!r}")
    if s is not None:
        real("s", s)
    return PROBLEMS.get(objective)(s, n, dim)
