"""Every objective on bad weights: non-finite ones give a non-finite value that ``Regularizer`` reports (MHS too),
empty shapes a clear error, duplicates a finite MHE in the documented range of ``s``, and half-precision weights a
finite gradient."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

import thomson

OBJECTIVES = thomson.list_objectives()


def build(name: str, **options: Any) -> thomson.Objective:
    objective: thomson.Objective = thomson.create_objective(name, **options)
    return objective


@pytest.mark.parametrize("name", OBJECTIVES)
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_weights_give_a_non_finite_value_and_the_regularizer_names_the_layer(name: str, bad: float) -> None:
    weight = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    weight[2, 1] = bad
    assert not bool(torch.isfinite(build(name)(weight, layer="fc")))
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Linear(6, 3))
    with torch.no_grad():
        model[0].weight[2, 1] = bad
    with pytest.raises(FloatingPointError, match=r"layer '0\.weight' has non-finite weights"):
        thomson.Regularizer(model, build(name))()


@pytest.mark.parametrize(
    "options",
    [{}, {"temperature": 0.1}, {"reference": True}, {"half_space": False}],
    ids=["hard", "soft", "ref", "full"],
)
def test_mhs_on_nan_rows_is_nan_in_every_mode(options: dict[str, Any]) -> None:
    assert math.isnan(float(thomson.MHS(**options)(torch.full((5, 3), math.nan))))


@pytest.mark.parametrize("name", OBJECTIVES)
@pytest.mark.parametrize("shape", [(0, 3), (4, 0), (0, 0), (4, 0, 3, 3), (0, 2, 3, 3)])
def test_empty_shapes_are_a_clear_error(name: str, shape: tuple[int, ...]) -> None:
    message = rf"{type(build(name)).__name__} needs a weight with at least one neuron .* got shape {re_shape(shape)}"
    with pytest.raises(ValueError, match=message):
        build(name)(torch.zeros(shape), layer="fc")


def re_shape(shape: tuple[int, ...]) -> str:
    return str(shape).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
def test_an_empty_layer_is_named_by_the_regularizer() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(0, 4), torch.nn.Linear(4, 3))
    with pytest.raises(ValueError, match=r"MHP on layer '0.weight' \(weight of shape \(4, 0\)\): MHP needs a weight"):
        thomson.Regularizer(model, thomson.MHP())()


def duplicate_term_overflows(s: float, dtype: torch.dtype) -> bool:
    """Whether a duplicate pair's term (2·10⁻⁶)^(-s/2) (the cosine contracted by 1 - 1e-6) exceeds ``dtype``'s range,
    computed in Python floats by logarithms."""
    return (s / 2) * math.log(1 / 2e-6) > math.log(torch.finfo(dtype).max)


@pytest.mark.parametrize(("dtype", "largest"), [(torch.float32, 11), (torch.float64, 105)])
@pytest.mark.parametrize("half_space", [False, True])
def test_duplicates_stay_finite_up_to_the_documented_s(dtype: torch.dtype, largest: int, half_space: bool) -> None:
    rows = torch.randn(6, 4, dtype=dtype, generator=torch.Generator().manual_seed(1))
    rows = torch.cat([rows, rows[:1]])  # one duplicate pair
    for s in (2, largest // 2, largest):
        weight = rows.clone().requires_grad_(True)
        value = thomson.MHE(s=s, half_space=half_space)(weight)
        value.backward()
        assert bool(torch.isfinite(value)) and bool(torch.isfinite(weight.grad).all()), s  # type: ignore[arg-type]
    beyond = next(s for s in range(largest, 1000) if duplicate_term_overflows(s, dtype))
    assert beyond <= largest + 4  # the documented bound is the real one, not a loose one
    assert math.isinf(float(thomson.MHE(s=beyond, half_space=half_space)(rows)))


def half_gradient(name: str, weight: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradient of the objective at ``weight`` (float16) and at its float32 copy."""
    grads = []
    for w in (weight.clone(), weight.float()):
        w.requires_grad_(True)
        options = {"dim": 2, "seed": seed} if name == "comhe" else {}
        build(name, **options)(w, layer="fc").backward()
        assert w.grad is not None
        grads.append(w.grad)
    return grads[0], grads[1]


@pytest.mark.parametrize("seed", range(50))
def test_comhe_in_two_dimensions_on_float16_has_a_finite_gradient(seed: int) -> None:
    weight = torch.randn(6, 5, generator=torch.Generator().manual_seed(seed)).half()
    g16, g32 = half_gradient("comhe", weight, seed)
    assert bool(torch.isfinite(g16).all())
    largest = torch.finfo(torch.float16).max
    # the float32 gradient, cast: exact where it fits in float16, saturated (not inf) where it does not
    assert torch.equal(g16, g32.clamp(-largest, largest).half())


@pytest.mark.parametrize("name", OBJECTIVES)
def test_near_duplicate_float16_rows_have_a_finite_gradient(name: str) -> None:
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(6, 5, generator=generator)
    weight[1] = weight[0] + 1e-3 * torch.randn(5, generator=generator)
    g16, _ = half_gradient(name, weight.half(), 0)
    assert bool(torch.isfinite(g16).all())
