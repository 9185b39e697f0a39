"""A line search that returns a step satisfying the strong Wolfe conditions (Nocedal & Wright, Alg. 3.5/3.6).

For ``φ(t)`` along a descent curve (``φ'(0) < 0``) it finds ``t > 0`` with

    φ(t) <= φ(0) + c1 t φ'(0)        (sufficient decrease)
    |φ'(t)| <= c2 |φ'(0)|            (strong curvature condition)

by bracketing (the step grows fourfold until a bracket is found) and then zooming with safeguarded cubic
interpolation. With ``noise > 0`` it also accepts Hager & Zhang's approximate Wolfe steps (SIAM J. Optim.
16, 2005), ``φ(t) <= φ(0) + noise`` and ``c2 φ'(0) <= φ'(t) <= (2δ - 1) φ'(0)`` with ``δ = 0.1``: near a
minimum, where differences of ``φ`` are lost in round-off, the slope still tells a good step from a bad one.
The caller's ``φ`` returns ``(value, slope, payload)``; the payload of the accepted step (for
example the point and its gradient) is returned so that nothing is evaluated twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from thomson.solve import limits

P = TypeVar("P")

_DELTA = 0.1
"""Hager & Zhang's δ: an approximate Wolfe step satisfies sufficient decrease with this constant on a quadratic."""


@dataclass(frozen=True)
class Step(Generic[P]):
    """An accepted step ``t``, its value ``φ(t)`` and slope ``φ'(t)``, and the caller's payload."""

    t: float
    value: float
    slope: float
    payload: P


def _cubic_minimizer(a: float, fa: float, ga: float, b: float, fb: float, gb: float) -> float:
    """Minimizer of the cubic through ``(a, fa, ga)`` and ``(b, fb, gb)``, kept inside the interval between
    them; the midpoint when the cubic has no usable minimizer there."""
    lo, hi = min(a, b), max(a, b)
    d1 = ga + gb - 3.0 * (fa - fb) / (a - b)
    disc = d1 * d1 - ga * gb
    if disc >= 0.0:
        d2 = math.copysign(math.sqrt(disc), b - a)
        denom = gb - ga + 2.0 * d2
        if denom != 0.0:
            t = b - (b - a) * (gb + d2 - d1) / denom
            if math.isfinite(t):
                # keep a tenth of the interval away from the ends so that the bracket always shrinks
                margin = 0.1 * (hi - lo)
                return min(max(t, lo + margin), hi - margin)
    return 0.5 * (lo + hi)


def strong_wolfe(
    phi: Callable[[float], tuple[float, float, P]],
    value0: float,
    slope0: float,
    t0: float,
    *,
    c1: float = 1e-4,
    c2: float = 0.9,
    noise: float = 0.0,
    max_evals: int = 20,
) -> Step[P] | None:
    """A step ``t`` along ``φ`` satisfying the strong Wolfe conditions, or None if none was found.

    Args:
        phi: ``t ↦ (φ(t), φ'(t), payload)``.
        value0: ``φ(0)``.
        slope0: ``φ'(0)``; must be negative.
        t0: first trial step, > 0.
        c1: sufficient-decrease constant. Default 1e-4.
        c2: curvature constant, ``c1 < c2 < 1``. Default 0.9 (the usual choice for quasi-Newton methods).
        noise: round-off in values of ``φ``, for approximate Wolfe steps; 0 turns them off. Default 0.
        max_evals: evaluations of ``φ`` allowed. Default 20.

    Returns:
        The accepted :class:`Step`, or None when ``φ'(0) >= 0``, when no acceptable step was found within
        ``max_evals`` (round-off at a minimum: no decrease is representable any more), or when the solve's time
        limit has passed (:func:`thomson.solve.limits.expired`, checked before every evaluation).

    Example:
        >>> step = strong_wolfe(lambda t: ((t - 2.0) ** 2, 2.0 * (t - 2.0), None), 4.0, -4.0, 1.0)
        >>> step is not None and abs(step.slope) <= 0.9 * 4.0 and step.value <= 4.0 - 1e-4 * step.t * 4.0
        True
    """
    if not slope0 < 0.0 or not t0 > 0.0:
        return None

    def accept(t: float, f: float, g: float) -> bool:
        if f <= value0 + c1 * t * slope0 and abs(g) <= -c2 * slope0:
            return True
        return f <= value0 + noise and c2 * slope0 <= g <= -(1.0 - 2.0 * _DELTA) * slope0

    evals = 0
    t_prev, f_prev, g_prev = 0.0, value0, slope0
    t = t0
    while evals < max_evals and not limits.expired():
        f, g, payload = phi(t)
        evals += 1
        if math.isfinite(f) and accept(t, f, g):
            return Step(t, f, g, payload)
        if not math.isfinite(f) or f > value0 + c1 * t * slope0 or (evals > 1 and f >= f_prev):
            return _zoom(phi, accept, value0, slope0, (t_prev, f_prev, g_prev), (t, f, g), c1, max_evals - evals)
        if g >= 0.0:
            return _zoom(phi, accept, value0, slope0, (t, f, g), (t_prev, f_prev, g_prev), c1, max_evals - evals)
        t_prev, f_prev, g_prev = t, f, g
        t *= 4.0
    return None


def _zoom(
    phi: Callable[[float], tuple[float, float, P]],
    accept: Callable[[float, float, float], bool],
    value0: float,
    slope0: float,
    lo: tuple[float, float, float],
    hi: tuple[float, float, float],
    c1: float,
    evals_left: int,
) -> Step[P] | None:
    """Shrink the bracket ``[lo, hi]`` (``lo`` the best point so far) until a strong Wolfe step is found."""
    best: Step[P] | None = None
    for _ in range(evals_left):
        if limits.expired():
            break
        (t_lo, f_lo, g_lo), (t_hi, f_hi, g_hi) = lo, hi
        if abs(t_hi - t_lo) <= 1e-15 * max(abs(t_lo), abs(t_hi)):
            break
        if not math.isfinite(f_hi):
            t = 0.5 * (t_lo + t_hi)
        else:
            t = _cubic_minimizer(t_lo, f_lo, g_lo, t_hi, f_hi, g_hi)
        f, g, payload = phi(t)
        if math.isfinite(f) and accept(t, f, g):
            return Step(t, f, g, payload)
        if math.isfinite(f) and f <= value0 + c1 * t * slope0 and (best is None or f < best.value):
            best = Step(t, f, g, payload)
        if not math.isfinite(f) or f > value0 + c1 * t * slope0 or f >= f_lo:
            hi = (t, f, g)
        else:
            if g * (t_hi - t_lo) >= 0.0:
                hi = lo
            lo = (t, f, g)
    # Round-off: the bracket collapsed; a step with sufficient decrease is still progress.
    return best
