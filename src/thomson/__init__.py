"""thomson: hyperspherical-uniformity regularization for PyTorch.

>>> import torch, thomson
>>> model = thomson.models.CNN9(num_classes=100)
>>> reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True, reference=True))
>>> penalty = reg()          # add to the loss; reg.stats holds the per-layer energies
"""

from thomson import data, functional, kernels, models, train
from thomson.functional import alignment, estimate_energy, hyperspherical_energy, minibatch_class_energy, uniformity
from thomson.objectives import DSO, MC, MGD, MHC, MHE, MHP, MHS, MMA, RMHP, SO, SRIP, CoMHE, Objective, UniformityLoss
from thomson.regularizer import Regularizer
from thomson.solve import SolveResult, solve

__version__ = "0.1.0"

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
    "Regularizer",
    "SolveResult",
    "UniformityLoss",
    "__version__",
    "alignment",
    "data",
    "estimate_energy",
    "functional",
    "hyperspherical_energy",
    "kernels",
    "minibatch_class_energy",
    "models",
    "solve",
    "train",
    "uniformity",
]
