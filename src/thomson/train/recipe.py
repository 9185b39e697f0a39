"""The papers' training recipes as named presets (CIFAR CNN-9 in docs/reference-code.md, MNIST-1D), and the
step learning-rate schedule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_REFERENCE: dict[str, Any] = {
    "optimizer": "sgd",
    "batch_size": 128,
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 5e-4,  # TF's l2_regularizer(5e-4) adds 5e-4·Σx²/2: gradient 5e-4·x, SGD's weight_decay
    "gamma": 0.1,
    "label_smoothing": 0.01,
    "prob_eps": 1e-4,  # the reference takes log(softmax + 1e-4)
    "eval_every": 500,
    "checkpoint_every": 2500,
}

RECIPES: dict[str, dict[str, Any]] = {
    "mhe": {**_REFERENCE, "steps": 42_500, "milestones": [20_000, 30_000, 37_500]},
    "uniformity": {**_REFERENCE, "steps": 75_000, "milestones": [30_000, 50_000, 65_000]},
}
"""Named presets of :class:`~thomson.train.TrainConfig` fields, as ``--recipe NAME``.

``mhe``: the MHE paper's CIFAR-100 run (42,500 iterations, lr ×0.1 at 20k, 30k, 37.5k). ``uniformity``: the
CoMHE and hyperspherical-uniformity runs (75,000 iterations, ×0.1 at 30k, 50k, 65k). Both: SGD momentum 0.9,
lr 0.1, batch 128, weight decay 5e-4 on every parameter (filters and BN γ, β), label smoothing 0.01 with the
reference's ``log(softmax + 1e-4)``.
"""
RECIPES["comhe"] = RECIPES["uniformity"]

_MNIST1D: dict[str, Any] = {
    "batch_size": 100,
    "steps": 6000,
    "label_smoothing": 0.0,
    "prob_eps": 0.0,
    "eval_every": 250,
    "checkpoint_every": 1000,
}
RECIPES["mnist1d-adam"] = {**_MNIST1D, "optimizer": "adam", "lr": 1e-2, "weight_decay": 0.0, "milestones": []}
RECIPES["mnist1d-sgd"] = {
    **_MNIST1D,
    "optimizer": "sgd",
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "milestones": [3000, 4500],
    "gamma": 0.1,
}
"""``mnist1d-adam``: the MNIST-1D paper's training (its ``train.py``): Adam, lr 1e-2 constant, no weight decay,
batch 100, 6,000 steps, plain cross-entropy. ``mnist1d-sgd``: the MHE papers' optimizer on MNIST-1D: SGD momentum
0.9, lr 0.1 ×0.1 at 50% and 75% of the 6,000 steps, weight decay 5e-4, batch 100, plain cross-entropy (the
CIFAR recipes' label smoothing and ``log(softmax + 1e-4)`` are left out). Both evaluate every 250 steps. When
you change ``steps``, set ``milestones`` to match (they are steps, not fractions)."""


def step_lr(step: int, base_lr: float, milestones: Sequence[int] = (), gamma: float = 0.1) -> float:
    """The learning rate of update ``step`` (0-based): multiplied by ``gamma`` at each milestone reached.

        lr(t) = base_lr · gamma^|{m ∈ milestones : m ≤ t}|

    As in the reference code, which sets ``lr *= 0.1`` when ``i == 20000`` before update ``i``: update 19,999
    uses 0.1 and update 20,000 uses 0.01.

    Args:
        step: update index, from 0.
        base_lr: the initial learning rate.
        milestones: steps at which the rate drops. Default none.
        gamma: the factor of each drop. Default 0.1.

    Example:
        >>> [step_lr(t, 0.1, [2, 4]) for t in range(5)]
        [0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002]
    """
    return base_lr * gamma ** sum(1 for m in milestones if m <= step)
