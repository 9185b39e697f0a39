"""MHE: minimum hyperspherical energy (Liu et al., NeurIPS 2018)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from thomson._validate import one_of, real
from thomson.engine import BACKENDS, Backend
from thomson.functional.riesz import hyperspherical_energies, hyperspherical_energy, riesz_kernel
from thomson.functional.rows import weight_rows
from thomson.kernels import Metric
from thomson.objectives.base import Objective
from thomson.objectives.registry import register_objective


@register_objective("mhe")
class MHE(Objective):
    """Minimum hyperspherical energy of a layer's neurons: the mean Riesz ``s``-energy of their directions.

        MHE_s(W) = mean_{i<j} f_s(z_ij),   f_s(z) = z^(-s) (s > 0),  -log z (s = 0),  -z^(-s) (s < 0)

    with ``z`` the chord ``|ŵ_i - ŵ_j|`` or, for ``metric="angular"``, the geodesic angle; see
    :func:`thomson.functional.hyperspherical_energy` for the exact formula and the two modes.
    ``half_space=True`` adds each neuron's negation (the paper's half-space MHE); it applies to hidden layers
    only, never to the classifier, as in the reference code.

    ``reference=True`` reproduces the authors' code exactly: ε = 1e-4 inside the norm, ``-log z²`` for
    ``s = 0``, angular distance ``θ/π + 1e-4``. The default differs only in these constants: exact row
    normalization, ``-log z``, the angle ``θ`` itself, and cosines contracted by ``1 - 1e-6``, so that duplicate
    neurons give a large but finite value and gradient: a duplicate pair's term is ``(2·10⁻⁶)^(-s/2)``, finite
    with its gradient for ``s <= 11`` in float32 and ``s <= 105`` in float64; beyond, it overflows to inf.

    The paper's coefficients are the class's ``coef`` (hidden layers) and ``classifier_coef``: 1 and 10, or
    0.1 and 1 for angular ``s = 1, 2`` (the reference code's ``a1``, ``a2``).

    Args:
        s: Riesz exponent, any real number. Default 2.
        metric: ``"euclidean"`` or ``"angular"``. Default ``"euclidean"``.
        half_space: use ``[W; -W]`` on hidden layers. Default False.
        reference: the reference code's constants. Default False.
        eps: override the mode's ε (see :func:`~thomson.functional.hyperspherical_energy`). Default None.
        backend: engine backend. Default ``"auto"``.

    Example:
        >>> import torch, thomson
        >>> mhe = thomson.MHE(s=2, half_space=True, reference=True)
        >>> value = mhe(torch.randn(64, 3, 3, 3))          # a conv weight [out, in, kh, kw]
        >>> (mhe.coef, mhe.classifier_coef)
        (1.0, 10.0)
    """

    def __init__(
        self,
        s: float = 2.0,
        metric: Metric = "euclidean",
        half_space: bool = False,
        *,
        reference: bool = False,
        eps: float | None = None,
        backend: Backend = "auto",
    ) -> None:
        super().__init__()
        self.s = real("s", s)
        riesz_kernel(self.s, metric, reference=reference, eps=eps)  # validates metric and eps
        one_of("backend", backend, BACKENDS)
        self.metric: Metric = metric
        self.half_space = bool(half_space)
        self.reference = bool(reference)
        self.eps = eps
        self.backend: Backend = backend
        angular_power = metric == "angular" and self.s > 0
        self.coef = 0.1 if angular_power else 1.0
        self.classifier_coef = 1.0 if angular_power else 10.0

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        return hyperspherical_energy(
            weight_rows(weight, "MHE"),
            self.s,
            metric=self.metric,
            half_space=self.half_space and not classifier,
            eps=self.eps,
            reference=self.reference,
            backend=self.backend,
        )

    def forward_many(self, weights: Sequence[Tensor], *, layers: Sequence[str], classifiers: Sequence[bool]) -> Tensor:
        """All layers in one autograd node (:func:`~thomson.functional.riesz.hyperspherical_energies`: layers with
        the same number of neurons share an engine pass); each value equals ``forward``'s."""
        rows = [weight_rows(w, "MHE") for w in weights]
        if len({r.device for r in rows}) > 1:  # a model split across devices: layer by layer
            return super().forward_many(weights, layers=layers, classifiers=classifiers)
        return hyperspherical_energies(
            rows,
            self.s,
            metric=self.metric,
            half_space=[self.half_space and not classifier for classifier in classifiers],
            eps=self.eps,
            reference=self.reference,
            backend=self.backend,
        )

    def extra_repr(self) -> str:
        return f"s={self.s:g}, metric={self.metric!r}, half_space={self.half_space}, reference={self.reference}" + (
            f", eps={self.eps:g}" if self.eps is not None else ""
        )
