"""The inner player: gradient steps on an objective's own tensor (CoMHE's learned projections, MHP/MHC's poles)
with the network's weights held fixed, and the one-step look-ahead the network differentiates through.

Both players learn at ``inner_lr`` (:data:`~thomson.objectives.base.LearningRate`: a number > 0, or a function of
nothing that returns the current rate, e.g. to follow the network's optimizer), read once per evaluation with
:func:`thomson._validate.current_rate`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def inner_steps(
    state: Tensor,
    gradient: Callable[[Tensor], Tensor],
    steps: int,
    lr: float,
    *,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    buffer: Tensor | None = None,
    constrain: Callable[[Tensor], Tensor] | None = None,
    dtype: torch.dtype | None = None,
) -> None:
    """``steps`` steps of SGD (with momentum when a ``buffer`` is given) on ``state``, in place.

        d = gradient(x) + weight_decay · x          (the gradient of the loss plus that of (wd/2)|x|²)
        b ← momentum · b + d                       (with a momentum buffer; else b = d)
        x ← constrain(x - lr · b)

    ``gradient(x)`` is the gradient of what the player minimizes, at ``x`` (a detached copy of ``state`` in
    ``dtype``, default ``state``'s); it may use autograd. A step whose new state is not finite everywhere is not
    taken (neither state nor buffer changes), so diverged weights never poison the saved state.

    Example:
        >>> x = torch.tensor([3.0])
        >>> inner_steps(x, lambda x: 2 * x, steps=2, lr=0.25)    # minimize x²: x ← x/2 per step
        >>> x
        tensor([0.7500])
    """
    for _ in range(steps):
        x = state.detach().to(dtype or state.dtype)
        with torch.enable_grad():
            g = gradient(x)
        with torch.no_grad():
            d = g + weight_decay * x if weight_decay else g
            b = d if buffer is None else buffer.to(d.dtype) * momentum + d
            new = x - lr * b
            if constrain is not None:
                new = constrain(new)
            finite = torch.isfinite(new).all()
            state.copy_(torch.where(finite, new, state.to(new.dtype)))
            if buffer is not None:
                buffer.copy_(torch.where(finite, b, buffer.to(b.dtype)))


def look_ahead(
    state: Tensor, loss: Callable[[Tensor], Tensor], lr: float, *, dtype: torch.dtype | None = None
) -> Tensor:
    """``x' = x - lr ∇_x loss(x)`` at ``x = state``, differentiable with respect to everything else ``loss`` depends
    on (a second-order term, as the reference's ``tf.gradients`` of the inner loss).

    Example:
        >>> w = torch.tensor(2.0, requires_grad=True)
        >>> x_next = look_ahead(torch.tensor(1.0), lambda x: (x - w) ** 2, lr=0.25)  # x - 0.5 (x - w)
        >>> x_next.backward(); float(x_next.detach()), float(w.grad)
        (1.5, 0.5)
    """
    x = state.detach().to(dtype or state.dtype).requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(x), x, create_graph=True)
    return x - lr * grad


def describe_rate(lr: float | Callable[[], float]) -> str:
    """``inner_lr`` for a ``repr``: the number, or ``callable``."""
    return "callable" if callable(lr) else f"{lr:g}"


__all__ = ["describe_rate", "inner_steps", "look_ahead"]
