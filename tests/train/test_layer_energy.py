from __future__ import annotations

import math

import torch
from torch import nn

from helpers import regular_simplex
from thomson.train.layer_energy import layer_energies, layer_sizes, simplex_bound


def mean_s2_energy(x: list[list[float]]) -> float:
    units = [[v / math.sqrt(sum(t * t for t in row)) for v in row] for row in x]
    terms = [
        1.0 / sum((a - b) ** 2 for a, b in zip(units[i], units[j], strict=True))
        for i in range(len(units))
        for j in range(i + 1, len(units))
    ]
    return sum(terms) / len(terms)


def test_simplex_bound_is_the_energy_of_the_regular_simplex() -> None:
    for n in (2, 3, 7, 20):
        assert math.isclose(simplex_bound(n), mean_s2_energy(regular_simplex(n).tolist()), rel_tol=1e-12)
    assert math.isnan(simplex_bound(1))


def test_random_configurations_stay_above_the_bound() -> None:
    torch.manual_seed(0)
    for n, d in ((10, 3), (10, 50), (40, 8)):
        assert mean_s2_energy(torch.randn(n, d, dtype=torch.float64).tolist()) > simplex_bound(n)


def test_layer_energies_and_sizes() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 6, 3), nn.Flatten(), nn.Linear(6 * 4 * 4, 5))
    energies = layer_energies(model)
    assert list(energies) == ["0.weight", "2.weight"]
    for name, module in (("0.weight", model[0]), ("2.weight", model[2])):
        weight = module.weight.detach().double().flatten(1).tolist()
        assert math.isclose(energies[name], mean_s2_energy(weight), rel_tol=1e-4)
    assert layer_sizes(model) == {"0.weight": (6, 18), "2.weight": (5, 96)}
