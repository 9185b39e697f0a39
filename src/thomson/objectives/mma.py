"""MMA: maximizing the minimal angles (Wang et al., NeurIPS 2020), a baseline."""

from __future__ import annotations

from torch import Tensor

from thomson.functional.rows import weight_rows
from thomson.functional.separation import mean_min_angle
from thomson.objectives.base import Objective
from thomson.objectives.registry import register_objective


@register_objective("mma")
class MMA(Objective):
    """Minimal-angle maximization: raise every neuron's angle to its nearest neighbour.

        MMA(W) = -mean_i min_{j≠i} θ_ij,   θ_ij = arccos(clamp(ŵ_iᵀŵ_j, -0.99999, 0.99999))

    See :func:`thomson.functional.mean_min_angle`. Coefficient 0.07 on every layer, the authors' default for
    networks without skip connections (they suggest 0.03 with skip connections). ``reference=True`` follows
    their code's diagonal handling (different only for zero neurons and ``N = 1``).

    Args:
        reference: the MMA code's diagonal handling. Default False.

    Example:
        >>> import torch, thomson
        >>> round(float(thomson.MMA()(torch.eye(4))), 6)   # orthogonal neurons: -π/2
        -1.570796
    """

    coef = 0.07
    classifier_coef = 0.07

    def __init__(self, *, reference: bool = False) -> None:
        super().__init__()
        self.reference = bool(reference)

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        return -mean_min_angle(weight_rows(weight, "MMA"), reference=self.reference)

    def extra_repr(self) -> str:
        return f"reference={self.reference}"
