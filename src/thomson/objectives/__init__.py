"""Objectives: modules holding an objective's hyperparameters and auxiliary state, callable on a weight; and
:class:`UniformityLoss`, callable on a batch of embeddings."""

from thomson.objectives.base import Objective
from thomson.objectives.comhe import CoMHE
from thomson.objectives.mgd import MGD
from thomson.objectives.mhc import MHC
from thomson.objectives.mhe import MHE
from thomson.objectives.mhp import MHP
from thomson.objectives.mhs import MHS
from thomson.objectives.mma import MMA
from thomson.objectives.orthogonality import DSO, MC, SO, SRIP
from thomson.objectives.rmhp import RMHP
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
    "RMHP",
    "SO",
    "SRIP",
    "CoMHE",
    "Objective",
    "UniformityLoss",
]
