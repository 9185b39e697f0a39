"""Pair terms written as kernels of the cosine, ``f(c)`` with their derivative ``f'(c)``.

Every pairwise objective of the library is ``Σ_{i<j} f(c_ij)`` for some kernel ``f`` of the cosine
``c_ij = x̂_iᵀx̂_j`` between normalized rows. Writing objectives this way lets every backend of
:mod:`thomson.engine` (dense with autograd, streaming with a hand-written backward, sampled) evaluate any of
them: a backend needs only ``value(c)`` and ``derivative(c)``.
"""

from __future__ import annotations

import math
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
    In half space the engine needs the pair term of a row and of its negation together, ``h(c) = f(c) + f(-c)``:
    :meth:`half_value` and :meth:`half_value_and_derivative`, which fall back on two evaluations; override them
    when ``f(c)`` and ``f(-c)`` share work.
    """

    def value(self, c: Tensor) -> Tensor:
        raise NotImplementedError

    def derivative(self, c: Tensor) -> Tensor:
        raise NotImplementedError

    def value_and_derivative(self, c: Tensor) -> tuple[Tensor, Tensor]:
        """``(value(c), derivative(c))``, possibly sharing intermediate results."""
        return self.value(c), self.derivative(c)

    def half_value(self, c: Tensor) -> Tensor:
        """``f(c) + f(-c)``: the terms of a pair and of the pair with one side negated (half space)."""
        return self._half(c, grad=False)[0]

    def half_value_and_derivative(self, c: Tensor) -> tuple[Tensor, Tensor]:
        """``(f(c) + f(-c), f'(c) - f'(-c))``: :meth:`half_value` and its derivative in ``c``."""
        value, slope = self._half(c, grad=True)
        assert slope is not None
        return value, slope

    def _half(self, c: Tensor, *, grad: bool) -> tuple[Tensor, Tensor | None]:
        # Both half-space methods in one place: a kernel with a fused form of f(c) + f(-c) overrides this.
        if not grad:
            return self.value(c) + self.value(-c), None
        value, slope = self.value_and_derivative(c)
        mirror_value, mirror_slope = self.value_and_derivative(-c)
        return value + mirror_value, slope - mirror_slope


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
        # q = z² = 2 - 2c' (no square root): f = q^(-s/2), -q^(|s|/2) or -log(q)/2, and dq/dc' = -2. With
        # k = 1 - contraction, dc'/dc = k inside [-1, 1] and 0 outside (where the clamp is active), as autograd's.
        clamped = c.clamp(-1.0, 1.0)
        k = 1.0 - self.contraction
        if self.metric == "euclidean":
            q = torch.rsub(clamped, 2.0, alpha=2.0 * k)
            if self.s == 0:
                value = torch.log(q).mul_(-0.5)
                slope = q.reciprocal().mul_(k)
            elif self.s > 0:
                value = q.pow(-self.s / 2)
                slope = torch.div(value, q).mul_(self.s * k)
            else:  # f = -q^(|s|/2) vanishes with q: its slope needs its own power
                value = q.pow(-self.s / 2).neg_()
                slope = q.pow(-self.s / 2 - 1.0).mul_(-self.s * k)
        else:
            cc = clamped * k
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
            slope = dfdz.mul_(torch.rsqrt(1.0 - cc * cc)).mul_(-self.angle_scale * k)
        return value, slope.masked_fill_(clamped != c, 0.0)

    def _half(self, c: Tensor, *, grad: bool) -> tuple[Tensor, Tensor | None]:
        # f(c) + f(-c) from one clamp and one distance: the chords of c' and -c' are q = 2 - 2c' and 4 - q, the
        # angles θ = arccos c' and π - θ, with the same |dθ/dc'|. With k = 1 - contraction, dc'/dc = k inside.
        clamped = c.clamp(-1.0, 1.0)
        k = 1.0 - self.contraction
        slope: Tensor | None = None
        if self.metric == "euclidean":
            q = torch.rsub(clamped, 2.0, alpha=2.0 * k)
            mirror = torch.rsub(q, 4.0)
            if self.s == 0:  # -log q/2 - log(4 - q)/2; slope k (1/q - 1/(4 - q)) = 4k² c / (q (4 - q))
                product = q * mirror
                value = torch.log(product).mul_(-0.5)
                if grad:
                    slope = torch.div(clamped, product).mul_(4.0 * k * k)
            elif self.s > 0:  # q^(-s/2) + (4 - q)^(-s/2); slope s k (q^(-s/2)/q - (4 - q)^(-s/2)/(4 - q))
                a, b = q.pow(-self.s / 2), mirror.pow(-self.s / 2)
                value = a + b
                if grad:
                    slope = a.div_(q).sub_(b.div_(mirror)).mul_(self.s * k)
            else:  # -(q^m + (4 - q)^m), m = |s|/2; slope 2km (q^(m-1) - (4 - q)^(m-1)), a power of its own
                m = -self.s / 2
                value = q.pow(m).add_(mirror.pow(m)).neg_()
                if grad:
                    slope = q.pow(m - 1.0).sub_(mirror.pow(m - 1.0)).mul_(2.0 * k * m)
        else:
            cc = clamped * k
            theta = torch.acos(cc)
            z = theta.mul(self.angle_scale).add_(self.angle_shift)
            mirror = torch.rsub(z, self.angle_scale * math.pi + 2.0 * self.angle_shift)  # a(π - θ) + b
            # Each slope below is f'(z̄) - f'(z); dz/dc' = -a/sqrt(1 - c'²) and dz̄/dc' its negation.
            if self.s == 0:  # -log z - log z̄, f'(z) = -1/z
                value = torch.log(z * mirror).neg_()
                if grad:
                    slope = z.reciprocal().sub_(mirror.reciprocal())
            elif self.s > 0:  # z^(-s) + z̄^(-s), f'(z) = -s f(z)/z
                a, b = z.pow(-self.s), mirror.pow(-self.s)
                value = a + b
                if grad:
                    slope = a.div_(z).sub_(b.div_(mirror)).mul_(self.s)
            else:  # -(z^|s| + z̄^|s|), f'(z) = s z^(|s|-1)
                value = z.pow(-self.s).add_(mirror.pow(-self.s)).neg_()
                if grad:
                    slope = z.pow(-self.s - 1.0).sub_(mirror.pow(-self.s - 1.0)).mul_(-self.s)
            if slope is not None:
                slope = slope.mul_(torch.rsqrt(torch.rsub(cc.square(), 1.0))).mul_(self.angle_scale * k)
        if slope is not None:
            slope = slope.masked_fill_(clamped != c, 0.0)
        return value, slope


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
        return value, value.mul(2.0 / self.width).masked_fill_(clamped != c, 0.0)

    def _half(self, c: Tensor, *, grad: bool) -> tuple[Tensor, Tensor | None]:
        # exp(b + t) + exp(b - t) with t = 2c/width, b = (shift - 2)/width: one clamp, two exponentials.
        clamped = c.clamp(-1.0, 1.0)
        t = clamped * (2.0 / self.width)
        b = (self.shift - 2.0) / self.width
        same, mirror = torch.add(t, b).exp_(), torch.rsub(t, b).exp_()
        value = same + mirror
        if not grad:
            return value, None
        slope = same.sub_(mirror).mul_(2.0 / self.width)
        return value, slope.masked_fill_(clamped != c, 0.0)
