"""SO and DSO: soft and double soft orthogonality (Bansal et al., NeurIPS 2018), baselines."""

from __future__ import annotations

from torch import Tensor

from thomson import _deprecation
from thomson.functional.orthogonality import double_soft_orthogonality, soft_orthogonality
from thomson.functional.rows import weight_rows
from thomson.objectives.base import Objective
from thomson.objectives.registry import register_objective


class _NoConstants(Objective):
    """A baseline whose definition has no constant for a reference preset to change: it takes no argument.

    ``reference=``, which it used to accept and ignore, still works for one release, with a ``DeprecationWarning``.
    """

    def __init__(self, *, reference: bool | None = None) -> None:
        super().__init__()
        if reference is not None:
            _deprecation.warn(f"{type(self).__name__}(reference=...) changes nothing; leave it out")


@register_objective("so")
class SO(_NoConstants):
    """Soft orthogonality: ``‖WWᵀ - I‖²_F`` on the raw rows (unit length and mutually orthogonal).

    See :func:`thomson.functional.soft_orthogonality`. Coefficient 0.1 on every layer, the start of
    Bansal et al.'s schedule (they decay it during training: pass ``coef=`` a function of the step).
    No arguments: the definition has no constants.

    Example:
        >>> import torch, thomson
        >>> float(thomson.SO()(torch.eye(3, 5)))   # orthonormal rows
        0.0
    """

    coef = 0.1
    classifier_coef = 0.1

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        return soft_orthogonality(weight_rows(weight, "SO"))


@register_objective("dso")
class DSO(_NoConstants):
    """Double soft orthogonality: ``‖WWᵀ - I‖²_F + ‖WᵀW - I‖²_F`` on the raw rows.

    Equal to ``2·SO + (D - N)`` (see :func:`thomson.functional.double_soft_orthogonality`): the same
    gradient as SO with twice the coefficient. Coefficient 0.1, as SO.

    Example:
        >>> import torch, thomson
        >>> float(thomson.DSO()(torch.eye(3)))
        0.0
    """

    coef = 0.1
    classifier_coef = 0.1

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        return double_soft_orthogonality(weight_rows(weight, "DSO"))
