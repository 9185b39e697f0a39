"""Strict ``load_state_dict`` of an objective: another objective's state, keys it cannot own and wrong sizes are
refused at load time, naming the key; its own state still loads into a fresh instance."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import torch

import thomson
from thomson.objectives import Objective


def used(objective: Objective, layer: str = "fc") -> Objective:
    """``objective`` after one training call on a [8, 5] weight (its per-layer state then exists)."""
    objective(torch.randn(8, 5, generator=torch.Generator().manual_seed(0)), layer=layer)
    return objective


def saved(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` after a trip through ``torch.save`` / ``torch.load(weights_only=True)``."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded: dict[str, torch.Tensor] = torch.load(buffer, weights_only=True)
    return loaded


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (lambda: thomson.MHP(), lambda: thomson.MHE()),
        (lambda: thomson.MHP(), lambda: thomson.MHC()),  # the same state names: the objective's kind tells
        (lambda: thomson.SRIP(), lambda: thomson.MHE()),
        (lambda: thomson.CoMHE("angle", dim=2), lambda: thomson.CoMHE("angle", dim=2, base=thomson.MHS())),
    ],
    ids=["mhp-to-mhe", "mhp-to-mhc", "srip-to-mhe", "comhe-base-mhe-to-mhs"],
)
@pytest.mark.parametrize("through_file", [False, True])
def test_another_objectives_state_is_refused(
    source: Callable[[], Objective], target: Callable[[], Objective], through_file: bool
) -> None:
    state = used(source()).state_dict()
    state = saved(state) if through_file else state
    with pytest.raises(RuntimeError, match=r"was saved by objective (MHP|SRIP|MHE), not (MHE|MHC|MHS)"):
        target().load_state_dict(state)


def test_another_objectives_state_is_refused_through_a_regularizer() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Linear(8, 3))
    reg = thomson.Regularizer(model, thomson.MHP())
    reg()
    with pytest.raises(RuntimeError, match="the state under 'objective' was saved by objective MHP, not MHC"):
        thomson.Regularizer(model, thomson.MHC()).load_state_dict(saved(reg.state_dict()))
    fresh = thomson.Regularizer(model, thomson.MHP())
    fresh.load_state_dict(saved(reg.state_dict()))  # its own state loads into a fresh regularizer
    for key, value in reg.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


@pytest.mark.parametrize(
    ("objective", "key"),
    [(thomson.MHE, "a:b"), (thomson.MHP, "fc:projection"), (thomson.CoMHE, "fc:poles"), (thomson.SRIP, "fc:poles")],
)
def test_keys_it_cannot_own_are_unexpected(objective: Callable[[], Objective], key: str) -> None:
    fresh = objective()
    state = {**fresh.state_dict(), key: torch.zeros(1, 5)}
    with pytest.raises(RuntimeError, match=f'Unexpected key\\(s\\) in state_dict: "{key}"'):
        fresh.load_state_dict(state)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Linear(8, 3))
    reg = thomson.Regularizer(model, objective())
    with pytest.raises(RuntimeError, match=f'Unexpected key\\(s\\) in state_dict: "objective.{key}"'):
        reg.load_state_dict({**reg.state_dict(), f"objective.{key}": torch.zeros(1, 5)})
    reg.load_state_dict({**reg.state_dict(), f"objective.{key}": torch.zeros(1, 5)}, strict=False)  # ignored
    assert f"objective.{key}" not in reg.state_dict()


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        (lambda: thomson.MHP(), lambda: thomson.MHP(poles=3), r"fc:poles: MHP's 'poles' must have shape \[3, D\]"),
        (lambda: thomson.MHC(poles=2), lambda: thomson.MHC(), r"fc:pole_momentum: MHC's 'pole_momentum' must have"),
        (
            lambda: thomson.CoMHE("angle", dim=3),
            lambda: thomson.CoMHE("angle", dim=2),
            r"fc:projection: CoMHE's 'projection' must have shape \[2, D\] \(dim=2\), got \(3, 5\)",
        ),
    ],
)
def test_wrong_sizes_fail_at_load_time_naming_the_key(
    source: Callable[[], Objective], target: Callable[[], Objective], message: str
) -> None:
    state = used(source()).state_dict()
    with pytest.raises(RuntimeError, match=f"size mismatch for {message}"):
        target().load_state_dict(state)


def test_a_non_float_state_is_refused() -> None:
    with pytest.raises(RuntimeError, match="size mismatch for fc:vector: SRIP's 'vector' must be a floating-point"):
        thomson.SRIP().load_state_dict({"fc:vector": torch.zeros(3, dtype=torch.long)})


def test_a_layer_of_another_shape_names_the_cause_at_the_call() -> None:
    mhp = thomson.MHP()
    mhp.load_state_dict(used(thomson.MHP()).state_dict())  # poles for D = 5
    with pytest.raises(ValueError, match=r"made for a weight of another shape .*load state saved for this model"):
        mhp(torch.randn(8, 7), layer="fc")


def test_per_layer_state_must_be_declared() -> None:
    class Undeclared(Objective):
        def forward(self, weight: torch.Tensor, *, layer: str = "", classifier: bool = False) -> torch.Tensor:
            return self.layer_state(layer, "memory", lambda: torch.zeros(3)).sum()

    with pytest.raises(ValueError, match=r"does not declare it: add it to the class attribute state_names"):
        Undeclared()(torch.randn(4, 3))

    class Declared(Undeclared):
        state_names = ("memory",)

    assert float(Declared()(torch.randn(4, 3))) == 0.0
    assert list(Declared().load_state_dict({"fc:memory": torch.ones(3)}, strict=True).unexpected_keys) == []
