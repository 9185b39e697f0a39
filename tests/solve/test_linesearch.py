"""The strong Wolfe line search: every accepted step satisfies the conditions it promises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from thomson.solve.linesearch import strong_wolfe

C1, C2 = 1e-4, 0.9


@settings(max_examples=200, deadline=None)
@given(
    b=st.floats(1e-3, 1e3),
    c=st.floats(0.0, 10.0),
    t0=st.floats(1e-4, 1e4),
)
def test_steps_satisfy_the_strong_wolfe_conditions(b: float, c: float, t0: float) -> None:
    def phi(t: float) -> tuple[float, float, None]:
        u = t - b
        return u * u + c * u**4, 2 * u + 4 * c * u**3, None

    f0, g0, _ = phi(0.0)
    step = strong_wolfe(phi, f0, g0, t0, c1=C1, c2=C2)
    assert step is not None
    assert step.value <= f0 + C1 * step.t * g0
    assert abs(step.slope) <= -C2 * g0
    assert (step.value, step.slope) == phi(step.t)[:2]


def test_approximate_wolfe_step_when_values_are_round_off() -> None:
    # every value after the start is one ulp above it (round-off), but the slope locates the minimum at t = 1
    def phi(t: float) -> tuple[float, float, str]:
        return 1.0 + 2.3e-16, 1e-20 * (t - 1.0), "payload"

    assert strong_wolfe(phi, 1.0, -1e-20, 1.0) is None  # sufficient decrease can never hold
    step = strong_wolfe(phi, 1.0, -1e-20, 1.0, noise=1e-13)
    assert step is not None and step.t == 1.0 and step.payload == "payload"


def test_no_descent_no_step() -> None:
    assert strong_wolfe(lambda t: (t, 1.0, None), 0.0, 1.0, 1.0) is None
    assert strong_wolfe(lambda t: (-t, -1.0, None), 0.0, -1.0, 0.0) is None


def test_unbounded_below_gives_up_after_max_evals() -> None:
    calls = []

    def phi(t: float) -> tuple[float, float, None]:
        calls.append(t)
        return -t, -1.0, None

    assert strong_wolfe(phi, 0.0, -1.0, 1.0, max_evals=7) is None
    assert len(calls) == 7


def test_non_finite_values_shrink_the_step() -> None:
    def phi(t: float) -> tuple[float, float, None]:
        if t > 2.0:
            return float("inf"), float("nan"), None
        return (t - 1.5) ** 2, 2 * (t - 1.5), None

    step = strong_wolfe(phi, 2.25, -3.0, 100.0)
    assert step is not None and step.t <= 2.0
