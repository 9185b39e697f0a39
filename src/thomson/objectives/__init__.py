"""Objectives: modules holding an objective's hyperparameters and auxiliary state, callable on a weight; and
:class:`UniformityLoss`, callable on a batch of embeddings.

Each objective is registered by name (:mod:`thomson.objectives.registry`), so ``create_objective("mhe")``,
``thomson train --reg mhe`` and the contract tests find it.
"""

from thomson.objectives.base import Objective
from thomson.objectives.comhe import CoMHE
from thomson.objectives.mc import MC
from thomson.objectives.mgd import MGD
from thomson.objectives.mhc import MHC
from thomson.objectives.mhe import MHE
from thomson.objectives.mhp import MHP
from thomson.objectives.mhs import MHS
from thomson.objectives.mma import MMA
from thomson.objectives.registry import OBJECTIVES, create_objective, list_objectives, register_objective
from thomson.objectives.rmhp import RMHP
from thomson.objectives.so import DSO, SO
from thomson.objectives.srip import SRIP
from thomson.objectives.uniformity_loss import UniformityLoss

__all__ = [
    "DSO",
    "MC",
    "MGD",
    "MHC",
    "MHE",
    "MHP",
    "MHS",
    "MMA",
    "OBJECTIVES",
    "RMHP",
    "SO",
    "SRIP",
    "CoMHE",
    "Objective",
    "UniformityLoss",
    "create_objective",
    "list_objectives",
    "register_objective",
]
