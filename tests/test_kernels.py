import math

import pytest
import torch

from thomson.kernels import Riesz

KERNELS = [
    Riesz(s=s, metric=m, contraction=e, angle_scale=a, angle_shift=b)
    for s in (-1.5, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0)
    for m in ("euclidean", "angular")
    for e in (0.0, 1e-3)
    for a, b in ((1.0, 0.0), (1 / math.pi, 1e-4))
]


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_derivative_equals_autograd(kernel: Riesz) -> None:
    c = torch.linspace(-0.999, 0.999, 101, dtype=torch.float64, requires_grad=True)
    (auto,) = torch.autograd.grad(kernel.value(c).sum(), c)
    torch.testing.assert_close(kernel.derivative(c.detach()), auto, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_value_and_derivative_equals_the_separate_methods(kernel: Riesz) -> None:
    # Across the whole range, at the ends, and just outside them (round-off), where the clamp stops the slope.
    c = torch.cat([torch.linspace(-1.0, 1.0, 201, dtype=torch.float64), torch.tensor([-1 - 1e-9, 1 + 1e-9])])
    value, slope = kernel.value_and_derivative(c)
    torch.testing.assert_close(value, kernel.value(c), rtol=1e-12, atol=1e-12)
    expected = kernel.derivative(c)
    defined = ~expected.isnan()  # 0·∞ at a zero distance (s < 0, no contraction)
    assert not (slope.isnan() & defined).any()
    torch.testing.assert_close(slope[defined], expected[defined], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("s", [-1.0, 0.0, 1.0, 2.0])
def test_euclidean_value_is_power_of_chord(s: float) -> None:
    c = torch.tensor([-1.0, -0.3, 0.2, 0.9], dtype=torch.float64)
    z = torch.sqrt(2 - 2 * c)
    expected = -torch.log(z) if s == 0 else (z ** (-s) if s > 0 else -(z ** (-s)))
    torch.testing.assert_close(Riesz(s=s).value(c), expected)


def test_angular_value_uses_geodesic_angle() -> None:
    c = torch.tensor([-1.0, 0.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(
        Riesz(s=1, metric="angular").value(c),
        1 / torch.tensor([math.pi, math.pi / 2, math.pi / 3], dtype=torch.float64),
    )


def test_contraction_keeps_duplicates_finite() -> None:
    c = torch.tensor([1.0, 1.0 + 1e-7, -1.0], requires_grad=True)
    for metric in ("euclidean", "angular"):
        k = Riesz(s=2, metric=metric, contraction=1e-6)
        value = k.value(c).sum()
        (grad,) = torch.autograd.grad(value, c)
        assert torch.isfinite(value) and torch.isfinite(grad).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"s": math.inf},
        {"metric": "cosine"},
        {"contraction": 1.0},
        {"contraction": -0.1},
        {"angle_scale": 0.0},
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs)).split("_")[0]):
        Riesz(**kwargs)  # type: ignore[arg-type]
