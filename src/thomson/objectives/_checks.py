"""Argument checks shared by the objectives' constructors (each raises ValueError naming the argument)."""

from __future__ import annotations

import math


def real(name: str, value: object, *, low: float = -math.inf, strict: bool = False, high: float = math.inf) -> float:
    """``value`` as a float if it is a finite real number in the range (``> low`` when ``strict``, ``< high``)."""
    if not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value):
        number = float(value)
        if (number > low if strict else number >= low) and number < high:
            return number
    bounds = [f"{'>' if strict else '>='} {low:g}"] if low > -math.inf else []
    bounds += [f"< {high:g}"] if high < math.inf else []
    raise ValueError(f"{name} must be a finite real number {' and '.join(bounds)}, got {value!r}".replace("  ", " "))


def count(name: str, value: object, *, low: int) -> int:
    """``value`` if it is an integer ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return value
