"""The sampled estimators: unbiased against the exact mean, standard errors calibrated and falling as 1/√S."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch

from thomson.engine import pair_count, pairwise_sum, sampled_pair_mean
from thomson.kernels import Riesz

KERNEL = Riesz(s=1, contraction=1e-6)
BOUNDED = Riesz(s=-1)  # f = -|x - y|: bounded terms, so a small bias stands out of the sampling noise


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """These tests make thousands of tiny draws: one thread avoids waking idle workers (ms each on a busy CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def unit_rows(n: int, d: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)


def exact_mean(x: torch.Tensor, half_space: bool, kernel: Riesz = KERNEL) -> torch.Tensor:
    return pairwise_sum(x, kernel, half_space=half_space) / pair_count(len(x), half_space)


def draws(
    x: torch.Tensor, samples: int, sampling: str, half_space: bool, count: int, kernel: Riesz = KERNEL
) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1234)
    out = [
        sampled_pair_mean(x, kernel, samples, half_space=half_space, sampling=sampling, generator=g)  # type: ignore[arg-type]
        for _ in range(count)
    ]
    return torch.stack([e.value for e in out]), torch.stack([e.stderr for e in out])


@pytest.mark.parametrize(("sampling", "samples"), [("rows", 4), ("pairs", 40)])
@pytest.mark.parametrize("half_space", [False, True])
def test_unbiased_and_standard_error_calibrated(sampling: str, samples: int, half_space: bool) -> None:
    # In half space the N self pairs (x_i, -x_i), 1/(2N - 1) of all pairs, have the extreme term -2, so
    # leaving them out or doubling them would be a bias of several standard errors of the mean below.
    x = unit_rows(20, 3)
    exact = exact_mean(x, half_space, BOUNDED)
    values, errors = draws(x, samples, sampling, half_space, 1000, BOUNDED)
    spread = values.std()
    assert abs(float(values.mean() - exact)) < 4 * float(spread) / math.sqrt(len(values))
    # The reported standard error estimates the spread of the estimate.
    assert float(errors.pow(2).mean().sqrt()) == pytest.approx(float(spread), rel=0.15)


@pytest.mark.parametrize("sampling", ["rows", "pairs"])
def test_standard_error_falls_as_one_over_root_samples(sampling: str) -> None:
    # The sample variance is unbiased for the variance of one term (of one row's mean, for rows), so the
    # root-mean-square standard error is what scales exactly as 1/√S.
    x = unit_rows(400, 8)
    small, large = (8, 32) if sampling == "rows" else (100, 400)
    rms_error = [float(draws(x, s, sampling, False, 200)[1].pow(2).mean().sqrt()) for s in (small, large)]
    expected = 2.0
    if sampling == "rows":  # without replacement: the finite-population factor √(1 - S/N)
        expected *= math.sqrt((1 - small / 400) / (1 - large / 400))
    assert rms_error[0] / rms_error[1] == pytest.approx(expected, rel=0.05)


def test_all_rows_give_the_exact_value_with_no_error() -> None:
    x = unit_rows(30, 4)
    for half_space in (False, True):
        est = sampled_pair_mean(x, KERNEL, 30, half_space=half_space)
        torch.testing.assert_close(est.value, exact_mean(x, half_space))
        assert float(est.stderr) == 0.0


def test_gradient_is_unbiased() -> None:
    x = unit_rows(12, 3)
    exact = x.clone().requires_grad_()
    (expected,) = torch.autograd.grad(exact_mean(exact, False), exact)
    g = torch.Generator().manual_seed(0)
    grads = []
    for _ in range(400):
        z = x.clone().requires_grad_()
        grads.append(torch.autograd.grad(sampled_pair_mean(z, KERNEL, 3, generator=g).value, z)[0])
    stacked = torch.stack(grads)
    bound = 4 * stacked.std(0) / math.sqrt(len(grads)) + 1e-12
    assert ((stacked.mean(0) - expected).abs() < bound).all()


def test_no_pair_and_bad_arguments() -> None:
    est = sampled_pair_mean(unit_rows(1, 3), KERNEL, 5)
    assert (float(est.value), float(est.stderr)) == (0.0, 0.0)
    with pytest.raises(ValueError, match="sampling"):
        sampled_pair_mean(unit_rows(4, 3), KERNEL, 5, sampling="blocks")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="samples"):
        sampled_pair_mean(unit_rows(4, 3), KERNEL, 0)
