from __future__ import annotations

import pytest

from thomson.train import RECIPES, make_config, step_lr


@pytest.mark.parametrize(
    ("recipe", "steps", "milestones"),
    [("mhe", 42_500, (20_000, 30_000, 37_500)), ("uniformity", 75_000, (30_000, 50_000, 65_000))],
)
def test_reference_schedule_at_its_boundaries(recipe: str, steps: int, milestones: tuple[int, ...]) -> None:
    config = make_config({"recipe": recipe})
    assert config.steps == steps and tuple(config.milestones) == milestones
    expected = 0.1
    assert step_lr(0, config.lr, config.milestones, config.gamma) == pytest.approx(0.1, rel=1e-12)
    for m in milestones:
        # the reference does `lr *= 0.1` when i == m, before update i
        assert step_lr(m - 1, config.lr, config.milestones, config.gamma) == pytest.approx(expected, rel=1e-12)
        expected *= 0.1
        assert step_lr(m, config.lr, config.milestones, config.gamma) == pytest.approx(expected, rel=1e-12)
    assert step_lr(steps - 1, config.lr, config.milestones, config.gamma) == pytest.approx(1e-4, rel=1e-12)


def test_recipe_constants_are_the_spec() -> None:
    for name in ("mhe", "uniformity", "comhe"):
        c = make_config({"recipe": name})
        assert (c.batch_size, c.lr, c.momentum, c.weight_decay) == (128, 0.1, 0.9, 5e-4)
        assert (c.label_smoothing, c.prob_eps, c.gamma) == (0.01, 1e-4, 0.1)
    assert RECIPES["comhe"] == RECIPES["uniformity"]


def test_schedule_with_unsorted_and_repeated_milestones() -> None:
    assert [step_lr(t, 1.0, [3, 1, 3], 0.5) for t in range(5)] == [1.0, 0.5, 0.5, 0.125, 0.125]
