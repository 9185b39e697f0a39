"""CoMHE's projections: how one evaluation turns a layer's rows ``W [N, D]`` into projected rows ``W P_cᵀ``.

One class per kind, registered by name in :data:`PROJECTIONS` (``CoMHE(projection=name)`` picks one), with one
interface: :meth:`Projection.project` draws or learns the matrices ``P_c`` (``k × D``), takes the inner steps
of a learned one, and returns the projected rows of all ``C`` projections as one batch ``[C, N, k]``, for the
base objective to evaluate. The kinds keep their settings on the :class:`~thomson.objectives.CoMHE` that uses
them (``dim``, ``num_projections``, ``inner_steps``, ``inner_lr``, ``inner_weight_decay``, its random stream and
its per-layer state), so a strategy object has no state of its own.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import Tensor

from thomson._validate import current_rate
from thomson.functional.rows import normalize_rows
from thomson.objectives.inner import describe_rate, inner_steps, look_ahead
from thomson.registry import Registry

if TYPE_CHECKING:
    from thomson.objectives.comhe import CoMHE


class Projection:
    """A kind of CoMHE projection. Subclasses implement :meth:`project`; class attributes say which of CoMHE's
    arguments apply and their defaults."""

    default_dim: ClassVar[int] = 30
    """``k`` when CoMHE's ``dim`` is not given."""

    options: ClassVar[frozenset[str]] = frozenset()
    """The CoMHE arguments that apply to this kind (among ``num_projections`` and the ``inner_*`` ones)."""

    default_inner_steps: ClassVar[int] = 0
    """Inner steps per training evaluation when ``inner_steps`` is not given (learned kinds)."""

    def project(self, comhe: CoMHE, rows: Tensor, layer: str, *, learning: bool) -> Tensor:
        """The projected rows ``W P_cᵀ`` of this evaluation, ``[C, N, k]``, for ``rows: [N, D]`` of ``layer``.

        ``learning`` (a training evaluation: training mode with gradients enabled) is when random projections
        are redrawn and learned ones take their inner steps; otherwise the value must be deterministic.
        """
        raise NotImplementedError

    def describe(self, comhe: CoMHE) -> list[str]:
        """The settings of this kind for ``repr``."""
        return []


def _check(entry: object) -> None:
    if not isinstance(entry, Projection):
        raise TypeError(f"a CoMHE projection must be a thomson.objectives.projections.Projection, got {entry!r}")


PROJECTIONS: Registry[Projection] = Registry("projection", check=_check)
"""CoMHE's projection kinds by name: ``random``, ``angle``, ``adversarial``, ``group``."""


class RandomProjection(Projection):
    """``num_projections`` matrices with N(0, 1) entries, a new draw of CoMHE's random stream at every training
    evaluation (the fixed draw otherwise); all ``C`` products in one batched matmul."""

    default_dim = 40
    options = frozenset({"num_projections"})

    def project(self, comhe: CoMHE, rows: Tensor, layer: str, *, learning: bool) -> Tensor:
        p = comhe.draw((comhe.num_projections, comhe.dim, rows.shape[1]), rows, fixed=not learning)
        return torch.matmul(rows, p.mT)

    def describe(self, comhe: CoMHE) -> list[str]:
        return [f"num_projections={comhe.num_projections}"]


class GroupProjection(Projection):
    """The ``D`` coordinates in ``G = ceil(D/dim)`` contiguous groups of near-equal size (``torch.tensor_split``'s):
    coordinate projections, zero-padded to the largest group (which changes no cosine), taken by one gather.
    Deterministic, no state."""

    def project(self, comhe: CoMHE, rows: Tensor, layer: str, *, learning: bool) -> Tensor:
        return coordinate_groups(rows, comhe.dim)


