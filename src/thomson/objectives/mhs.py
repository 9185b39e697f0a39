"""MHS: maximum hyperspherical separation (Liu et al., AISTATS 2021), the Tammes problem as a regularizer."""

from __future__ import annotations

from torch import Tensor

from thomson._validate import one_of, real
from thomson.engine import BACKENDS, Backend
from thomson.functional.rows import weight_rows
from thomson.functional.separation import min_separation
from thomson.objectives.base import Objective
from thomson.objectives.registry import register_objective


@register_objective("mhs")
class MHS(Objective):
    """Maximum hyperspherical separation: push apart the two closest neurons of a layer.

        MHS(W) = -min_{i<j} d²_ij,   d²_ij = |ŵ_i - ŵ_j|² = 2 - 2 ŵ_iᵀŵ_j

    The hard minimum gives gradient to the closest pair only. ``temperature = T > 0`` replaces it with the
    soft minimum ``-T log Σ_{i<j} exp(-d²_ij/T)``, which gives gradient to every close pair and tends to the
    hard minimum as ``T → 0`` (it is below it by at most ``T log(#pairs)``); see
    :func:`thomson.functional.min_separation`. Half-space (``[W; -W]``: the closest pair of lines rather
    than of directions) on hidden layers, never on the classifier.

    ``reference=True`` reproduces the Sphere-Uniformity code's per-layer value: neurons ε-normalized twice
    (ε = 1e-4) and the minimum summed over every pair of the (doubled) set that attains it, which in half
    space counts each pair twice, so the reference's hidden-layer value is ``-2 min d²``. The default is
    the minimum itself with exact normalization.

    The paper's coefficients: 0.1 for hidden layers, 1 for the classifier.

    Args:
        temperature: 0 for the hard minimum, ``> 0`` for the soft one. Default 0 (the reference).
        half_space: use ``[W; -W]`` on hidden layers. Default True (the reference).
        reference: the reference code's constants. Default False.
        backend: engine backend for the soft minimum. Default ``"auto"``.

    Example:
        >>> import torch, thomson
        >>> mhs = thomson.MHS()
        >>> square = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
        >>> float(mhs(square, classifier=True))   # neighbours at 90°: -d² = -2
        -2.0
    """

    coef = 0.1
    classifier_coef = 1.0

    def __init__(
        self,
        temperature: float = 0.0,
        half_space: bool = True,
        *,
        reference: bool = False,
        backend: Backend = "auto",
    ) -> None:
        super().__init__()
        one_of("backend", backend, BACKENDS)
        self.temperature = real("temperature", temperature, low=0.0)
        self.half_space = bool(half_space)
        self.reference = bool(reference)
        self.backend: Backend = backend

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        return -min_separation(
            weight_rows(weight, "MHS"),
            temperature=self.temperature,
            half_space=self.half_space and not classifier,
            reference=self.reference,
            backend=self.backend,
        )

    def extra_repr(self) -> str:
        return f"temperature={self.temperature:g}, half_space={self.half_space}, reference={self.reference}"
