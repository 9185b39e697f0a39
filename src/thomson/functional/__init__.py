"""Pure functions on rows ``x: [N, D]`` (rows are items). No state, no modules."""

from thomson.engine import Estimate
from thomson.functional.alignment import alignment
from thomson.functional.covering import covering
from thomson.functional.estimate import estimate_energy
from thomson.functional.gram import gram_logdet
from thomson.functional.minibatch import minibatch_class_energy
from thomson.functional.orthogonality import (
    double_soft_orthogonality,
    mutual_coherence,
    power_iteration,
    soft_orthogonality,
    spectral_isometry,
)
from thomson.functional.polarization import polarization, relaxed_polarization
from thomson.functional.riesz import hyperspherical_energy
from thomson.functional.rows import as_rows, normalize_rows
from thomson.functional.separation import mean_min_angle, min_separation
from thomson.functional.uniformity import estimate_uniformity, uniformity

__all__ = [
    "Estimate",
    "alignment",
    "as_rows",
    "covering",
    "double_soft_orthogonality",
    "estimate_energy",
    "estimate_uniformity",
    "gram_logdet",
    "hyperspherical_energy",
    "mean_min_angle",
    "min_separation",
    "minibatch_class_energy",
    "mutual_coherence",
    "normalize_rows",
    "polarization",
    "power_iteration",
    "relaxed_polarization",
    "soft_orthogonality",
    "spectral_isometry",
    "uniformity",
]
