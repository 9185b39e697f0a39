"""Training and comparison: the papers' recipe, a resumable loop with DDP, grids of runs, reports and plots."""

from thomson.train.config import TrainConfig, available_objectives, build_objective, make_config
from thomson.train.loop import RunResult, fit
from thomson.train.recipe import RECIPES, step_lr

__all__ = [
    "RECIPES",
    "RunResult",
    "TrainConfig",
    "available_objectives",
    "build_objective",
    "fit",
    "make_config",
    "step_lr",
]
