"""The Riesz and logarithmic energies as a solver problem, evaluated by thomson's own energy.

    E_s(X) = Σ_{i<j} |x_i - x_j|^(-s)   (s > 0; s = 1 is the Thomson problem on S²)
    E_0(X) = Σ_{i<j} -log |x_i - x_j|    (the log energy, Smale's 7th problem on S²)
    E_s(X) = -Σ_{i<j} |x_i - x_j|^(-s)  (s < 0)

Value and gradient come from thomson's own energy (:func:`thomson.functional.hyperspherical_energy`'s terms,
``eps=0``: the exact classical energy, summed by :func:`thomson.engine.pairwise_sum`) with autograd, in float64;
its kernel is watched (:class:`~thomson.solve.limits.WatchedKernel`), so a time limit can stop a long evaluation
between two tiles of pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from thomson.engine import pairwise_sum
from thomson.functional.riesz import energy_terms
from thomson.solve.lbfgs import LocalRun, minimize_on_spheres
from thomson.solve.limits import WatchedKernel
from thomson.solve.problem import PROBLEMS


def energy_and_gradient(x: Tensor, s: float) -> tuple[float, Tensor]:
    """``E_s`` of the unit rows of ``x`` and its Riemannian gradient (autograd through the normalization).

    Example:
        >>> octahedron = torch.cat([torch.eye(3, dtype=torch.float64), -torch.eye(3, dtype=torch.float64)])
        >>> value, grad = energy_and_gradient(octahedron, 1.0)  # 12 pairs at √2, 3 antipodal pairs at 2
        >>> round(value, 9), float(grad.abs().max()) < 1e-12  # 6√2 + 3/2, and a critical point
        (9.985281374, True)
    """
    with torch.enable_grad():
        leaf = x.detach().requires_grad_(True)
        unit, kernel, factor = energy_terms(leaf, s, "euclidean", reference=False, eps=0)
        value = factor * pairwise_sum(unit, WatchedKernel(kernel))
        (grad,) = torch.autograd.grad(value, leaf)
    return float(value.detach()), grad


@dataclass(frozen=True)
class EnergyProblem:
    """Minimize the Riesz ``s``-energy (``s = 0``: log energy) by Riemannian L-BFGS from each start."""

    s: float
    maximize: bool = False

    def local_search(self, x0: Tensor, max_iter: int) -> LocalRun:
        return minimize_on_spheres(lambda x: energy_and_gradient(x, self.s), x0, max_iter=max_iter)


@PROBLEMS.register("riesz")
def riesz_problem(s: float | None, n: int, dim: int) -> EnergyProblem:
    """The Riesz ``s``-energy (default ``s = 1``, the Thomson problem)."""
    return EnergyProblem(1.0 if s is None else float(s))


@PROBLEMS.register("log")
def log_problem(s: float | None, n: int, dim: int) -> EnergyProblem:
    """The logarithmic energy, the ``s = 0`` member of the family."""
    if s not in (None, 0):
        raise ValueError(f"objective='log' is the s = 0 energy; leave s unset, got s={s!r}")
    return EnergyProblem(0.0)
