"""MGD: maximum Gram determinant (Liu et al., AISTATS 2021)."""

from __future__ import annotations

from torch import Tensor

from thomson._validate import real
from thomson.functional.gram import MGD_JITTER, gram_logdet
from thomson.functional.rows import weight_rows
from thomson.objectives.base import Objective
from thomson.objectives.registry import register_objective


@register_objective("mgd")
class MGD(Objective):
    """Maximum Gram determinant: make a layer's neurons span the largest volume in a Gaussian feature space.

        MGD(W) = -log det K,   K_ij = exp(-|ŵ_i - ŵ_j|² / σ²) + jitter · δ_ij

    computed by a float64 Cholesky factorization, finite and differentiable for duplicate or zero neurons
    thanks to the jitter; see :func:`thomson.functional.gram_logdet`. Half-space on hidden layers (there
    ``K`` is the ``2N × 2N`` Gram of ``[W; -W]``, evaluated as two ``N × N`` factorizations), never on the
    classifier.

    ``reference=True`` reproduces the Sphere-Uniformity code: neurons ε-normalized twice (ε = 1e-4), with
    its ``σ = 1`` and jitter 1e-6 (the defaults here too). The default differs only in exact normalization.
    The paper's coefficients: 0.01 hidden, 0.1 classifier.

    Args:
        bandwidth: the kernel's σ > 0. Default 1 (the reference).
        half_space: use ``[W; -W]`` on hidden layers. Default True (the reference).
        jitter: added to the diagonal, > 0. Default 1e-6 (the reference).
        reference: the reference code's normalization. Default False.

    Example:
        >>> import torch, thomson
        >>> mgd = thomson.MGD()
        >>> twins = torch.tensor([[1.0, 0.0], [1.0, 0.0]])        # duplicate neurons: large but finite
        >>> round(float(mgd(twins, classifier=True)), 3)         # -log(2·1e-6), the jitter's floor
        13.122
    """

    coef = 0.01
    classifier_coef = 0.1

    def __init__(
        self,
        bandwidth: float = 1.0,
        half_space: bool = True,
        *,
        jitter: float = MGD_JITTER,
        reference: bool = False,
    ) -> None:
        super().__init__()
        self.bandwidth = real("bandwidth", bandwidth, low=0.0, strict=True)
        self.half_space = bool(half_space)
        self.jitter = real("jitter", jitter, low=0.0, strict=True)
        self.reference = bool(reference)

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        return -gram_logdet(
            weight_rows(weight, "MGD"),
            bandwidth=self.bandwidth,
            jitter=self.jitter,
            half_space=self.half_space and not classifier,
            reference=self.reference,
        )

    def extra_repr(self) -> str:
        return (
            f"bandwidth={self.bandwidth:g}, half_space={self.half_space}, jitter={self.jitter:g}, "
            f"reference={self.reference}"
        )
