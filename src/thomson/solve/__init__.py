"""Point configurations on spheres: ``N`` points on ``S^(D-1)`` minimizing an energy, or best separated or covering.

``thomson.solve`` is the function :func:`~thomson.solve.solver.solve` (exported by the top-level package), so
reach this package's modules with ``from thomson.solve.lbfgs import minimize_on_spheres`` or
``from thomson.solve import separation``; ``import thomson.solve.lbfgs as m`` finds the function instead.

>>> import thomson
>>> result = thomson.solve(4, 3, s=1, restarts=1)   # the regular tetrahedron, 3·sqrt(6)/2
>>> round(result.value, 9)
3.674234614
"""

from thomson.solve.problem import OBJECTIVES, ObjectiveName
from thomson.solve.result import SolveResult
from thomson.solve.solver import solve

__all__ = ["OBJECTIVES", "ObjectiveName", "SolveResult", "solve"]
