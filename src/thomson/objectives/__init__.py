"""Objectives: modules holding an objective's hyperparameters and auxiliary state, callable on a weight."""

from thomson.objectives.base import Objective
from thomson.objectives.comhe import CoMHE
from thomson.objectives.mhe import MHE

__all__ = ["MHE", "CoMHE", "Objective"]
