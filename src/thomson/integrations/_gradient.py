"""The regularizer's gradient added to the model's, once per optimizer step, in the scale of the gradients there."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from thomson.regularizer import Regularizer


def gradient_scale(scaler: Any, optimizer: Any) -> float:
    """The factor the gradients of ``optimizer``'s parameters carry now: the mixed-precision loss scale of
    ``scaler`` (a ``torch.amp.GradScaler``) until it unscales them for this step, else 1.

    Example:
        >>> gradient_scale(None, None)
        1.0
    """
    if scaler is None or not scaler.is_enabled():
        return 1.0
    from torch.amp.grad_scaler import OptState

    state = scaler._per_optimizer_states.get(id(optimizer))
    unscaled = state is not None and state["stage"] is not OptState.READY
    return 1.0 if unscaled else float(scaler.get_scale())


def holds_regularized(regularizer: Regularizer, optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer`` updates a parameter of a module that the regularizer reads (so that its gradient
    goes to this optimizer's step, not another's)."""
    mine = {id(p) for target in regularizer.targets for p in target.module.parameters()}
    return any(id(p) in mine for group in optimizer.param_groups for p in group["params"])


def add_gradient(regularizer: Regularizer, step: int, scale: float = 1.0) -> Tensor:
    """Evaluate the regularizer at ``step`` (its counter then reads ``step + 1``) and add ``scale`` times its
    gradient to the ``.grad`` of the model's parameters; return the (detached) value."""
    regularizer.step.fill_(step)
    with torch.enable_grad():
        value: Tensor = regularizer()
        torch.autograd.backward(value * scale)
    return value.detach()
