"""Learnable poles: the inner player of the MHP and MHC games, kept as per-layer state of the objective."""

from __future__ import annotations

import torch
from torch import Tensor

from thomson._validate import current_rate, integer, learning_rate, real
from thomson.functional.polarization import pole_cosines
from thomson.functional.rows import as_rows, normalize_rows, unit_rows, weight_rows
from thomson.objectives.base import LearningRate, Objective
from thomson.objectives.inner import describe_rate, inner_steps

POLE_WARMUP = 100
"""Default mode: steps the poles take when they are created, so that they start at a weak point, not at random."""


class PoleGame(Objective):
    """An objective ``L(W, v)`` that the network minimizes while learnable poles ``v`` maximize it.

        network:  min_W  mean_k L(W, v_k)          poles:  max_{v_k}  scale · L(W, v_k) - (wd/2) |v_k|²

    Subclasses define :meth:`payoff`: ``L(W, v_k)`` for every pole from its cosines to the neurons. Each
    regularized layer gets ``poles`` poles ``[K, D]`` on first use and their momentum buffer, both kept
    with :meth:`~thomson.objectives.Objective.layer_state`: saved in the objective's ``state_dict``, never in
    ``model.parameters()``. On every call in training mode with gradients enabled, the poles first take
    ``inner_steps`` steps of momentum SGD on their own objective with the weights held fixed, as the
    reference's ``tf.train.MomentumOptimizer`` (``buf ← μ·buf + g``, ``v ← v - lr·buf``, weight decay as the
    gradient ``wd·v`` of ``(wd/2)|v|²``; the inner player of :mod:`thomson.objectives.inner`, which CoMHE's
    learned projections share, at the learning rate ``inner_lr``); then the value is computed with the poles
    fixed. In eval mode or under ``torch.no_grad()`` the poles do not move.

    ``reference=True`` plays the reference code's game: poles drawn from N(0, 1) and left free (a step turns a
    pole of length ``|v|`` by about ``lr·|g|/|v|``, and ``|v| ≈ √D`` grows as it moves), and ``scale`` = the
    layer's paper coefficient (``coef``, or ``classifier_coef`` for the classifier), which the code
    applies to the poles' objective too. The default keeps the poles on the unit sphere (drawn there, and
    renormalized after every step, so weight decay has no effect), lets them take 100 steps when they are
    created (so the network never pulls towards a random point), and uses ``scale = 1``: the poles keep up
    with the neurons whatever the dimension and the coefficient. (With the reference's constants a pole
    that starts near a neuron can be thrown to a large length and then barely turn, and with 0.01 and ``D``
    in the thousands MHC's poles barely move.)

    Several poles per layer (``poles > 1``) play independently from different random starts; the network
    term averages over them, so it presses on several weak points at once rather than on the one a single
    pole has found, and is less prone to chasing a single pole around the sphere; the cost is ``K`` times
    the pole work. ``poles = 1`` is the reference.
    """

    state_names = ("poles", "pole_momentum")

    def __init__(
        self,
        *,
        half_space: bool,
        poles: int,
        inner_steps: int,
        inner_lr: LearningRate,
        momentum: float,
        weight_decay: float,
        reference: bool,
    ) -> None:
        super().__init__()
        self.half_space = bool(half_space)
        self.poles = integer("poles", poles, low=1)
        self.inner_steps = integer("inner_steps", inner_steps, low=0)
        self.inner_lr: LearningRate = learning_rate("inner_lr", inner_lr)
        self.momentum = real("momentum", momentum, low=0.0, high=1.0)
        self.weight_decay = real("weight_decay", weight_decay, low=0.0)
        self.reference = bool(reference)

    def check_layer_state(self, name: str, tensor: Tensor) -> str | None:
        if tensor.dim() != 2 or tensor.shape[0] != self.poles:
            return f"must have shape [{self.poles}, D] (poles={self.poles}), got {tuple(tensor.shape)}"
        return None

    def payoff(self, cosines: Tensor) -> Tensor:
        """``[K]``: ``L(W, v_k)`` from the cosines ``[K, M]`` between each pole and the ``M`` directions
        (``M = 2N`` in half space)."""
        raise NotImplementedError

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        rows = as_rows(weight_rows(weight, type(self).__name__))
        half_space = self.half_space and not classifier
        shape = (self.poles, rows.shape[1])
        steps = 0

        def initial_poles() -> Tensor:
            nonlocal steps
            steps = 0 if self.reference else POLE_WARMUP
            poles = torch.randn(shape, dtype=rows.dtype, device=rows.device)
            return poles if self.reference else normalize_rows(poles)

        poles = self.layer_state(layer, "poles", initial_poles)
        if poles.shape != shape:
            raise ValueError(
                f"{type(self).__name__}: the poles of layer {layer!r} have shape {tuple(poles.shape)} but this weight "
                f"needs {shape}: they were made for a weight of another shape (state loaded from another model, or "
                "two weights called with the same layer= name); load state saved for this model, or give each "
                "weight its own layer= name"
            )
        with torch.autocast(rows.device.type, enabled=False):
            unit = unit_rows(rows, reference=self.reference)
            if self.training and torch.is_grad_enabled():
                steps += self.inner_steps
            if steps > 0:
                buffer = self.layer_state(layer, "pole_momentum", lambda: torch.zeros_like(poles))
                self._play(unit.detach().to(poles.dtype), poles, buffer, half_space, classifier, steps)
            cosines = pole_cosines(unit, poles.detach(), half_space=half_space, reference=self.reference)
            return self.payoff(cosines).mean()

    def _play(
        self, unit: Tensor, poles: Tensor, buffer: Tensor, half_space: bool, classifier: bool, steps: int
    ) -> None:
        """The poles' inner steps (:func:`~thomson.objectives.inner.inner_steps`): momentum SGD ascending
        ``scale · Σ_k L_k - (wd/2)|v|²``, in place; non-finite gradient entries count as 0."""
        scale = (self.classifier_coef if classifier else self.coef) if self.reference else 1.0

        def gradient(v: Tensor) -> Tensor:  # of what the poles minimize: -scale · Σ_k L_k
            v.requires_grad_(True)
            gain = self.payoff(pole_cosines(unit, v, half_space=half_space, reference=self.reference)).sum()
            (grad,) = torch.autograd.grad(gain, v)
            return -(scale * torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0))

        inner_steps(
            poles,
            gradient,
            steps,
            current_rate("inner_lr", self.inner_lr),
            weight_decay=self.weight_decay,
            momentum=self.momentum,
            buffer=buffer,
            constrain=None if self.reference else normalize_rows,  # default: stay on the sphere
        )

    def extra_repr(self) -> str:
        return (
            f"half_space={self.half_space}, poles={self.poles}, inner_steps={self.inner_steps}, "
            f"inner_lr={describe_rate(self.inner_lr)}, "
            f"momentum={self.momentum:g}, weight_decay={self.weight_decay:g}, reference={self.reference}"
        )
