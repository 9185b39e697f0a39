"""The optimizer of a run by name: SGD with momentum (the MHE papers') or Adam (the MNIST-1D paper's)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

OPTIMIZERS = ("sgd", "adam")
"""Names :func:`build_optimizer` knows."""


def build_optimizer(
    name: str, parameters: Iterable[nn.Parameter], *, lr: float, momentum: float = 0.9, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """``torch.optim.SGD`` or ``torch.optim.Adam`` over ``parameters``; weight decay is an L2 term on every one.

        sgd:  v ← μ·v + g + λ·w,   w ← w − η·v
        adam: g ← g + λ·w, then Adam's update with β = (0.9, 0.999), ε = 1e-8 (torch's defaults)

    ``momentum`` is SGD's and is not used by Adam.

    Args:
        name: ``"sgd"`` or ``"adam"``.
        parameters: the parameters to optimize.
        lr: learning rate ``η``.
        momentum: SGD momentum ``μ``. Default 0.9.
        weight_decay: L2 coefficient ``λ``. Default 0.

    Example:
        >>> build_optimizer("adam", nn.Linear(2, 1).parameters(), lr=1e-2).__class__.__name__
        'Adam'
    """
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
