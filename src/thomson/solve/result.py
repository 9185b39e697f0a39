"""What :func:`thomson.solve` returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor

StartKind = Literal["symmetric", "random", "hop"]

HIT_RTOL = 1e-9
"""Two starts found the same optimum when their values agree to this relative tolerance."""


@dataclass(frozen=True)
class SolveResult:
    """The best configuration found by :func:`thomson.solve`, with how it was found.

    Attributes:
        points: the configuration, unit rows ``[n, dim]`` in float64.
        value: its objective value at full precision (energy; or the minimum pair angle / covering radius
            in degrees).
        objective: ``"riesz"``, ``"log"``, ``"separation"`` or ``"covering"``.
        s: the Riesz exponent (0 for ``"log"``; None for separation and covering).
        history: the objective's value after each iteration of the start that gave ``points`` (its start first).
        start_values: the final value of every start, in the order tried.
        best_start: index of that start in ``start_values``.
        start_kinds: how each start was made: ``"symmetric"``, ``"random"`` or ``"hop"`` (basin hopping).
        seconds: wall time of the whole solve.
        timed_out: the time limit stopped the solve (``points`` are then the best found by then).
    """

    points: Tensor
    value: float
    objective: str
    s: float | None
    history: tuple[float, ...]
    start_values: tuple[float, ...]
    best_start: int
    start_kinds: tuple[StartKind, ...]
    seconds: float
    timed_out: bool = False

    @property
    def n(self) -> int:
        """Number of points."""
        return int(self.points.shape[0])

    @property
    def dim(self) -> int:
        """Dimension of the ambient space (the points lie on ``S^(dim-1)``)."""
        return int(self.points.shape[1])

    @property
    def hits(self) -> int:
        """How many starts reached ``value`` (to a relative 1e-9): a rough confidence in the optimum."""
        return sum(abs(v - self.value) <= HIT_RTOL * max(1.0, abs(self.value)) for v in self.start_values)
