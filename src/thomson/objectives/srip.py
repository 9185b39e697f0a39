"""SRIP: spectral restricted isometry (Bansal et al., NeurIPS 2018), a baseline."""

from __future__ import annotations

import torch
from torch import Tensor

from thomson._validate import integer
from thomson.functional.orthogonality import power_iteration, spectral_isometry
from thomson.functional.rows import as_rows, weight_rows
from thomson.objectives.base import Objective
from thomson.objectives.registry import register_objective

SRIP_WARMUP = 15
"""Power steps taken when a layer's SRIP vector is created (as ``torch.nn.utils.spectral_norm``)."""


@register_objective("srip")
class SRIP(Objective):
    """Spectral restricted isometry: ``σ_max(WWᵀ - I)`` by power iteration with a persistent vector.

        SRIP(W) = |(G - I) v|,   v ← (G - I)v / |(G - I)v|   (``iterations`` steps per training call)

    with ``G`` the smaller Gram matrix (``WWᵀ`` or ``WᵀW``; same spectrum apart from the trivial ``-1`` of
    the larger one) and ``v`` a per-layer vector kept in the objective's ``state_dict``, refined without
    gradient in training mode (as ``torch.nn.utils.spectral_norm``; 15 steps when it is created), so the
    estimate converges to ``σ_max`` over training; see :func:`thomson.functional.spectral_isometry`.

    ``reference=True`` is Bansal et al.'s released code: a fresh uniform random vector ``b`` each call, one
    differentiable power step, and the square: ``|(G - I)(G - I)b / |(G - I)b||²``. Coefficient 0.01 on
    every layer, the code's initial value (decayed ×1e-3, 1e-4, 1e-6 after epochs 20, 50, 70 and 0 after 120
    there: pass ``coef=`` a function of the step).

    Args:
        iterations: power steps per training call. Default 1.
        reference: the released code's estimator. Default False.

    Example:
        >>> import torch, thomson
        >>> srip = thomson.SRIP()
        >>> round(float(srip(torch.diag(torch.tensor([2.0, 1.0, 0.5])), layer="fc")), 4)  # σ_max(diag(3, 0, -0.75))
        3.0
    """

    coef = 0.01
    classifier_coef = 0.01
    state_names = ("vector",)

    def __init__(self, iterations: int = 1, *, reference: bool = False) -> None:
        super().__init__()
        self.iterations = integer("iterations", iterations, low=0)
        self.reference = bool(reference)

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        rows = as_rows(weight_rows(weight, "SRIP"))
        m = min(rows.shape)
        if self.reference:
            b = torch.rand(m, dtype=rows.dtype, device=rows.device)
            return spectral_isometry(rows, b, iterations=1).square()
        steps = 0

        def init() -> Tensor:
            nonlocal steps
            steps = SRIP_WARMUP
            return torch.randn(m, dtype=rows.dtype, device=rows.device)

        vector = self.layer_state(layer, "vector", init)
        if vector.shape != (m,):
            raise ValueError(
                f"SRIP: the vector of layer {layer!r} has shape {tuple(vector.shape)} but this weight needs ({m},): "
                "it was made for a weight of another shape (state loaded from another model, or two weights called "
                "with the same layer= name); load state saved for this model, or give each weight its own layer= name"
            )
        if self.training and torch.is_grad_enabled():
            steps += self.iterations
        if steps:
            vector.copy_(power_iteration(rows, vector, steps))
        return spectral_isometry(rows, vector)

    def check_layer_state(self, name: str, tensor: Tensor) -> str | None:
        return None if tensor.dim() == 1 else f"must be a vector [min(N, D)], got shape {tuple(tensor.shape)}"

    def extra_repr(self) -> str:
        return f"iterations={self.iterations}, reference={self.reference}"
