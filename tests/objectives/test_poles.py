"""The pole game shared by MHP and MHC: per-layer state, when the poles move, several poles, robustness."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import thomson
from thomson.functional import covering, polarization
from thomson.objectives.poles import POLE_WARMUP, PoleGame

GAMES = [thomson.MHP, thomson.MHC]


def model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(24, 4))


@pytest.mark.parametrize("cls", GAMES)
def test_poles_are_state_not_parameters_and_survive_a_state_dict(cls: type[PoleGame]) -> None:
    torch.manual_seed(0)
    net = model()
    reg = thomson.Regularizer(net, cls(poles=2))
    for _ in range(3):
        reg().backward()
    state = reg.state_dict()
    assert {"objective.0/weight:poles", "objective.0/weight:pole_momentum", "objective.3/weight:poles"} <= set(state)
    assert tuple(state["objective.0/weight:poles"].shape) == (2, 27)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert all(not b.requires_grad for b in reg.buffers())
    fresh = thomson.Regularizer(net, cls(poles=2))
    fresh.load_state_dict(state)
    for a, b in ((reg, fresh), (reg, fresh)):  # same values and the same pole updates from here on
        torch.testing.assert_close(a(), b())
    for name, tensor in reg.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[name], tensor)


@pytest.mark.parametrize("cls", GAMES)
def test_poles_move_only_in_training_with_gradients(cls: type[PoleGame]) -> None:
    w = torch.randn(8, 5)
    game = cls()
    game(w, layer="l")
    before = game.get_buffer("l:poles").clone()
    game.eval()
    game(w, layer="l")
    assert torch.equal(game.get_buffer("l:poles"), before)
    game.train()
    with torch.no_grad():
        game(w, layer="l")
    assert torch.equal(game.get_buffer("l:poles"), before)
    game(w, layer="l")
    assert not torch.equal(game.get_buffer("l:poles"), before)
    assert cls(inner_steps=0).train()(w, layer="l") is not None


def test_warm_up_moves_new_poles_even_in_eval_mode() -> None:
    w = torch.randn(6, 3, dtype=torch.float64)
    torch.manual_seed(0)
    start = torch.nn.functional.normalize(torch.randn(1, 3, dtype=torch.float64), dim=1)
    torch.manual_seed(0)
    mhp = thomson.MHP(half_space=False, inner_steps=0).eval()
    mhp(w)
    pole = mhp.get_buffer(":poles")
    assert float(polarization(w, pole)[0]) < float(polarization(w, start)[0])
    assert float(pole.norm()) == pytest.approx(1.0)
    assert POLE_WARMUP == 100
    torch.manual_seed(0)
    reference = thomson.MHP(half_space=False, reference=True).eval()
    reference(w)
    torch.manual_seed(0)
    torch.testing.assert_close(reference.get_buffer(":poles"), torch.randn(1, 3, dtype=torch.float64))


@pytest.mark.parametrize("cls", GAMES)
def test_pole_learning_rate_may_be_a_function(cls: type[PoleGame]) -> None:
    w = torch.randn(8, 5)
    results = []
    for lr in (0.05, lambda: 0.05):
        torch.manual_seed(0)
        game = cls(inner_lr=lr)
        game(w, layer="l")
        results.append(game.get_buffer("l:poles"))
    torch.testing.assert_close(results[0], results[1])


@pytest.mark.parametrize("cls", GAMES)
def test_several_poles_play_independently(cls: type[PoleGame]) -> None:
    w = torch.randn(10, 4, dtype=torch.float64)
    starts = torch.nn.functional.normalize(torch.randn(3, 4, dtype=torch.float64), dim=1)
    many = cls(poles=3)
    many.layer_state("", "poles", starts.clone)  # given poles take no warm-up
    many(w)
    singles = []
    for k in range(3):
        single = cls()
        single.layer_state("", "poles", starts[k : k + 1].clone)
        single(w)
        singles.append(single.get_buffer(":poles"))
    torch.testing.assert_close(many.get_buffer(":poles"), torch.cat(singles))
    many.eval()
    expected = (
        -polarization(w, torch.cat(singles), half_space=True)
        if cls is thomson.MHP
        else covering(w, torch.cat(singles), half_space=True)
    ).mean()
    torch.testing.assert_close(many(w), expected)


@pytest.mark.parametrize("cls", GAMES)
@pytest.mark.parametrize("reference", [False, True])
def test_degenerate_rows_stay_finite(cls: type[PoleGame], reference: bool) -> None:
    base = np.random.default_rng(0).normal(size=(4, 3))
    cases = [
        np.concatenate([base, np.zeros((1, 3))]),
        np.concatenate([base, base[:1]]),
        np.concatenate([base, -base[:1]]),
        base[:1],
        np.zeros((3, 3)),
    ]
    for x in cases:
        for classifier in (False, True):
            w = torch.tensor(x, dtype=torch.float32, requires_grad=True)
            game = cls(reference=reference)
            value = game(w, layer="l", classifier=classifier)
            value.backward()
            assert w.grad is not None
            assert torch.isfinite(value) and torch.isfinite(w.grad).all()
            assert torch.isfinite(game.get_buffer("l:poles")).all()


def test_pole_on_a_neuron_stays_finite() -> None:
    w = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], requires_grad=True)
    mhp = thomson.MHP(inner_steps=0).eval()
    mhp.layer_state("", "poles", lambda: torch.tensor([[1.0, 0.0, 0.0]]))
    value = mhp(w, classifier=True)
    value.backward()
    assert w.grad is not None and torch.isfinite(value) and torch.isfinite(w.grad).all()


@pytest.mark.parametrize("cls", GAMES)
def test_a_layer_name_reused_for_another_shape_raises(cls: type[PoleGame]) -> None:
    game = cls()
    game(torch.randn(4, 3))
    with pytest.raises(ValueError, match="layer="):
        game(torch.randn(4, 5))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"poles": 0}, "poles"),
        ({"poles": 1.5}, "poles"),
        ({"inner_steps": -1}, "inner_steps"),
        ({"inner_lr": 0.0}, "inner_lr"),
        ({"inner_lr": "fast"}, "inner_lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"weight_decay": -1e-4}, "weight_decay"),
    ],
)
@pytest.mark.parametrize("cls", GAMES)
def test_bad_arguments_raise(cls: type[PoleGame], kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)  # type: ignore[arg-type]


def test_repr_names_the_pole_settings() -> None:
    text = repr(thomson.MHC(poles=3, inner_lr=lambda: 0.1))
    assert "poles=3" in text and "inner_lr=callable" in text and "gamma=10" in text
