"""R-MHP: relaxed maximum hyperspherical polarization (Liu et al., AISTATS 2021)."""

from __future__ import annotations

from torch import Tensor

from thomson import _deprecation
from thomson.functional.polarization import relaxed_polarization
from thomson.functional.rows import weight_rows
from thomson.objectives.base import Objective
from thomson.objectives.registry import register_objective


@register_objective("rmhp")
class RMHP(Objective):
    """Relaxed maximum polarization: the length of the sum of a layer's neurons, ``|Σ_i w_i|``.

        RMHP(W) = |Σ_i ŵ_i|   (default)      RMHP(W) = |Σ_i w_i|   (``reference=True``)

    Relaxing the polarization potential to the squared distance makes the weakest point explicit:
    ``min_{|v|=1} Σ_i |v - ŵ_i|² = 2N - 2|Σ_i ŵ_i|``; see :func:`thomson.functional.relaxed_polarization`.
    No poles, no half-space (the sum of ``[W; -W]`` is 0).

    The default sums the neurons' directions (the geometric quantity, invariant to each neuron's length).
    ``reference=True`` sums the RAW weights as the Sphere-Uniformity ``r_mhp`` code does; its gradient is then
    the same vector ``Σw/|Σw|`` for every neuron, which shifts the neurons' mean whatever their lengths. The
    attribute ``normalized`` says which sum is taken. The paper's coefficients: 0.01 hidden, 0.1 classifier.

    Args:
        reference: the reference code's raw sum. Default False.
        normalized: deprecated spelling of the same choice (``normalized=False`` is ``reference=True``).

    Example:
        >>> import torch, thomson
        >>> w = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
        >>> round(float(thomson.RMHP()(w)), 6), round(float(thomson.RMHP(reference=True)(w)), 6)  # |(1, 1)|, |(3, 1)|
        (1.414214, 3.162278)
    """

    coef = 0.01
    classifier_coef = 0.1

    def __init__(self, normalized: bool | None = None, *, reference: bool = False) -> None:
        super().__init__()
        if normalized is not None:
            _deprecation.warn("RMHP(normalized=...) is RMHP(reference=not normalized); pass reference only")
            if reference and normalized:
                raise ValueError("normalized=True contradicts reference=True (the reference sums raw weights)")
            reference = not normalized
        self.reference = bool(reference)

    @property
    def normalized(self) -> bool:
        """Whether the neurons' directions (True) or their raw weights (False, the reference) are summed."""
        return not self.reference

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        return relaxed_polarization(weight_rows(weight, "RMHP"), normalized=self.normalized)

    def extra_repr(self) -> str:
        return f"normalized={self.normalized}, reference={self.reference}"
