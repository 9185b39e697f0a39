"""The covering problem for the solver: minimize the covering radius, the largest angle from any point of the
sphere to its nearest ``x_i``.

    ρ(X) = max_{v ∈ S^(D-1)} min_i ∠(v, x_i)      (reported in degrees)

When the origin lies inside the convex hull of the points (as for every good covering by ``N >= D + 1``
points), the deepest holes are the centres of the hull's facets: the facet through the vertex rows ``V``
(``D`` of them; qhull triangulates) lies in the plane ``{y : nᵀy = b}`` with

    n = b V⁻¹𝟙,   b = 1 / |V⁻¹𝟙|,   and   cos ρ(X) = min over facets of b.

(When the origin is outside the hull, ``ρ > 90°`` and ``cos ρ = -dist(0, conv X)``, a small NNLS problem.)

A local search minimizes the Riesz energy ``E_s`` with :data:`START_S` (a well spread configuration), then
polishes the min-max problem with SLSQP (scipy) for the facets of the current hull,

    maximize τ   subject to   b_f(X) >= τ  for every facet f,   |x_i|² = 1,

with ``∂b/∂v_k = b² u_k n`` for the facet's vertex ``v_k`` (``u = V⁻ᵀV⁻¹𝟙``), in rounds until the hull's facets
stop changing. This is the solver's own covering objective, apart from the uniformity family's soft covering
(MHC), whose pole game estimates the same radius during training.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from thomson._optional import require
from thomson.functional import normalize_rows
from thomson.solve import limits
from thomson.solve.energy_problem import energy_and_gradient
from thomson.solve.lbfgs import LocalRun, minimize_on_spheres
from thomson.solve.problem import PROBLEMS, without_exponent
from thomson.solve.slack import maximize_slack

START_S = 1.0
"""Riesz exponent of the energy minimized before the covering polish."""


def _facets(points: np.ndarray) -> np.ndarray:
    """Vertex indices ``[F, D]`` of the (triangulated) facets of the convex hull of ``points``."""
    spatial = require("scipy.spatial", extra="solve", purpose="the covering radius")
    return np.asarray(spatial.ConvexHull(points).simplices)


def _facet_offsets(points: np.ndarray, facets: np.ndarray) -> np.ndarray:
    """``b_f = 1/|V_f⁻¹𝟙|`` for each facet: the cosine of its circumscribed cap's angular radius."""
    w = np.linalg.solve(points[facets], np.ones((len(facets), points.shape[1], 1)))[..., 0]
    return np.asarray(1.0 / np.linalg.norm(w, axis=1))


def covering_radius(x: Tensor) -> float:
    """The covering radius of the rows of ``x`` (taken as directions) on the sphere, in degrees.

    Example:
        >>> octahedron = torch.cat([torch.eye(3, dtype=torch.float64), -torch.eye(3, dtype=torch.float64)])
        >>> round(covering_radius(octahedron), 6)  # the face centres, at arccos(1/sqrt(3))
        54.73561
    """
    points = normalize_rows(x.detach().to("cpu", torch.float64)).numpy()
    optimize = require("scipy.optimize", extra="solve", purpose="the covering radius")
    # distance from the origin to the hull: min |Σ λ_i x_i| over λ >= 0, Σ λ = 1 (the last row enforces the sum)
    weight = 1e3
    a = np.vstack([points.T, weight * np.ones(len(points))])
    b = np.append(np.zeros(points.shape[1]), weight)
    lam = optimize.nnls(a, b)[0]
    outside = float(np.linalg.norm(points.T @ (lam / lam.sum())))
    if outside > 1e-9:  # every point in an open hemisphere: the hole is beyond the equator
        return math.degrees(math.acos(-min(outside, 1.0)))
    spatial = require("scipy.spatial", extra="solve", purpose="the covering radius")
    hull_offsets = -spatial.ConvexHull(points).equations[:, -1]
    return math.degrees(math.acos(min(max(float(hull_offsets.min()), -1.0), 1.0)))


@PROBLEMS.register("covering")
def covering_problem(s: float | None, n: int, dim: int) -> CoveringProblem:
    """Minimize the covering radius; needs ``n >= dim + 1`` points (fewer leave a hemisphere uncovered)."""
    without_exponent("covering", s)
    if n < dim + 1:
        raise ValueError(
            f"objective='covering' needs n >= dim + 1 points (fewer leave a hemisphere uncovered), got n={n}, dim={dim}"
        )
    return CoveringProblem()


@dataclass(frozen=True)
class CoveringProblem:
    """Minimize the covering radius: a Riesz energy minimum, then an SLSQP min-max polish over hull facets."""

    maximize: bool = False
    s: float | None = None

    def local_search(self, x0: Tensor, max_iter: int) -> LocalRun:
        history = [covering_radius(x0)]
        run = minimize_on_spheres(
            lambda y: energy_and_gradient(y, START_S),
            x0,
            max_iter=max_iter,
            callback=lambda y, f: history.append(covering_radius(y)),
        )
        x = polish(run.points, lambda y: history.append(covering_radius(y)))
        value = covering_radius(x)
        history.append(value)
        return LocalRun(x, value, tuple(history), math.nan, len(history) - 1, run.evaluations)


def polish(x: Tensor, callback: Callable[[Tensor], None] | None = None, *, rounds: int = 8) -> Tensor:
    """Lower the covering radius of the unit rows ``x`` to a local min-max optimum (SLSQP over hull facets).

    Returns the better of ``x`` and the polished configuration (unit rows, ``x``'s dtype and device).
    """
    optimize = require("scipy.optimize", extra="solve", purpose="the covering polish")
    best = normalize_rows(x.detach().to("cpu", torch.float64))
    best_radius = covering_radius(best)
    n, d = best.shape
    current = best.numpy().copy()
    facets = _facets(current)
    for _ in range(rounds):
        if limits.expired():
            break
        z0 = np.append(current.ravel(), float(_facet_offsets(current, facets).min()))
        cols = facets[:, :, None] * d + np.arange(d)  # [F, D vertices, D coords] → column of z

        def caps(z: np.ndarray, facets: np.ndarray = facets) -> np.ndarray:
            return np.asarray(_facet_offsets(z[:-1].reshape(n, d), facets) - z[-1])

        def caps_jac(z: np.ndarray, facets: np.ndarray = facets, cols: np.ndarray = cols) -> np.ndarray:
            v = z[:-1].reshape(n, d)[facets]
            w = np.linalg.solve(v, np.ones((len(facets), d, 1)))[..., 0]
            b = 1.0 / np.linalg.norm(w, axis=1)
            u = np.linalg.solve(np.swapaxes(v, 1, 2), w[..., None])[..., 0]
            grad = (b**2)[:, None, None] * u[:, :, None] * (b[:, None] * w)[:, None, :]
            jac = np.zeros((len(facets), n * d + 1))
            np.add.at(jac, (np.arange(len(facets))[:, None, None], cols), grad)
            jac[:, -1] = -1.0
            return jac

        rows_out = maximize_slack(optimize, z0, (n, d), caps, caps_jac, maxiter=500, callback=callback)
        candidate = normalize_rows(torch.from_numpy(rows_out))
        radius = covering_radius(candidate)
        if radius < best_radius:
            best, best_radius = candidate, radius
        current = candidate.numpy()
        new_facets = _facets(current)
        if {tuple(sorted(f)) for f in new_facets.tolist()} == {tuple(sorted(f)) for f in facets.tolist()}:
            break
        facets = new_facets
    return best.to(x.device, x.dtype)
