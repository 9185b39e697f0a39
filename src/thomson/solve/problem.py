"""What the solver needs of an objective: a local search from a start, and which direction is better."""

from __future__ import annotations

import math
from typing import Literal, Protocol

from torch import Tensor

from thomson.solve.lbfgs import LocalRun

ObjectiveName = Literal["riesz", "log", "separation", "covering"]
OBJECTIVES: tuple[ObjectiveName, ...] = ("riesz", "log", "separation", "covering")


class Problem(Protocol):
    """An objective on ``N`` unit rows: a local search from ``x0``, and its sense (and Riesz exponent, if any)."""

    @property
    def maximize(self) -> bool: ...

    @property
    def s(self) -> float | None: ...

    def local_search(self, x0: Tensor, max_iter: int) -> LocalRun: ...


def make_problem(objective: ObjectiveName, s: float | None, n: int, dim: int) -> Problem:
    """The :class:`Problem` for ``objective`` (validated here, naming the offending argument)."""
    # imported here: the separation and covering problems import scipy lazily, the energies never need it
    from thomson.solve.covering import CoveringProblem
    from thomson.solve.energy import EnergyProblem
    from thomson.solve.separation import SeparationProblem

    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if s is not None and (isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s)):
        raise ValueError(f"s must be a finite real number, got {s!r}")
    if objective == "riesz":
        return EnergyProblem(1.0 if s is None else float(s))
    if objective == "log":
        if s not in (None, 0):
            raise ValueError(f"objective='log' is the s = 0 energy; leave s unset, got s={s!r}")
        return EnergyProblem(0.0)
    if s is not None:
        raise ValueError(f"s applies to objective='riesz' only, got s={s!r} with objective={objective!r}")
    if objective == "separation":
        return SeparationProblem()
    if n < dim + 1:
        raise ValueError(
            f"objective='covering' needs n >= dim + 1 points (fewer leave a hemisphere uncovered), got n={n}, dim={dim}"
        )
    return CoveringProblem()
