"""The Gaussian kernel of the chord: value, derivative against autograd, bad arguments."""

import math

import pytest
import torch

from thomson.kernels import Gaussian


@pytest.mark.parametrize("kernel", [Gaussian(), Gaussian(width=0.05, shift=0.3), Gaussian(width=3.0, shift=-1.0)])
def test_derivative_equals_autograd(kernel: Gaussian) -> None:
    c = torch.linspace(-0.999, 0.999, 101, dtype=torch.float64, requires_grad=True)
    (auto,) = torch.autograd.grad(kernel.value(c).sum(), c)
    torch.testing.assert_close(kernel.derivative(c.detach()), auto, rtol=1e-10, atol=1e-12)


def test_value_is_gaussian_of_the_chord() -> None:
    c = torch.tensor([-1.0, -0.2, 0.0, 0.7, 1.0], dtype=torch.float64)
    chord2 = [2 - 2 * float(v) for v in c]
    expected = torch.tensor([math.exp(-(d - 0.25) / 0.5) for d in chord2], dtype=torch.float64)
    torch.testing.assert_close(Gaussian(width=0.5, shift=0.25).value(c), expected)


def test_cosines_beyond_one_are_clamped() -> None:
    c = torch.tensor([1.0 + 1e-6, -1.0 - 1e-6], dtype=torch.float64)
    torch.testing.assert_close(Gaussian().value(c), torch.tensor([1.0, math.exp(-4.0)], dtype=torch.float64))
    assert torch.equal(Gaussian().derivative(c), torch.zeros(2, dtype=torch.float64))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"width": 0.0}, "width"),
        ({"width": -1.0}, "width"),
        ({"width": math.inf}, "width"),
        ({"shift": math.nan}, "shift"),
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Gaussian(**kwargs)


@pytest.mark.parametrize("kernel", [Gaussian(), Gaussian(width=0.05, shift=0.3), Gaussian(width=1 / 3, shift=-1.0)])
def test_fused_value_and_derivative_equal_the_separate_methods(kernel: Gaussian) -> None:
    c = torch.cat([torch.linspace(-1.0, 1.0, 101, dtype=torch.float64), torch.tensor([1.0 + 1e-9, -1.0 - 1e-9])])
    value, slope = kernel.value_and_derivative(c)
    assert torch.equal(value, kernel.value(c))  # the same operations, bit for bit
    torch.testing.assert_close(slope, kernel.derivative(c), rtol=1e-15, atol=0.0)
