"""thomson.UniformityLoss: the functional forms it delegates to, its option checks, and that minimizing it reaches
the regular simplex (the closed-form optimum for N <= D + 1)."""

from __future__ import annotations

import math

import pytest
import torch

import thomson
from thomson.functional import hyperspherical_energy, uniformity


def test_gaussian_default_is_wang_isola_uniformity() -> None:
    z, queue = torch.randn(20, 6), torch.randn(30, 6)
    loss = thomson.UniformityLoss()
    assert float(loss(z)) == float(uniformity(z, 2.0))
    assert float(loss(z, queue)) == float(uniformity(z, 2.0, queue=queue))
    assert float(thomson.UniformityLoss(t=3.0, intra_batch=False)(z, queue)) == float(
        uniformity(z, 3.0, queue=queue, intra_batch=False)
    )
    assert float(thomson.UniformityLoss(reference=True)(z)) == float(uniformity(z, reference=True))
    assert "t=2.0" in repr(loss)


@pytest.mark.parametrize(
    ("s", "metric", "half"), [(2.0, "euclidean", False), (0.0, "angular", True), (1.0, "euclidean", True)]
)
def test_riesz_is_hyperspherical_energy(s: float, metric: str, half: bool) -> None:
    z = torch.randn(15, 4)
    loss = thomson.UniformityLoss("riesz", s=s, metric=metric, half_space=half)  # type: ignore[arg-type]
    assert float(loss(z)) == float(hyperspherical_energy(z, s, metric=metric, half_space=half))  # type: ignore[arg-type]
    assert "kernel='riesz'" in repr(loss)
    assert float(thomson.UniformityLoss("riesz", half_space=True)(z[:1])) > 0  # a row and its negation: one pair


def test_errors() -> None:
    with pytest.raises(ValueError, match="kernel must be one of"):
        thomson.UniformityLoss("cauchy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"s, half_space do not apply to kernel='gaussian'"):
        thomson.UniformityLoss(s=1.0, half_space=True)
    with pytest.raises(ValueError, match="t do not apply to kernel='riesz'"):
        thomson.UniformityLoss("riesz", t=2.0)
    for bad in (0.0, -1.0, math.inf):
        with pytest.raises(ValueError, match="t must be a finite real number > 0"):
            thomson.UniformityLoss(t=bad)
    with pytest.raises(ValueError, match="metric must be one of"):
        thomson.UniformityLoss("riesz", metric="cosine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a queue applies to kernel='gaussian' only"):
        thomson.UniformityLoss("riesz")(torch.randn(3, 2), torch.randn(3, 2))
    with pytest.raises(ValueError, match="at least one pair"):
        thomson.UniformityLoss("riesz")(torch.randn(1, 2))
    with pytest.raises(ValueError, match="at least one pair"):
        thomson.UniformityLoss()(torch.randn(1, 2))


@pytest.mark.parametrize("kernel", ["gaussian", "riesz"])
def test_minimizing_reaches_the_regular_simplex(kernel: str) -> None:
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64).requires_grad_()
    loss = thomson.UniformityLoss(kernel)  # type: ignore[arg-type]
    opt = torch.optim.Adam([z], lr=0.05)
    for _ in range(400):
        opt.zero_grad()
        loss(z).backward()
        opt.step()
    cos = torch.nn.functional.normalize(z.detach(), dim=1) @ torch.nn.functional.normalize(z.detach(), dim=1).T
    off = cos[~torch.eye(5, dtype=torch.bool)]
    assert float((off + 0.25).abs().max()) < 1e-3  # every cosine -1/(N-1)
    if kernel == "gaussian":
        assert float(loss(z.detach())) == pytest.approx(-2 * 2.0 * 5 / 4, abs=1e-5)
