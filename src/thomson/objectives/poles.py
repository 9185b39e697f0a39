"""Learnable poles: the inner player of the MHP and MHC games, kept as per-layer state of the objective."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from thomson.functional.rows import as_rows
from thomson.objectives._checks import count, real
from thomson.objectives.base import Objective, rows_of

PoleLR = float | Callable[[], float]
"""The poles' learning rate: a number, or a function returning the current one (e.g. the network's)."""


class PoleGame(Objective):
    """An objective ``L(W, v)`` that the network minimizes while learnable poles ``v`` maximize it.

        network:  min_W  mean_k L(W, v_k)          poles:  max_{v_k}  coef · L(W, v_k) - (wd/2) |v_k|²

    Subclasses define :meth:`game`, the values ``L(W, v_k)`` for every pole. Each regularized layer gets
    ``poles`` poles ``[K, D]``, drawn from N(0, 1) on first use, and their momentum buffer, both kept with
    :meth:`~thomson.objectives.Objective.layer_state`: saved in the objective's ``state_dict``, never in
    ``model.parameters()``. On every call in training mode with gradients enabled, the poles first take
    ``inner_steps`` steps of momentum SGD on their own objective with the weights held fixed, exactly as
    the reference's ``tf.train.MomentumOptimizer`` (``buf ← μ·buf + g``, ``v ← v - lr·buf``, weight
    decay as the gradient ``wd·v`` of ``(wd/2)|v|²``); then the value is computed with the poles fixed.
    ``coef`` is the layer's paper coefficient (``classifier_coef`` for the classifier), which the reference
    applies to the poles' objective as well; change ``objective.coef`` to keep them in step if you pass
    other coefficients to :class:`~thomson.Regularizer`. In eval mode or under ``torch.no_grad()`` the poles
    do not move.

    Several poles per layer (``poles > 1``) play independently from different random starts; the network
    term averages over them, so it presses on several weak points at once rather than the one a single
    pole has found, at ``K`` times the pole cost. ``poles = 1`` is the reference.
    """

    def __init__(
        self,
        *,
        half_space: bool,
        poles: int,
        inner_steps: int,
        pole_lr: PoleLR,
        momentum: float,
        weight_decay: float,
        reference: bool,
    ) -> None:
        super().__init__()
        self.half_space = bool(half_space)
        self.poles = count("poles", poles, low=1)
        self.inner_steps = count("inner_steps", inner_steps, low=0)
        self.pole_lr: PoleLR = pole_lr if callable(pole_lr) else real("pole_lr", pole_lr, low=0.0, strict=True)
        self.momentum = real("momentum", momentum, low=0.0, high=1.0)
        self.weight_decay = real("weight_decay", weight_decay, low=0.0)
        self.reference = bool(reference)

    def game(self, x: Tensor, poles: Tensor, *, half_space: bool) -> Tensor:
        """``[K]``: ``L(W, v_k)`` for the rows ``x`` and each pole."""
        raise NotImplementedError

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        rows = as_rows(rows_of(weight, type(self).__name__))
        half_space = self.half_space and not classifier
        shape = (self.poles, rows.shape[1])
        poles = self.layer_state(layer, "poles", lambda: torch.randn(shape, dtype=rows.dtype, device=rows.device))
        if poles.shape != shape:
            raise ValueError(
                f"{type(self).__name__}: the poles of layer {layer!r} have shape {tuple(poles.shape)} but the weight "
                f"needs {shape}; give each weight its own layer= name"
            )
        if self.training and torch.is_grad_enabled() and self.inner_steps > 0:
            buffer = self.layer_state(layer, "pole_momentum", lambda: torch.zeros_like(poles))
            self._play(rows.detach().to(poles.dtype), poles, buffer, half_space, classifier)
        return self.game(rows, poles.detach(), half_space=half_space).mean()

    def _play(self, rows: Tensor, poles: Tensor, buffer: Tensor, half_space: bool, classifier: bool) -> None:
        """The poles' inner steps: momentum SGD ascending ``coef · Σ_k L_k - (wd/2)|v|²``, in place."""
        lr = float(self.pole_lr() if callable(self.pole_lr) else self.pole_lr)
        scale = self.classifier_coef if classifier else self.coef
        for _ in range(self.inner_steps):
            v = poles.detach().requires_grad_(True)
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(self.game(rows, v, half_space=half_space).sum(), v)
            with torch.no_grad():
                grad = torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0)  # never poison the saved state
                buffer.mul_(self.momentum).add_(self.weight_decay * poles - scale * grad)
                poles.sub_(lr * buffer)

    def extra_repr(self) -> str:
        lr = "callable" if callable(self.pole_lr) else f"{self.pole_lr:g}"
        return (
            f"half_space={self.half_space}, poles={self.poles}, inner_steps={self.inner_steps}, pole_lr={lr}, "
            f"momentum={self.momentum:g}, weight_decay={self.weight_decay:g}, reference={self.reference}"
        )
