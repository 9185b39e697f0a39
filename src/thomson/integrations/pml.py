"""pytorch-metric-learning: a thomson objective as the ``weight_regularizer`` of a loss with class weights.

::

    loss_fn = pytorch_metric_learning.losses.ArcFaceLoss(
        num_classes, embedding_size, weight_regularizer=WeightRegularizer(thomson.MHE(s=2))
    )

PML hands its weight regularizer the class centres as rows (``W.T``, ``[classes, embedding]``); the objective
sees them as a classifier (full space, never half space) and is weighted by its ``classifier_coef`` (MHE: 10),
times the loss's ``weight_reg_weight``. Its state (CoMHE projections, MHP poles) is in the loss's ``state_dict``.

The label-aware term of SphereFace+ (MHE on the classes of the batch, ``minibatch_class_energy``) needs the
labels, which PML does not pass to weight regularizers; add it next to the loss::

    loss = loss_fn(embeddings, labels) + 10 * thomson.minibatch_class_energy(loss_fn.W.T, labels)
"""

from __future__ import annotations

from thomson._optional import require

require("pytorch_metric_learning", extra="integrations", purpose="thomson.integrations.pml")

from torch import Tensor, nn  # noqa: E402

from thomson._validate import coefficient  # noqa: E402
from thomson.objectives.base import Objective  # noqa: E402


class WeightRegularizer(nn.Module):
    """A PML weight regularizer: ``coef · objective(W_rows, classifier=True)`` on the class centres PML passes.

        R(W) = coef · objective(w_1, ..., w_C)     (rows w_c: the centre of class c)

    Args:
        objective: a thomson objective, e.g. ``thomson.MHE(s=2)``.
        coef: its weight. Default: ``objective.classifier_coef``.
        layer: the name its per-layer state is kept under. Default ``"classes"``.

    Example:
        >>> import torch, thomson
        >>> reg = WeightRegularizer(thomson.MHE(s=2))
        >>> round(float(reg(torch.eye(3))), 4)   # 3 orthonormal centres: energy 1/2, times classifier_coef 10
        5.0
    """

    def __init__(self, objective: Objective, *, coef: float | None = None, layer: str = "classes") -> None:
        super().__init__()
        if not isinstance(objective, Objective):
            raise TypeError(f"objective must be a thomson objective such as thomson.MHE(), got {type(objective)}")
        self.objective = objective
        value = objective.classifier_coef if coef is None else coef
        if callable(value):
            raise TypeError("coef must be a number here (PML calls the regularizer without a step)")
        self.coef = float(coefficient("coef", value))  # type: ignore[arg-type]
        self.layer = layer

    def forward(self, weights: Tensor) -> Tensor:
        value: Tensor = self.objective(weights, layer=self.layer, classifier=True)
        return self.coef * value


__all__ = ["WeightRegularizer"]
