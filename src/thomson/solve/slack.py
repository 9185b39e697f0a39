"""The SLSQP step shared by the separation and covering polishes: maximize a slack ``t`` over unit rows."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import torch
from torch import Tensor

Constraint = Callable[[np.ndarray], np.ndarray]


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
    renormalized).
    """
    n, d = shape

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

    out = optimize.minimize(
        objective,
        z0,
        jac=True,
        method="SLSQP",
        constraints=[
            {"type": "ineq", "fun": constraint, "jac": constraint_jac},
            {"type": "eq", "fun": norms, "jac": norms_jac},
        ],
        options={"maxiter": maxiter, "ftol": 1e-16},
        callback=None if callback is None else lambda z: callback(torch.from_numpy(z[:-1].reshape(n, d))),
    )
    rows: np.ndarray = np.asarray(out.x[:-1]).reshape(n, d).copy()
    return rows
