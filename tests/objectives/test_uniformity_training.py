"""A short training run on scikit-learn's digits: each objective moves the quantity it targets the right way
compared with the same run (same seed, same batches) without a regularizer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

import thomson
import thomson.functional as F

STEPS = 150
SCALE = 0.1
"""Fraction of each paper coefficient used here. The papers' coefficients are tuned for CIFAR-100's CNN-9 (a
100-class classifier); with 10 classes, lr 0.1 and momentum 0.9, MHP's pull on each classifier neuron (it
scales as coef/N) overshoots, so every objective runs at a tenth of its coefficients."""


@pytest.fixture(scope="module")
def digits() -> tuple[Tensor, Tensor]:
    from sklearn import datasets  # the dev extra installs scikit-learn: a missing one is an error, not a skip

    x, y = datasets.load_digits(return_X_y=True)
    return torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y)


def train(objective: thomson.Objective | None, digits: tuple[Tensor, Tensor]) -> list[Tensor]:
    """150 SGD steps of a 64-48-10 MLP (He-normal init) on batches of 64; the final weights in float64."""
    x, y = digits
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 10))
    for layer in (model[0], model[2]):
        nn.init.kaiming_normal_(layer.weight)
        nn.init.zeros_(layer.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    reg = None
    if objective is not None:
        reg = thomson.Regularizer(
            model, objective, coef=SCALE * objective.coef, classifier_coef=SCALE * objective.classifier_coef
        )
    batches = torch.Generator().manual_seed(0)
    for _ in range(STEPS):
        idx = torch.randint(0, len(x), (64,), generator=batches)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        if reg is not None:
            loss = loss + reg()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [model[0].weight.detach().double(), model[2].weight.detach().double()]


@pytest.fixture(scope="module")
def baseline(digits: tuple[Tensor, Tensor]) -> list[Tensor]:
    return train(None, digits)


def extreme_over_sphere(fn: Callable[[Tensor, Tensor], Tensor], w: Tensor, maximize: bool) -> float:
    """max (or min) over unit v of fn(w, v): projected Adam from 64 random starts (independent of the poles)."""
    v = nn.functional.normalize(torch.randn(64, w.shape[1], dtype=w.dtype, generator=torch.Generator().manual_seed(1)))
    v.requires_grad_(True)
    opt = torch.optim.Adam([v], lr=0.05)
    for _ in range(200):
        values = fn(w, v)
        opt.zero_grad()
        (-values if maximize else values).sum().backward()
        opt.step()
        with torch.no_grad():
            v.copy_(nn.functional.normalize(v))
    values = fn(w, v.detach())
    return float(values.max() if maximize else values.min())


def per_layer(fn: Callable[[Tensor, bool], float]) -> Callable[[list[Tensor]], float]:
    """Sum over the hidden layer (half-space where the objective uses it) and the classifier."""
    return lambda weights: fn(weights[0], False) + fn(weights[1], True)


# For each objective, a quantity that it should LOWER, computed independently of the objective's own code path.
TARGETS: dict[str, Callable[[list[Tensor]], float]] = {
    "MHS": per_layer(lambda w, clf: -float(F.min_separation(w, half_space=not clf))),
    "MHP": per_layer(
        lambda w, clf: -extreme_over_sphere(lambda a, v: F.polarization(a, v, half_space=not clf), w, maximize=False)
    ),
    "RMHP": per_layer(lambda w, clf: float(F.relaxed_polarization(w))),
    "MHC": per_layer(
        lambda w, clf: extreme_over_sphere(lambda a, v: F.covering(a, v, half_space=not clf), w, maximize=True)
    ),
    "MGD": per_layer(lambda w, clf: -float(F.gram_logdet(w, half_space=not clf))),
    "SO": per_layer(lambda w, clf: float(F.soft_orthogonality(w))),
    "DSO": per_layer(lambda w, clf: float(F.double_soft_orthogonality(w))),
    "MC": per_layer(lambda w, clf: float(F.mutual_coherence(w))),
    "SRIP": per_layer(
        lambda w, clf: (
            float(torch.linalg.svdvals(w @ w.T - torch.eye(w.shape[0], dtype=w.dtype))[0])
            if w.shape[0] <= w.shape[1]
            else float(torch.linalg.svdvals(w.T @ w - torch.eye(w.shape[1], dtype=w.dtype))[0])
        )
    ),
    "MMA": per_layer(lambda w, clf: -float(F.mean_min_angle(w))),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TARGETS))
def test_training_moves_the_target_the_right_way(
    name: str, digits: tuple[Tensor, Tensor], baseline: list[Tensor]
) -> None:
    objective = getattr(thomson, name)()
    regularized = train(objective, digits)
    target = TARGETS[name]
    assert target(regularized) < target(baseline)
