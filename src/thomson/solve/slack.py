"""The SLSQP step shared by the separation and covering polishes: maximize a slack ``t`` over unit rows."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import torch
from torch import Tensor

from thomson.solve import limits

Constraint = Callable[[np.ndarray], np.ndarray]


class _Expired(Exception):
    """The solve's time limit passed during the polish."""


def maximize_slack(
    optimize: ModuleType,
    z0: np.ndarray,
    shape: tuple[int, int],
    constraint: Constraint,
    constraint_jac: Constraint,
    *,
    maxiter: int,
    callback: Callable[[Tensor], None] | None = None,
) -> np.ndarray:
    """SLSQP on ``z = (rows.ravel(), t)``: maximize ``t`` subject to ``constraint(z) >= 0`` and unit rows.

        max t   s.t.   g(z) >= 0,   |x_i|² = 1 for every row i

    ``constraint`` (with its Jacobian ``[m, n·d + 1]``) says how ``t`` bounds the configuration (the smallest
    pair distance for separation, the facet offsets for covering). Returns the final ``[n, d]`` rows (not yet
    renormalized); when the solve's time limit passes (checked at every evaluation of the constraints), the last
    iterate's, or the start's.
    """
    n, d = shape
    latest = [z0]

    def checked(z: np.ndarray) -> np.ndarray:
        if limits.expired():
            raise _Expired
        return constraint(z)

    def step(z: np.ndarray) -> None:
        latest[0] = z.copy()
        limits.progress(0, float(z[-1]))
        if callback is not None:
            callback(torch.from_numpy(z[:-1].reshape(n, d)))

    def norms(z: np.ndarray) -> np.ndarray:
        p = z[:-1].reshape(n, d)
        return np.asarray((p * p).sum(axis=1) - 1.0)

    def norms_jac(z: np.ndarray) -> np.ndarray:
        p = z[:-1].reshape(n, d)
        jac = np.zeros((n, n * d + 1))
        jac[np.arange(n)[:, None], np.arange(n)[:, None] * d + np.arange(d)] = 2.0 * p
        return jac

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        grad = np.zeros_like(z)
        grad[-1] = -1.0
        return -float(z[-1]), grad

    try:
        out = optimize.minimize(
            objective,
            z0,
            jac=True,
            method="SLSQP",
            constraints=[
                {"type": "ineq", "fun": checked, "jac": constraint_jac},
                {"type": "eq", "fun": norms, "jac": norms_jac},
            ],
            options={"maxiter": maxiter, "ftol": 1e-16},
            callback=step,
        )
        final = np.asarray(out.x)
    except _Expired:
        final = latest[0]
    rows: np.ndarray = final[:-1].reshape(n, d).copy()
    return rows