class LearnedProjection(Projection):
    """One learned ``P`` per layer (N(0, 1) start from CoMHE's random stream, kept as the layer's state
    ``"<layer>:projection"``). A training evaluation first takes ``inner_steps`` SGD steps on
    ``inner_loss(P) + ½ · inner_weight_decay · |P|²`` with ``W`` held fixed, then projects with the look-ahead
    ``P' = P - lr ∇_P inner_loss(P, W)``, differentiable in ``W``; otherwise it projects with ``P`` itself."""

    options = frozenset({"inner_steps", "inner_lr", "inner_weight_decay"})

    def inner_loss(self, comhe: CoMHE, p: Tensor, rows: Tensor, layer: str) -> Tensor:
        """What the inner steps minimize (without the decay)."""
        raise NotImplementedError

    def project(self, comhe: CoMHE, rows: Tensor, layer: str, *, learning: bool) -> Tensor:
        d = rows.shape[1]
        state = comhe.layer_state(layer, "projection", lambda: comhe.draw((comhe.dim, d), rows))
        if state.shape != (comhe.dim, d):
            raise ValueError(
                f"layer {layer!r} has rows of dimension {d} but its learned projection is "
                f"{tuple(state.shape)}; use a fresh objective for a changed model"
            )
        if not learning:
            return (rows @ state.to(rows.dtype).T)[None]
        lr = current_rate("inner_lr", comhe.inner_lr)
        held = rows.detach()

        def gradient(p: Tensor) -> Tensor:
            p.requires_grad_(True)
            (grad,) = torch.autograd.grad(self.inner_loss(comhe, p, held, layer), p)
            return grad

        inner_steps(state, gradient, comhe.inner_steps, lr, weight_decay=comhe.inner_weight_decay, dtype=rows.dtype)
        ahead = look_ahead(state, lambda p: self.inner_loss(comhe, p, rows, layer), lr, dtype=rows.dtype)
        return (rows @ ahead.T)[None]

    def describe(self, comhe: CoMHE) -> list[str]:
        return [f"inner_steps={comhe.inner_steps}", f"inner_lr={describe_rate(comhe.inner_lr)}"]


class AngleProjection(LearnedProjection):
    """Angle-preserving: the inner steps lower ``ℓ_AP(P) = |Ĉ(W Pᵀ) - Ĉ(W)|_F``, ``Ĉ(X)`` the cosine matrix of the
    rows of ``X`` (un-squared Frobenius norm, diagonal included; ``ε = 1e-4`` in the norms when ``reference``)."""

    default_inner_steps = 1

    def inner_loss(self, comhe: CoMHE, p: Tensor, rows: Tensor, layer: str) -> Tensor:
        return angle_loss(p, rows, reference=comhe.reference)


class AdversarialProjection(LearnedProjection):
    """Adversarial: the inner steps ASCEND the base's classifier form ``E(W Pᵀ)`` (full space for MHE, the
    reference's ascent objective), so the network's term is a min over ``W`` of a max over ``P``."""

    default_inner_steps = 10

    def inner_loss(self, comhe: CoMHE, p: Tensor, rows: Tensor, layer: str) -> Tensor:
        value: Tensor = comhe.base(rows @ p.T, layer=layer, classifier=True)
        return -value


PROJECTIONS.add("random", RandomProjection())
PROJECTIONS.add("angle", AngleProjection())
PROJECTIONS.add("adversarial", AdversarialProjection())
PROJECTIONS.add("group", GroupProjection())


def angle_loss(p: Tensor, rows: Tensor, *, reference: bool) -> Tensor:
    """``|Ĉ(W Pᵀ) - Ĉ(W)|_F``: how far the projection ``P`` moves the cosines between the rows of ``W``."""
    diff = _cosines(rows @ p.T, reference) - _cosines(rows, reference)
    # clamped so that a zero difference (no pair moved) has a finite second derivative
    return diff.square().sum().clamp_min(torch.finfo(diff.dtype).tiny).sqrt()


def coordinate_groups(rows: Tensor, dim: int) -> Tensor:
    """``[G, N, k]``: the rows restricted to each of ``G = ceil(D/dim)`` contiguous near-equal groups of
    coordinates (``torch.tensor_split``'s: the first ``D mod G`` groups one longer). A shorter group is padded
    with a zero coordinate, which changes no cosine. These are coordinate projections, taken by one gather."""
    n, d = rows.shape
    groups = math.ceil(d / dim)
    size, longer = divmod(d, groups)
    g = torch.arange(groups, device=rows.device)[:, None]
    i = torch.arange(size + (longer > 0), device=rows.device)[None, :]
    index = torch.where(i < size + (g < longer).long(), g * size + g.clamp(max=longer) + i, d)  # d: the zero
    return torch.cat([rows, rows.new_zeros(n, 1)], dim=1)[:, index].transpose(0, 1)


def _cosines(x: Tensor, reference: bool) -> Tensor:
    unit = normalize_rows(x, reference=reference)
    return unit @ unit.T


__all__ = [
    "PROJECTIONS",
    "AdversarialProjection",
    "AngleProjection",
    "GroupProjection",
    "LearnedProjection",
    "Projection",
    "RandomProjection",
    "angle_loss",
    "coordinate_groups",
]
