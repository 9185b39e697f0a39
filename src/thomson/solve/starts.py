"""Starting configurations for the solver: seeded random starts and symmetric starts where one is known.

* random: ``N`` independent directions uniform on ``S^(D-1)`` (normalized Gaussian rows), from a seeded
  ``torch.Generator`` so that a seed gives the same starts on every machine.
* symmetric: a configuration that is optimal or near optimal by construction — the regular simplex
  (``N <= D + 1``: optimal for every Riesz ``s > 0``, the log energy and separation), the regular ``N``-gon
  (``D = 2``), the cross-polytope ``±e_i`` (``N = 2D``: universally optimal, Cohn & Kumar 2007), and on ``S²``
  the Fibonacci spiral (near-uniform for every ``N``, a good start for the energies).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from thomson.engine import block_rows
from thomson.functional import normalize_rows


def random_start(n: int, dim: int, generator: torch.Generator) -> Tensor:
    """``n`` independent uniform directions in ``R^dim`` (float64 rows), drawn from ``generator``.

    Example:
        >>> x = random_start(5, 3, torch.Generator().manual_seed(0))
        >>> x.shape, bool(torch.allclose(x.norm(dim=1), torch.ones(5, dtype=torch.float64)))
        (torch.Size([5, 3]), True)
    """
    return normalize_rows(torch.randn(n, dim, dtype=torch.float64, generator=generator))


def regular_simplex(n: int, dim: int) -> Tensor:
    """``n <= dim + 1`` unit vectors in ``R^dim`` with every pairwise cosine ``-1/(n-1)``.

    The centred standard basis of ``R^n`` spans an ``(n-1)``-dimensional subspace; its coordinates in an
    orthonormal basis of that subspace (from an SVD) are padded with zeros to ``dim`` columns.

    Example:
        >>> x = regular_simplex(4, 3)
        >>> (x @ x.T).round(decimals=12)
        tensor([[ 1.0000, -0.3333, -0.3333, -0.3333],
                [-0.3333,  1.0000, -0.3333, -0.3333],
                [-0.3333, -0.3333,  1.0000, -0.3333],
                [-0.3333, -0.3333, -0.3333,  1.0000]], dtype=torch.float64)
    """
    if not 1 <= n <= dim + 1:
        raise ValueError(f"a regular simplex of n points needs 1 <= n <= dim + 1, got n={n}, dim={dim}")
    centred = torch.eye(n, dtype=torch.float64) - 1.0 / n
    u, sv, _ = torch.linalg.svd(centred)
    coords = u[:, : n - 1] * sv[: n - 1]
    out = torch.zeros(n, dim, dtype=torch.float64)
    out[:, : n - 1] = coords
    if n == 1:
        out[0, 0] = 1.0
    return normalize_rows(out)


def cross_polytope(dim: int) -> Tensor:
    """The ``2·dim`` vectors ``±e_i``."""
    eye = torch.eye(dim, dtype=torch.float64)
    return torch.cat([eye, -eye])


def polygon(n: int) -> Tensor:
    """The regular ``n``-gon on the unit circle."""
    angle = torch.arange(n, dtype=torch.float64) * (2.0 * math.pi / n)
    return torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)


def fibonacci_sphere(n: int) -> Tensor:
    """``n`` points of the Fibonacci spiral on ``S²``: heights ``1 - (2k + 1)/n``, azimuths ``k`` golden angles."""
    k = torch.arange(n, dtype=torch.float64)
    z = 1.0 - (2.0 * k + 1.0) / n
    r = torch.sqrt((1.0 - z * z).clamp_min(0.0))
    phi = k * (math.pi * (3.0 - math.sqrt(5.0)))
    return torch.stack([r * torch.cos(phi), r * torch.sin(phi), z], dim=1)


def symmetric_start(n: int, dim: int) -> Tensor | None:
    """A symmetric (or, on ``S²``, spiral) configuration of ``n`` points in ``R^dim``, or None if none is known.

    Example:
        >>> symmetric_start(6, 3).abs().sum(dim=0)  # the octahedron ±e_i
        tensor([2., 2., 2.], dtype=torch.float64)
    """
    if n <= dim + 1:
        return regular_simplex(n, dim)
    if dim == 2:
        return polygon(n)
    if n == 2 * dim:
        return cross_polytope(dim)
    if dim == 3:
        return fibonacci_sphere(n)
    return None


def perturbed_start(x: Tensor, scale: float, generator: torch.Generator) -> Tensor:
    """``x`` with every row moved by a Gaussian step of ``scale`` times the mean nearest-neighbour chord.

    This is the move of basin hopping: close enough to keep most of a good configuration, far enough to
    leave its basin.

    Example:
        >>> x = fibonacci_sphere(50)
        >>> y = perturbed_start(x, 0.4, torch.Generator().manual_seed(0))
        >>> 0.0 < float((y - x).norm(dim=1).mean()) < 0.5
        True
    """
    unit = normalize_rows(x.detach().to("cpu", torch.float64))
    n = unit.shape[0]
    nearest = torch.empty(n, dtype=torch.float64)  # each row's largest cosine to another, a block of rows at a time
    rows = block_rows(n)
    for start in range(0, n, rows):
        gram = unit[start : start + rows] @ unit.T
        gram[torch.arange(gram.shape[0]), torch.arange(start, start + gram.shape[0])] = -1.0
        nearest[start : start + rows] = gram.max(dim=1).values
    spacing = float(torch.sqrt((2.0 - 2.0 * nearest).clamp_min(0.0)).mean())
    step = torch.randn(unit.shape, dtype=torch.float64, generator=generator)
    return normalize_rows(unit + scale * spacing * step)
