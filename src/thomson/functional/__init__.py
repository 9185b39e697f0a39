"""Pure functions on rows ``x: [N, D]`` (rows are items). No state, no modules."""

from thomson.engine import Estimate
from thomson.functional.energy import hyperspherical_energy
from thomson.functional.estimate import estimate_energy
from thomson.functional.minibatch import minibatch_class_energy
from thomson.functional.rows import as_rows, normalize_rows

__all__ = [
    "Estimate",
    "as_rows",
    "estimate_energy",
    "hyperspherical_energy",
    "minibatch_class_energy",
    "normalize_rows",
]
