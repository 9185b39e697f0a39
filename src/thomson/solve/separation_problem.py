"""The separation (Tammes) problem for the solver: maximize the smallest angle between any two of the points.

    θ(X) = min_{i<j} ∠(x_i, x_j)      (reported in degrees, as tables of spherical codes give it)

A local search has two stages. First a continuation: minimizing the Riesz energy ``E_s`` for growing ``s``
(:data:`SCHEDULE`) drives the configuration towards a max-min one, since ``E_s^(1/s) → 1/min |x_i - x_j|``.
Then a polish of the max-min problem itself, written as a smooth program and solved by SLSQP (scipy):

    maximize t   subject to   t <= 1 - x_iᵀx_j  for the near pairs,   |x_i|² = 1,

where the near pairs are those within :data:`NEAR` times the current minimum angle; rounds repeat with the
near pairs of the new configuration until no other pair comes closer than the minimum.

This is the solver's own separation objective, kept apart from the uniformity family's (MHS, in
:mod:`thomson.functional`) so that each can change independently; :func:`min_angle` is the only measurement.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import Tensor

from thomson._optional import require
from thomson.engine import block_rows
from thomson.functional import normalize_rows
from thomson.solve import limits
from thomson.solve.energy_problem import energy_and_gradient
from thomson.solve.lbfgs import LocalRun, minimize_on_spheres
from thomson.solve.problem import PROBLEMS, without_exponent
from thomson.solve.slack import maximize_slack

SCHEDULE = (32.0, 128.0, 512.0, 2048.0)
"""Riesz exponents of the continuation, in order."""

NEAR = 1.3
"""Pairs closer than this multiple of the minimum angle enter the polish's constraints."""


def min_angle(x: Tensor) -> float:
    """The smallest angle between two rows of ``x`` (taken as directions), in degrees.

    The closest pair is found from the Gram matrix, a block of rows at a time (memory ``O(N)`` per row of a
    block, so large layers fit); its angle is ``2·asin(|x̂_i - x̂_j|/2)``, accurate also for small angles.

    Example:
        >>> round(min_angle(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)), 12)
        90.0
    """
    unit = normalize_rows(x.detach())
    n = unit.shape[0]
    best, i, j = -math.inf, 0, 1
    rows = block_rows(n)
    for start in range(0, n, rows):
        block = unit[start : start + rows] @ unit.T
        block[torch.arange(block.shape[0]), torch.arange(start, start + block.shape[0])] = -math.inf
        flat = int(torch.argmax(block))
        if float(block.view(-1)[flat]) > best:
            best = float(block.view(-1)[flat])
            i, j = start + flat // n, flat % n
    chord = float(torch.linalg.vector_norm(unit[i] - unit[j]))
    return math.degrees(2.0 * math.asin(min(chord / 2.0, 1.0)))


def _largest_exponent(x: Tensor) -> float:
    """The largest ``s`` for which the closest pair's term ``d^(-s)`` stays inside float64's range (1e±260)."""
    chord = 2.0 * math.sin(math.radians(min_angle(x)) / 2.0)
    return math.inf if abs(math.log(chord)) < 1e-12 else 600.0 / abs(math.log(chord))


def _log_energy_and_gradient(x: Tensor, s: float) -> tuple[float, Tensor]:
    """``log(E_s)/s`` and its gradient: the same minimizers as ``E_s``, but of size ``-log d_min`` for any s."""
    value, grad = energy_and_gradient(x, s)
    if not 0.0 < value < math.inf:  # coincident points, or every term underflowed: not a usable step
        return math.inf, grad
    return math.log(value) / s, grad / (s * value)


@PROBLEMS.register("separation")
def separation_problem(s: float | None, n: int, dim: int) -> SeparationProblem:
    """Maximize the minimum pair angle (no exponent)."""
    without_exponent("separation", s)
    return SeparationProblem()


@dataclass(frozen=True)
class SeparationProblem:
    """Maximize the minimum pair angle: Riesz continuation then an SLSQP max-min polish."""

    maximize: bool = True
    s: float | None = None

    def local_search(self, x0: Tensor, max_iter: int) -> LocalRun:
        history = [min_angle(x0)]
        x = x0
        evaluations = 0
        for exponent in SCHEDULE:
            if limits.expired():
                break
            run = minimize_on_spheres(
                partial(_log_energy_and_gradient, s=min(exponent, _largest_exponent(x))),
                x,
                max_iter=max_iter,
                callback=lambda y, f: history.append(min_angle(y)),
            )
            x, evaluations = run.points, evaluations + run.evaluations
        x = polish(x, lambda y: history.append(min_angle(y)))
        value = min_angle(x)
        history.append(value)
        return LocalRun(x, value, tuple(history), math.nan, len(history) - 1, evaluations)


def polish(x: Tensor, callback: Callable[[Tensor], None] | None = None, *, rounds: int = 8) -> Tensor:
    """Raise the minimum angle of the unit rows ``x`` to a local max-min optimum (SLSQP over the near pairs).

    Returns the better of ``x`` and the polished configuration (unit rows, ``x``'s dtype and device).
    """
    optimize = require("scipy.optimize", extra="solve", purpose="the separation (Tammes) polish")
    best = normalize_rows(x.detach().to("cpu", torch.float64))
    best_angle = min_angle(best)
    n, d = best.shape
    current = best.numpy().copy()
    for _ in range(rounds):
        if limits.expired():
            break
        gram = current @ current.T
        np.fill_diagonal(gram, -np.inf)
        theta = math.acos(min(max(float(gram.max()), -1.0), 1.0))
        ii, jj = np.nonzero(np.triu(gram >= math.cos(min(NEAR * theta, math.pi)), k=1))
        z0 = np.append(current.ravel(), 1.0 - float(gram.max()))
        rows = np.arange(len(ii))

        def pairs(z: np.ndarray, ii: np.ndarray = ii, jj: np.ndarray = jj) -> np.ndarray:
            p = z[:-1].reshape(n, d)
            return np.asarray(1.0 - np.einsum("kd,kd->k", p[ii], p[jj]) - z[-1])

        def pairs_jac(z: np.ndarray, ii: np.ndarray = ii, jj: np.ndarray = jj, rows: np.ndarray = rows) -> np.ndarray:
            p = z[:-1].reshape(n, d)
            jac = np.zeros((len(ii), n * d + 1))
            cols = np.arange(d)
            jac[rows[:, None], ii[:, None] * d + cols] = -p[jj]
            jac[rows[:, None], jj[:, None] * d + cols] = -p[ii]
            jac[:, -1] = -1.0
            return jac

        rows_out = maximize_slack(optimize, z0, (n, d), pairs, pairs_jac, maxiter=3000, callback=callback)
        candidate = normalize_rows(torch.from_numpy(rows_out))
        angle = min_angle(candidate)
        if angle > best_angle:
            best, best_angle = candidate, angle
        # done once the constraint set held: every pair outside it stays farther apart than the minimum
        current = candidate.numpy()
        near = np.zeros((n, n), dtype=bool)
        near[ii, jj] = True
        near |= near.T | np.eye(n, dtype=bool)
        if not bool(((current @ current.T)[~near] > math.cos(math.radians(angle)) + 1e-12).any()):
            break
    return best.to(x.device, x.dtype)
