"""MC: mutual coherence (Bansal et al., NeurIPS 2018), a baseline."""

from __future__ import annotations

from torch import Tensor

from thomson.functional.orthogonality import mutual_coherence
from thomson.functional.rows import weight_rows
from thomson.objectives.registry import register_objective
from thomson.objectives.so import _NoConstants


@register_objective("mc")
class MC(_NoConstants):
    """Mutual coherence: the largest ``|cos|`` between two neurons, ``‖ŴŴᵀ - I‖_∞``.

    See :func:`thomson.functional.mutual_coherence`; the gradient reaches the most coherent pair only.
    Coefficient 0.1, as SO.

    Example:
        >>> import torch, thomson
        >>> round(float(thomson.MC()(torch.tensor([[1.0, 0.0], [0.6, 0.8]]))), 6)
        0.6
    """

    coef = 0.1
    classifier_coef = 0.1

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        return mutual_coherence(weight_rows(weight, "MC"))
