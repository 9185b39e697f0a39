from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor

import thomson
from thomson.train import available_objectives, build_objective


def test_names_resolve_case_insensitively_with_options() -> None:
    for name in ("mhe", "MHE", "Mhe"):
        objective = build_objective(name, {"s": 0, "half_space": True, "reference": True})
        assert isinstance(objective, thomson.MHE)
        assert (objective.s, objective.half_space, objective.reference) == (0.0, True, True)
    assert build_objective("none") is None


def test_every_exported_objective_is_available() -> None:
    exported = {
        name.lower()
        for name in thomson.__all__
        if isinstance(getattr(thomson, name), type)
        and issubclass(getattr(thomson, name), thomson.Objective)
        and getattr(thomson, name) is not thomson.Objective
    }
    assert "mhe" in exported and exported <= set(available_objectives())


def test_unknown_names_and_bad_options_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown regularizer 'thomsonmagic'; available: none, .*mhe"):
        build_objective("thomsonmagic")
    with pytest.raises(ValueError, match=r"bad option for regularizer 'mhe'.*it takes"):
        build_objective("mhe", {"power": 2})
    with pytest.raises(ValueError, match="takes no options"):
        build_objective("none", {"s": 2})


class _Inner(thomson.Objective):
    """A test objective with inner steps, to check that the network's learning rate reaches inner_lr."""

    def __init__(self, inner_lr: Any = 0.5) -> None:
        super().__init__()
        self.inner_lr = inner_lr

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        return weight.sum()


def test_inner_lr_follows_the_network_unless_given(request: pytest.FixtureRequest) -> None:
    thomson.register_objective("_inner")(_Inner)  # a user's objective, available by name once registered
    request.addfinalizer(lambda: thomson.objectives.OBJECTIVES.remove("_inner"))
    rate = [0.1]
    objective = build_objective("_inner", lr=lambda: rate[0])
    assert isinstance(objective, _Inner) and callable(objective.inner_lr)
    rate[0] = 0.01
    assert objective.inner_lr() == 0.01
    given = build_objective("_inner", {"inner_lr": 0.3}, lr=lambda: rate[0])
    assert isinstance(given, _Inner) and given.inner_lr == 0.3
    assert torch.equal(given(torch.ones(2, 2)), torch.tensor(4.0))


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("comhe", {"projection": "random"}),
        ("comhe", {"projection": "angle"}),
        ("mhp", {}),
        ("mhc", {"reference": True}),
    ],
)
def test_library_objectives_with_inner_steps_follow_the_network(name: str, options: dict[str, Any]) -> None:
    lr = lambda: 0.025  # noqa: E731
    objective = build_objective(name, options, lr=lr)
    assert objective is not None and getattr(objective, "inner_lr") is lr  # noqa: B009
