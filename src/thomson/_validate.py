"""Argument checks shared by every layer: each returns the checked value or raises a one-line error naming the argument.

The bottom of the library (no torch): kernels, engine, functional, objectives, the regularizer and the solver all
check their arguments with these functions, so one kind of argument has one rule and one message everywhere.

>>> real("gamma", 10, low=0.0, strict=True)
10.0
>>> one_of("backend", "dense", ("auto", "dense", "streaming"))
'dense'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

SEED_LIMIT = 2**63
"""Seeds are integers in ``[0, 2**63)`` (a torch generator's range)."""


def real(name: str, value: object, *, low: float = -math.inf, strict: bool = False, high: float = math.inf) -> float:
    """``value`` as a float if it is a finite real number in the range (``> low`` when ``strict``, else ``>= low``;
    ``< high``); booleans are refused.

    Example:
        >>> real("s", 2)
        2.0
    """
    if not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value):
        number = float(value)
        if (number > low if strict else number >= low) and number < high:
            return number
    bounds = [f"{'>' if strict else '>='} {low:g}"] if low > -math.inf else []
    bounds += [f"< {high:g}"] if high < math.inf else []
    raise ValueError(f"{name} must be {_described('a finite real number', bounds)}, got {value!r}")


def integer(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` if it is an integer (not a boolean), ``>= low`` and ``< high`` when they are given.

    Example:
        >>> integer("restarts", 3, low=0)
        3
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or (low is not None and value < low)
        or (high is not None and value >= high)
    ):
        bounds = [f">= {low}"] if low is not None else []
        bounds += [f"< {_power_of_two(high)}"] if high is not None else []
        raise ValueError(f"{name} must be {_described('an integer', bounds)}, got {value!r}")
    return value


def _described(kind: str, bounds: list[str]) -> str:
    return " ".join([kind, " and ".join(bounds)]) if bounds else kind


def _power_of_two(n: int) -> str:
    return f"2**{n.bit_length() - 1}" if n > 1024 and n & (n - 1) == 0 else str(n)


def one_of(name: str, value: T, values: tuple[T, ...]) -> T:
    """``value`` if it is one of ``values`` (for a ``Literal``, ``typing.get_args`` of it)."""
    if value not in values:
        raise ValueError(f"{name} must be one of {values}, got {value!r}")
    return value


def seed(name: str, value: object) -> int:
    """``value`` if it is an integer seed in ``[0, 2**63)``."""
    return integer(name, value, low=0, high=SEED_LIMIT)


def learning_rate(name: str, value: float | Callable[[], float]) -> float | Callable[[], float]:
    """A learning rate of inner steps: a finite number ``> 0``, or a function of nothing returning the current one
    (checked when it is called, by :func:`current_rate`).

    A fixed rate of 0 would make the steps do nothing; leave them out instead (``inner_steps=0``). A function may
    return 0, since a schedule may end there.
    """
    if callable(value):
        return value
    return real(name, value, low=0.0, strict=True)


def current_rate(name: str, value: float | Callable[[], float]) -> float:
    """The learning rate now: ``value`` itself, or what the function returns, which must be a finite number
    ``>= 0``.

    Example:
        >>> current_rate("inner_lr", lambda: 0.01)
        0.01
    """
    if not callable(value):
        return float(value)
    returned = f"{name} (the value returned by the function)"
    try:
        rate = float(value())
    except (TypeError, ValueError) as error:
        raise ValueError(f"{returned} must be a number: {error}") from error
    return real(returned, rate, low=0.0)


def coefficient(name: str, value: float | Callable[[int], float]) -> float | Callable[[int], float]:
    """A coefficient: a finite number ``>= 0``, or a function of the step returning one."""
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0 or a function of the step, got {value!r}")
    return float(value)


__all__ = ["SEED_LIMIT", "coefficient", "current_rate", "integer", "learning_rate", "one_of", "real", "seed"]
