"""Pair terms written as kernels of the cosine, ``f(c)`` with their derivative ``f'(c)``.

Every pairwise objective of the library is ``Σ_{i<j} f(c_ij)`` for some kernel ``f`` of the cosine
``c_ij = x̂_iᵀx̂_j`` between normalized rows. Writing objectives this way lets every backend of
:mod:`thomson.engine` (dense with autograd, streaming with a hand-written backward, sampled) evaluate any of
them: a backend needs only ``value(c)`` and ``derivative(c)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import Tensor

from thomson._validate import one_of, real

Metric = Literal["euclidean", "angular"]
METRICS: tuple[Metric, ...] = get_args(Metric)


class Kernel:
    """A pair term ``f(c)`` of the cosine ``c ∈ [-1, 1]``, with its derivative ``f'(c)``.

    Subclasses implement both with plain tensor operations, elementwise. ``derivative`` must equal what
    autograd gives for ``value`` (tests check this), so that hand-written backward passes agree with autograd.
    ``value_and_derivative`` returns both; override it when they share work (the engine calls it on every tile).
    """

    def value(self, c: Tensor) -> Tensor:
        raise NotImplementedError

    def derivative(self, c: Tensor) -> Tensor:
        raise NotImplementedError

    def value_and_derivative(self, c: Tensor) -> tuple[Tensor, Tensor]:
        """``(value(c), derivative(c))``, possibly sharing intermediate results."""
        return self.value(c), self.derivative(c)


@dataclass(frozen=True)
class Riesz(Kernel):
    """Riesz ``s``-energy of a pair as a kernel of its cosine.

    The distance ``z`` between two unit vectors with cosine ``c`` is the chord ``z = sqrt(2 - 2c)``
    (``metric="euclidean"``) or ``z = angle_scale · arccos(c) + angle_shift`` (``metric="angular"``; the
    geodesic angle when scale 1 and shift 0). The pair term is

        f(z) = z^(-s)      for s > 0    (Riesz energy; s = 1 is Coulomb, the Thomson problem)
        f(z) = -log z      for s = 0    (logarithmic energy)
        f(z) = -z^(-s)     for s < 0    (minimizing it maximizes Σ z^|s|)

    Before use the cosine is clamped to ``[-1, 1]`` (round-off) and contracted, ``c ← (1 - contraction) c``,
    so that with ``contraction > 0`` no distance is zero and no derivative is infinite (duplicate rows give a
    large but finite term, ``arccos`` a finite slope). ``contraction = 0`` gives the exact classical energy.

    Args:
        s: the Riesz exponent, any real number. Default 1.
        metric: ``"euclidean"`` (chord) or ``"angular"`` (geodesic angle). Default ``"euclidean"``.
        contraction: cosine contraction in ``[0, 1)``. Default 0.
        angle_scale: multiplies the angle (the reference code uses ``1/π``). Default 1.
        angle_shift: added to the scaled angle (the reference code uses ``1e-4``). Default 0.

    Example:
        >>> k = Riesz(s=1.0)
        >>> float(k.value(torch.tensor(-1.0)))  # antipodal pair: 1/|x - y| = 1/2
        0.5
    """

    s: float = 1.0
    metric: Metric = "euclidean"
    contraction: float = 0.0
    angle_scale: float = 1.0
    angle_shift: float = 0.0

    def __post_init__(self) -> None:
        real("s", self.s)
        one_of("metric", self.metric, METRICS)
        real("contraction", self.contraction, low=0.0, high=1.0)
        real("angle_scale", self.angle_scale, low=0.0, strict=True)
        real("angle_shift", self.angle_shift, low=0.0)

    def _contract(self, c: Tensor) -> Tensor:
        return c.clamp(-1.0, 1.0) * (1.0 - self.contraction)

    def _distance(self, cc: Tensor) -> Tensor:
        if self.metric == "euclidean":
            return torch.sqrt(2.0 - 2.0 * cc)
        return self.angle_scale * torch.acos(cc) + self.angle_shift

    def value(self, c: Tensor) -> Tensor:
        z = self._distance(self._contract(c))
        if self.s == 0:
            return -torch.log(z)
        return z.pow(-self.s) if self.s > 0 else -z.pow(-self.s)

    def derivative(self, c: Tensor) -> Tensor:
        # f'(z) = -w z^(-s-1) with w = |s| (w = 1 at s = 0); chained through z(c) and the contraction.
        cc = self._contract(c)
        z = self._distance(cc)
        if self.metric == "euclidean":
            dz_dc = -1.0 / z
        else:
            dz_dc = -self.angle_scale * torch.rsqrt(1.0 - cc * cc)
        w = abs(self.s) if self.s != 0 else 1.0
        inside = (c >= -1.0) & (c <= 1.0)  # clamp passes gradient only inside, as autograd's does
        dcc_dc = inside.to(c.dtype) * (1.0 - self.contraction)
        return -w * z.pow(-self.s - 1.0) * dz_dc * dcc_dc

    def value_and_derivative(self, c: Tensor) -> tuple[Tensor, Tensor]:
        # One power per element for s >= 0: f'(z) = -s f(z)/z (s > 0) or -1/z (s = 0). The chord goes through
        # q = z² = 2 - 2c' (no square root): f = q^(-s/2), -q^(|s|/2) or -log(q)/2, and dq/dc' = -2.
        clamped = c.clamp(-1.0, 1.0)
        cc = clamped * (1.0 - self.contraction)
        if self.metric == "euclidean":
            q = torch.rsub(cc, 2.0, alpha=2.0)
            if self.s == 0:
                value = torch.log(q).mul_(-0.5)
                slope = q.reciprocal()
            elif self.s > 0:
                value = q.pow(-self.s / 2)
                slope = torch.div(value, q).mul_(self.s)
            else:  # f = -q^(|s|/2) vanishes with q: its slope needs its own power
                value = q.pow(-self.s / 2).neg_()
                slope = q.pow(-self.s / 2 - 1.0).mul_(-self.s)
        else:
            z = torch.acos(cc).mul_(self.angle_scale).add_(self.angle_shift)
            if self.s == 0:
                value = torch.log(z).neg_()
                dfdz = z.reciprocal().neg_()
            elif self.s > 0:
                value = z.pow(-self.s)
                dfdz = torch.div(value, z).mul_(-self.s)
            else:
                value = z.pow(-self.s).neg_()
                dfdz = z.pow(-self.s - 1.0).mul_(self.s)
            slope = dfdz.mul_(torch.rsqrt(1.0 - cc * cc)).mul_(-self.angle_scale)
        # d c'/dc = (1 - contraction) inside [-1, 1] and 0 outside (where the clamp is active), as autograd's.
        return value, torch.where(clamped == c, slope, 0.0).mul_(1.0 - self.contraction)


@dataclass(frozen=True)
class Gaussian(Kernel):
    """Gaussian kernel of the chord between two unit vectors, as a kernel of their cosine.

        f(c) = exp(-(d² - shift) / width),   d² = 2 - 2c  (the squared chord)

    ``Σ_{i<j} f(c_ij)`` with ``shift = 0`` is the sum of the Gaussian Gram matrix's off-diagonal entries;
    ``-width · log Σ_{i<j} exp(-d²_ij / width)`` is a soft minimum of the squared distances that tends to the
    hard minimum as ``width → 0``. ``shift`` rescales every term by ``exp(shift/width)`` without changing
    the soft minimum's gradient: with ``shift`` the smallest ``d²`` no term overflows and the largest is 1.
    The cosine is clamped to ``[-1, 1]`` first (round-off).

    Args:
        width: the bandwidth, ``> 0`` (the temperature of a soft minimum). Default 1.
        shift: subtracted from ``d²``, any finite number. Default 0.

    Example:
        >>> k = Gaussian(width=0.5)
        >>> round(float(k.value(torch.tensor(0.0))), 6)  # orthogonal pair: d² = 2, exp(-4)
        0.018316
    """

    width: float = 1.0
    shift: float = 0.0

    def __post_init__(self) -> None:
        real("width", self.width, low=0.0, strict=True)
        real("shift", self.shift)

    def value(self, c: Tensor) -> Tensor:
        return torch.exp((2.0 * c.clamp(-1.0, 1.0) - 2.0 + self.shift) / self.width)

    def derivative(self, c: Tensor) -> Tensor:
        inside = (c >= -1.0) & (c <= 1.0)
        return (2.0 / self.width) * self.value(c) * inside.to(c.dtype)

    def value_and_derivative(self, c: Tensor) -> tuple[Tensor, Tensor]:
        # One exponential per element: f' = (2/width) f inside [-1, 1] (0 where the clamp is active).
        clamped = c.clamp(-1.0, 1.0)
        value = clamped.mul(2.0).add_(-2.0).add_(self.shift).div_(self.width).exp_()
        return value, torch.where(clamped == c, value, 0.0).mul_(2.0 / self.width)
