"""Riemannian L-BFGS on the product of unit spheres ``(S^(D-1))^N``: one local minimization of a smooth objective.

The points are the rows of ``x: [N, D]``, each of unit length. At ``x`` the tangent space is
``{v : v_i ⟂ x_i for every row}``, and the Riemannian gradient is the Euclidean one with each row's radial
part removed, ``g_i = ∇f_i - (∇f_iᵀx_i) x_i``. One iteration:

    d = -H g                  (L-BFGS inverse-Hessian model from the last ``memory`` pairs, projected on T_x)
    x⁺ = R_x(t d)             (retraction R_x(v)_i = (x_i + v_i)/|x_i + v_i|, t from a strong Wolfe search)
    s = P_x⁺(t d),  y = g⁺ - P_x⁺(g)    (vector transport by projection P_x⁺ on the new tangent space)

``H`` is applied in the compact form of Byrd, Nocedal & Schnabel (1994), a few matrix products whatever the
memory, instead of the two-loop recursion's many small vector operations:

    H g = γ g + S p - γ Y u,   u = R⁻¹ Sᵀg,   p = R⁻ᵀ((Dg + γ YᵀY) u - γ Yᵀg)

with ``R`` the upper triangle of ``SᵀY``, ``Dg`` its diagonal and ``γ = sᵀy / yᵀy`` of the newest pair.

The oracle receives unit rows and returns the value and the Riemannian gradient there (autograd through a
row normalization gives exactly that, as :func:`thomson.functional.hyperspherical_energy` does). Near the
minimum the line search also accepts Hager–Zhang approximate Wolfe steps, which rest on the slope alone, so
the gradient keeps falling after value differences have sunk into round-off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from thomson.functional import normalize_rows
from thomson.solve import limits
from thomson.solve.linesearch import strong_wolfe

Oracle = Callable[[Tensor], tuple[float, Tensor]]
"""Unit rows ``x: [N, D]`` → (objective value, Riemannian gradient ``[N, D]``)."""

NOISE = 1e-13
"""Relative tolerance of the line search's approximate Wolfe steps: a bound on round-off in a value."""

FTOL = 1e-15
"""A local search has converged when an iteration promises (``-gᵀd/2``, the quasi-Newton decrement) or
achieves a relative decrease below this; the sums of pair terms carry round-off of about this size."""

PATIENCE = 3
"""Iterations in a row that achieve less than :data:`FTOL` after which a local search stops."""


@dataclass(frozen=True)
class LocalRun:
    """One local minimization: the final unit rows, value, values after each iteration (the start first),
    the largest entry of the final Riemannian gradient, and the number of iterations and oracle calls."""

    points: Tensor
    value: float
    history: tuple[float, ...]
    gradient: float
    iterations: int
    evaluations: int


def project(x: Tensor, v: Tensor) -> Tensor:
    """``P_x(v)``: remove from each row of ``v`` (``[..., N, D]``) its component along the unit row of ``x``."""
    return v - (v * x).sum(dim=-1, keepdim=True) * x


