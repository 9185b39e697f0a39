"""``estimate_energy``: the sampled estimate of ``hyperspherical_energy``, constants and presets included."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch

from thomson.functional import estimate_energy, hyperspherical_energy


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """These tests make thousands of tiny draws: one thread avoids waking idle workers (ms each on a busy CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    ("s", "metric", "reference"), [(2, "euclidean", False), (0, "euclidean", True), (1, "angular", True)]
)
@pytest.mark.parametrize("half_space", [False, True])
def test_all_rows_is_the_exact_energy(s: float, metric: str, reference: bool, half_space: bool) -> None:
    w = 0.3 * torch.randn(25, 6, dtype=torch.float64)  # small rows: the reference ε inside the norm matters
    kwargs = {"metric": metric, "half_space": half_space, "reference": reference}
    est = estimate_energy(w, s, samples=25, **kwargs)  # type: ignore[arg-type]
    torch.testing.assert_close(est.value, hyperspherical_energy(w, s, **kwargs))  # type: ignore[arg-type]
    assert float(est.stderr) == 0.0


@pytest.mark.parametrize("sampling", ["rows", "pairs"])
def test_unbiased_for_the_energy_and_its_gradient(sampling: str) -> None:
    # The reference s=0 energy is -log z²: twice the kernel's term, a factor the estimate must carry too.
    w = torch.randn(30, 4, dtype=torch.float64)
    exact_w = w.clone().requires_grad_()
    exact = hyperspherical_energy(exact_w, 0, reference=True)
    (exact_grad,) = torch.autograd.grad(exact, exact_w)
    g = torch.Generator().manual_seed(7)
    values, grads = [], []
    for _ in range(300):
        z = w.clone().requires_grad_()
        est = estimate_energy(
            z, 0, samples=3 if sampling == "rows" else 60, sampling=sampling, reference=True, generator=g
        )  # type: ignore[arg-type]
        values.append(est.value.detach())
        grads.append(torch.autograd.grad(est.value, z)[0])
    v, gr = torch.stack(values), torch.stack(grads)
    assert abs(float(v.mean() - exact.detach())) < 4 * float(v.std()) / math.sqrt(len(v))
    assert ((gr.mean(0) - exact_grad).abs() < 4 * gr.std(0) / math.sqrt(len(gr)) + 1e-12).all()


def test_half_precision_is_estimated_in_float32() -> None:
    est = estimate_energy(torch.randn(50, 8).bfloat16(), samples=10)
    assert est.value.dtype == est.stderr.dtype == torch.float32


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"sampling": "blocks"}, "sampling"), ({"metric": "chord"}, "metric"), ({"samples": 0}, "samples")],
)
def test_bad_arguments_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        estimate_energy(torch.randn(5, 3), **{"samples": 2, **kwargs})  # type: ignore[arg-type]
