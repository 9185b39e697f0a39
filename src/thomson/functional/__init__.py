"""Pure functions on rows ``x: [N, D]`` (rows are items). No state, no modules."""

from thomson.functional.energy import hyperspherical_energy
from thomson.functional.rows import as_rows, normalize_rows

__all__ = ["as_rows", "hyperspherical_energy", "normalize_rows"]