def minimize_on_spheres(
    oracle: Oracle,
    x0: Tensor,
    *,
    memory: int = 20,
    max_iter: int = 20000,
    gtol: float = 1e-12,
    first_step: float = 0.05,
    callback: Callable[[Tensor, float], None] | None = None,
) -> LocalRun:
    """Minimize ``f`` over unit rows by Riemannian L-BFGS with a strong Wolfe line search, from ``x0``.

    Stops when the largest entry of the Riemannian gradient is at most ``gtol·max(1, |f|)``, when the
    quasi-Newton decrement ``-gᵀd/2`` (the decrease the model still expects) falls below
    ``FTOL·max(1, |f|)``, when ``f`` has stalled (no line search finds a step, or :data:`PATIENCE`
    iterations in a row lower it by less than that), after ``max_iter`` iterations, or when the solve's time
    limit has passed (:func:`thomson.solve.limits.expired`, checked at every iteration and line-search step).

    Args:
        oracle: ``x ↦ (f(x), Riemannian gradient)`` on unit rows, see :data:`Oracle`.
        x0: start ``[N, D]``; rows are normalized first.
        memory: number of curvature pairs kept. Default 20.
        max_iter: iteration limit. Default 20000.
        gtol: relative gradient tolerance. Default 1e-12.
        first_step: largest displacement of a row on the first (steepest-descent) step. Default 0.05.
        callback: called as ``callback(x, f)`` after every iteration. Default None.

    Example:
        >>> target = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)
        >>> def oracle(x):  # f(x) = -<x, target>, minimized at x = target
        ...     return float(-(x * target).sum()), project(x, -target.expand_as(x))
        >>> run = minimize_on_spheres(oracle, torch.tensor([[1.0, 0.0, 0.1]], dtype=torch.float64))
        >>> round(run.value, 9)
        -1.0
    """
    evaluations = 0

    def counted(x: Tensor) -> tuple[float, Tensor]:
        nonlocal evaluations
        evaluations += 1
        return oracle(x)

    iterations = 0
    x = normalize_rows(x0.detach())
    try:
        f, g = counted(x)
    except limits.Expired:  # the time limit passed during the first evaluation: no value known
        return LocalRun(x, math.nan, (math.nan,), math.nan, 0, evaluations)
    limits.progress(0, f)
    history = [f]
    model = _Memory(memory)
    gnorm = float(g.abs().max()) if g.numel() else 0.0
    retried = False
    stalled = 0
    while iterations < max_iter and gnorm > gtol * max(1.0, abs(f)) and not limits.expired():
        d = model.direction(g, x)
        slope = float(torch.vdot(g.reshape(-1), d.reshape(-1)))
        if not slope < 0.0:  # not a descent direction: forget the curvature pairs
            model.clear()
            d = -g
            slope = -float(torch.vdot(g.reshape(-1), g.reshape(-1)))
        t0 = 1.0 if len(model) else min(1.0, first_step / max(float(d.abs().max()), 1e-300))

        def phi(t: float, x: Tensor = x, d: Tensor = d) -> tuple[float, float, tuple[Tensor, Tensor]]:
            y = x + t * d
            scale = torch.linalg.vector_norm(y, dim=1, keepdim=True)
            xt = y / scale
            ft, gt = counted(xt)
            return ft, float(torch.vdot((gt / scale).reshape(-1), d.reshape(-1))), (xt, gt)

        magnitude = max(1.0, abs(f))
        if len(model) and -0.5 * slope <= FTOL * magnitude:
            break
        try:
            step = strong_wolfe(phi, f, slope, t0, noise=NOISE * magnitude)
        except limits.Expired:
            break
        if step is None:
            if len(model) and not retried:  # retry once from steepest descent before giving up
                model.clear()
                retried = True
                continue
            break
        retried = False
        x_new, g_new = step.payload
        model.push(x_new, project(x_new, step.t * d), g_new - project(x_new, g))
        stalled = stalled + 1 if step.value > f - FTOL * magnitude else 0
        x, f, g = x_new, step.value, g_new
        gnorm = float(g.abs().max())
        iterations += 1
        history.append(f)
        limits.progress(iterations, f)
        if callback is not None:
            callback(x, f)
        if stalled >= PATIENCE:
            break
    return LocalRun(x, f, tuple(history), gnorm, iterations, evaluations)


class _Memory:
    """The last ``size`` curvature pairs ``(s, y)`` as stacked tensors, and the compact inverse-Hessian product."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.s: Tensor | None = None
        self.y: Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.s is None else self.s.shape[0]

    def clear(self) -> None:
        self.s = self.y = None

    def push(self, x: Tensor, s: Tensor, y: Tensor) -> None:
        """Transport the stored pairs to ``x`` and add ``(s, y)`` if its curvature ``sᵀy`` is positive."""
        if self.s is not None and self.y is not None:
            self.s, self.y = project(x, self.s), project(x, self.y)
        sy = float(torch.vdot(s.reshape(-1), y.reshape(-1)))
        if not sy > 1e-12 * float(torch.linalg.vector_norm(s) * torch.linalg.vector_norm(y)):
            return
        if self.s is None or self.y is None:
            self.s, self.y = s[None], y[None]
        else:
            self.s = torch.cat([self.s[1 - self.size :] if len(self) >= self.size else self.s, s[None]])
            self.y = torch.cat([self.y[1 - self.size :] if len(self) >= self.size else self.y, y[None]])

    def direction(self, g: Tensor, x: Tensor) -> Tensor:
        """``-H g``, projected on the tangent space at ``x``."""
        if self.s is None or self.y is None:
            return -g
        k = len(self)
        s, y, gf = self.s.reshape(k, -1), self.y.reshape(k, -1), g.reshape(-1)
        sy = s @ y.T
        diag = sy.diagonal()
        if not bool((diag > 0).all()):  # transport spoiled a pair's curvature
            self.clear()
            return -g
        yy = y @ y.T
        gamma = diag[-1] / yy[-1, -1]
        r = sy.triu()
        u = torch.linalg.solve_triangular(r, (s @ gf)[:, None], upper=True)
        rhs = diag[:, None] * u + gamma * (yy @ u) - gamma * (y @ gf)[:, None]
        p = torch.linalg.solve_triangular(r.T, rhs, upper=False)
        hg = gamma * gf + (s.T @ p - gamma * (y.T @ u)).reshape(-1)
        return -project(x, hg.reshape(g.shape))
