"""Point configurations on spheres: ``N`` points on ``S^(D-1)`` minimizing an energy, or best separated or covering.

>>> import thomson
>>> result = thomson.solve(4, 3, s=1, restarts=1)   # the regular tetrahedron, 3·sqrt(6)/2
>>> round(result.value, 12)
3.674234614175
"""

from thomson.solve.problem import OBJECTIVES, ObjectiveName
from thomson.solve.result import SolveResult
from thomson.solve.solver import solve

__all__ = ["OBJECTIVES", "ObjectiveName", "SolveResult", "solve"]
