"""Mini-batch classifier MHE (SphereFace+): the energy of the classes present in a batch."""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import Tensor

from thomson._validate import one_of
from thomson.engine import pairwise_sum, row_sums
from thomson.functional.riesz import energy_terms
from thomson.kernels import Metric

Against = Literal["all", "batch"]
AGAINST: tuple[Against, ...] = get_args(Against)


def minibatch_class_energy(
    weight: Tensor,
    labels: Tensor,
    s: float = 2.0,
    *,
    against: Against = "all",
    metric: Metric = "euclidean",
    eps: float | None = None,
    reference: bool = False,
) -> Tensor:
    """MHE of a classifier ``weight: [C, D]`` (one row per class) on the classes of a mini-batch ``labels: [B]``.

        against="all":    (1/(B (C-1))) Σ_b Σ_{j ≠ y_b} f_s(z_{y_b j})      (SphereFace+, MHE paper §5)
        against="batch":  mean over pairs of distinct classes present in the batch of f_s(z)

    ``f_s`` and ``z`` as in :func:`~thomson.functional.hyperspherical_energy` (full space, as the classifier
    always is). ``"all"`` pushes each sample's class away from every other class at ``O(U·C·D)`` cost for ``U``
    distinct labels (streamed over the classes, ``O(U·tile)`` memory); when labels are uniform over the classes
    it is an unbiased estimate of the classifier's full MHE. ``"batch"`` only separates the classes that meet in
    the batch, at ``O(U²·D)``; it is the cheapest and sees only a corner of the class set. Use either when ``C``
    is 10⁴ or more (face recognition), where the full pairwise energy is costly every step.

    Args:
        weight: classifier weight ``[C, D]``.
        labels: integer class labels ``[B]`` in ``[0, C)``.
        s: Riesz exponent. Default 2.
        against: ``"all"`` or ``"batch"``. Default ``"all"``.
        metric, eps, reference: as in :func:`~thomson.functional.hyperspherical_energy`.

    Returns:
        A 0-dim tensor (float32 at least); 0 when the batch holds one class (``"batch"``) or ``C = 1``.

    Example:
        >>> import torch
        >>> w = torch.eye(10)                       # ten orthonormal class vectors: every term is 1/2 at s=2
        >>> round(float(minibatch_class_energy(w, torch.tensor([3, 3, 7]))), 6)
        0.5
    """
    one_of("against", against, AGAINST)
    if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.is_floating_point() or labels.is_complex():
        raise ValueError("labels must be a 1-D integer tensor of class indices")
    with torch.autocast(weight.device.type, enabled=False):
        unit, kernel, factor = energy_terms(weight, s, metric, reference=reference, eps=eps)
        c = unit.shape[0]
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= c):
            raise ValueError(f"labels must lie in [0, {c}) for a classifier of {c} classes")
        classes, counts = torch.unique(labels.to(unit.device), return_counts=True)
        u = int(classes.shape[0])
        if against == "batch":
            present: Tensor = pairwise_sum(unit[classes], kernel)
            return factor * present / max(u * (u - 1) // 2, 1)
        if c < 2 or u == 0:
            return unit.sum() * 0.0
        weights = counts.to(unit.dtype) / (labels.numel() * (c - 1))
        total, _ = row_sums(unit, classes, kernel, weight=weights)
        return factor * total
