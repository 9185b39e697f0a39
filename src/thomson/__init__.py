"""thomson: hyperspherical-uniformity regularization for PyTorch.

>>> import torch, thomson
>>> model = thomson.models.CNN9(num_classes=100)
>>> reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True, reference=True))
>>> penalty = reg()          # add to the loss; reg.stats holds the per-layer energies

``import thomson`` loads the core only: kernels, engine, functional, objectives, the regularizer and the solver.
The applications (``thomson.models``, ``thomson.data``, ``thomson.train``, ``thomson.inspection``,
``thomson.cli``) load on first use, and with them their optional dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from thomson import engine, functional, kernels
from thomson.functional import (
    alignment,
    estimate_energy,
    hyperspherical_energy,
    minibatch_class_energy,
    uniformity,
)
from thomson.objectives import (
    DSO,
    MC,
    MGD,
    MHC,
    MHE,
    MHP,
    MHS,
    MMA,
    RMHP,
    SO,
    SRIP,
    CoMHE,
    Objective,
    UniformityLoss,
    create_objective,
    list_objectives,
    register_objective,
)
from thomson.regularizer import Regularizer
from thomson.solve import SolveResult

if TYPE_CHECKING:
    from thomson import cli as cli
    from thomson import data, models, train
    from thomson import embeddings as embeddings
    from thomson import inspection as inspection
    from thomson.solve.solver import solve  # at run time the package thomson.solve, which calls this function
else:
    from thomson import solve  # the package; calling it calls thomson.solve.solve

_LAZY = ("cli", "data", "embeddings", "inspection", "models", "train")
"""Subpackages loaded on first attribute access (PEP 562)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f"thomson.{name}")
    if name == "__version__":
        from importlib.metadata import version

        return version("thomson")
    raise AttributeError(f"module 'thomson' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "__version__"})


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
    "create_objective",
    "data",
    "engine",
    "estimate_energy",
    "functional",
    "hyperspherical_energy",
    "kernels",
    "list_objectives",
    "minibatch_class_energy",
    "models",
    "register_objective",
    "solve",
    "train",
    "uniformity",
]
