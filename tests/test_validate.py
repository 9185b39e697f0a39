"""The shared argument checks: one rule and one message per kind of argument."""

from __future__ import annotations

import math

import pytest

from thomson._validate import coefficient, current_rate, integer, learning_rate, one_of, real, seed


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: real("s", math.nan), "s must be a finite real number, got nan"),
        (lambda: real("s", True), "s must be a finite real number, got True"),
        (lambda: real("gamma", 0, low=0.0, strict=True), "gamma must be a finite real number > 0, got 0"),
        (lambda: real("m", 1.0, low=0.0, high=1.0), "m must be a finite real number >= 0 and < 1, got 1.0"),
        (lambda: integer("dim", 2.5, low=1), "dim must be an integer >= 1, got 2.5"),
        (lambda: integer("seed", "3"), "seed must be an integer, got '3'"),
        (lambda: seed("seed", 2**63), r"seed must be an integer >= 0 and < 2\*\*63, got 9223372036854775808"),
        (lambda: one_of("backend", "gpu", ("auto", "dense")), r"backend must be one of \('auto', 'dense'\), got 'gpu'"),
        (lambda: learning_rate("inner_lr", 0.0), "inner_lr must be a finite real number > 0, got 0.0"),
        (lambda: current_rate("inner_lr", lambda: math.nan), r"inner_lr \(the value returned by the function\)"),
        (lambda: current_rate("inner_lr", lambda: "fast"), "must be a number"),
        (lambda: coefficient("coef", -1.0), "coef must be a finite number >= 0 or a function of the step"),
    ],
)
def test_errors_name_the_argument_and_the_rule(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_valid_values_pass_through() -> None:
    assert real("s", 2) == 2.0 and isinstance(real("s", 2), float)
    assert integer("n", 3, low=2) == 3 and seed("seed", 2**63 - 1) == 2**63 - 1
    rate = lambda: 0.0  # noqa: E731 — a schedule may end at 0
    assert learning_rate("inner_lr", rate) is rate and current_rate("inner_lr", rate) == 0.0
    assert current_rate("inner_lr", 0.5) == 0.5
    step = lambda t: 0.1 * t  # noqa: E731
    assert coefficient("coef", step) is step and coefficient("coef", 1) == 1.0
