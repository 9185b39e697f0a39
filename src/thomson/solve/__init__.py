"""Point configurations on spheres: ``N`` points on ``S^(D-1)`` minimizing an energy, or best separated or covering.

``thomson.solve`` is this package, and calling it calls its function :func:`~thomson.solve.solver.solve`:
``thomson.solve(12, 3, s=1)`` is ``thomson.solve.solve(12, 3, s=1)``. One object, so both the call and the
modules work: ``thomson.solve.SolveResult``, ``import thomson.solve.lbfgs``, ``from thomson.solve import solve``.

The modules: :mod:`~thomson.solve.solver` (the function), :mod:`~thomson.solve.problem` (what a problem is, and
the registry of problems by name), one module per problem (:mod:`~thomson.solve.energy_problem`,
:mod:`~thomson.solve.separation_problem`, :mod:`~thomson.solve.covering_problem`), the local search
(:mod:`~thomson.solve.lbfgs`, :mod:`~thomson.solve.linesearch`, :mod:`~thomson.solve.slack`), the starts
(:mod:`~thomson.solve.starts`), the result (:mod:`~thomson.solve.result`) and the bounds on memory and time
(:mod:`~thomson.solve.limits`).

>>> import thomson
>>> result = thomson.solve(4, 3, s=1, restarts=1)   # the regular tetrahedron, 3·sqrt(6)/2
>>> round(result.value, 9)
3.674234614
"""

import sys
import types
from typing import Any

from thomson.solve import covering_problem, energy_problem, separation_problem  # noqa: F401  (they register themselves)
from thomson.solve.problem import OBJECTIVES, PROBLEMS, ObjectiveName
from thomson.solve.result import SolveResult
from thomson.solve.solver import solve


class _CallablePackage(types.ModuleType):
    """The type of this package: a module that, called, runs :func:`~thomson.solve.solver.solve`."""

    def __call__(self, *args: Any, **kwargs: Any) -> SolveResult:
        return solve(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage

__all__ = ["OBJECTIVES", "PROBLEMS", "ObjectiveName", "SolveResult", "solve"]
