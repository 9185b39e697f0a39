"""The contract every registered objective keeps, checked for each name of ``thomson.list_objectives()``: a new
objective is tested by registering it.

* its state survives ``state_dict()`` into a fresh instance (same value in eval mode);
* in eval mode its value is deterministic;
* ``.double()`` gives a float64 value on float64 weights (buffers follow);
* it carries its paper's coefficients (``coef`` and ``classifier_coef``, finite numbers >= 0);
* in eval mode its gradient equals finite differences (``torch.autograd.gradcheck``) on a small weight.
"""

from __future__ import annotations

import math

import pytest
import torch

import thomson

NAMES = thomson.list_objectives()


def weight(seed: int = 0, shape: tuple[int, ...] = (6, 5, 3, 3)) -> torch.Tensor:
    """A small conv weight in float64: 6 neurons in D = 45 (more than CoMHE's 40 dimensions, so it projects)."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def trained(name: str) -> thomson.Objective:
    """The objective with its defaults, in float64, after two training-mode calls on two layers (so that
    objectives with per-layer state have some)."""
    torch.manual_seed(0)
    objective = thomson.create_objective(name).double()
    for layer, seed in (("conv", 1), ("fc", 2)):
        w = weight(seed).requires_grad_()
        objective.train()(w, layer=layer, classifier=layer == "fc").backward()
    return objective


def test_every_exported_objective_is_registered() -> None:
    exported = [getattr(thomson.objectives, name) for name in thomson.objectives.__all__]
    classes = {c for c in exported if isinstance(c, type) and issubclass(c, thomson.Objective)} - {thomson.Objective}
    assert classes <= {thomson.objectives.OBJECTIVES.get(name) for name in NAMES}
    assert {"mhe", "comhe", "mhs", "mhp", "rmhp", "mhc", "mgd", "mma", "so", "dso", "mc", "srip"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_restores_into_a_fresh_instance(name: str) -> None:
    objective = trained(name).eval()
    torch.manual_seed(123)  # a fresh instance may draw its own state (e.g. a seed) from the global generator
    fresh = thomson.create_objective(name).double().eval()
    fresh.load_state_dict(objective.state_dict())
    for layer, seed in (("conv", 1), ("fc", 2)):
        w = weight(seed)
        torch.testing.assert_close(
            fresh(w, layer=layer, classifier=layer == "fc"), objective(w, layer=layer, classifier=layer == "fc")
        )


@pytest.mark.parametrize("name", NAMES)
def test_eval_mode_is_deterministic(name: str) -> None:
    objective = trained(name).eval()
    w = weight(3)
    first = objective(w, layer="conv")
    torch.manual_seed(999)  # no draw from the global generator may change an eval-mode value
    assert torch.equal(objective(w, layer="conv"), first)


@pytest.mark.parametrize("name", NAMES)
def test_double_gives_float64(name: str) -> None:
    objective = thomson.create_objective(name).double()
    value = objective(weight(4), layer="conv")
    assert value.dtype == torch.float64 and value.dim() == 0 and torch.isfinite(value)
    assert all(b.dtype == torch.float64 for b in objective.buffers() if b.is_floating_point())


@pytest.mark.parametrize("name", NAMES)
def test_coefficients_are_present(name: str) -> None:
    objective = thomson.create_objective(name)
    for coef in (objective.coef, objective.classifier_coef):
        assert isinstance(coef, float) and math.isfinite(coef) and coef >= 0


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("classifier", [False, True])
def test_gradient_equals_finite_differences(name: str, classifier: bool) -> None:
    objective = trained(name).eval()
    w = weight(5).requires_grad_()
    objective(w, layer="conv", classifier=classifier)  # any lazily created state exists before gradcheck

    def value(x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = objective(x, layer="conv", classifier=classifier)
        return out

    assert torch.autograd.gradcheck(value, (w,), eps=1e-6, atol=1e-6, rtol=1e-5)
