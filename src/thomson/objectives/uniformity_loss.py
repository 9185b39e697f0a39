"""A loss that spreads a batch of embeddings over the sphere: Wang & Isola's uniformity, or an MHE energy."""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from thomson._validate import one_of, real
from thomson.engine import BACKENDS, Backend, pair_count
from thomson.functional.riesz import hyperspherical_energy, riesz_kernel
from thomson.functional.rows import as_rows
from thomson.functional.uniformity import uniformity
from thomson.kernels import Metric

FeatureKernel = Literal["gaussian", "riesz"]
FEATURE_KERNELS: tuple[FeatureKernel, ...] = ("gaussian", "riesz")


class UniformityLoss(nn.Module):
    """Uniformity of embeddings ``z: [N, D]`` (one per row) as a loss: lower is more uniform.

        kernel="gaussian" (default):  log mean_{i<j} exp(-t |ẑ_i - ẑ_j|²)      (Wang & Isola, t = 2)
        kernel="riesz":               mean_{i<j} f_s(z_ij)                       (MHE, s = 2)

    The first is :func:`thomson.functional.uniformity` (with a memory bank when ``forward`` is given a
    ``queue``), the second :func:`thomson.functional.hyperspherical_energy` with the same ``s``, ``metric``
    and ``half_space`` (``reduction="mean"``). Both normalize the rows first and stream the pairs in
    ``O(N·D)`` memory. Add it, with a coefficient, to a contrastive or supervised loss; Wang & Isola train
    with ``alignment(z1, z2) + λ (uniformity(z1) + uniformity(z2)) / 2`` (``docs/features.md``).

    Args:
        kernel: ``"gaussian"`` or ``"riesz"``. Default ``"gaussian"``.
        t: the Gaussian kernel's scale, ``> 0`` (gaussian only). Default 2.
        s: the Riesz exponent (riesz only). Default 2.
        metric: ``"euclidean"`` or ``"angular"`` (riesz only). Default ``"euclidean"``.
        half_space: energy of ``[ẑ; -ẑ]`` (riesz only). Default False.
        intra_batch: with a queue, also count the pairs within the batch (gaussian only). Default True.
        reference: Wang & Isola's code (gaussian) or the MHE code's constants (riesz). Default False.
        backend: engine backend. Default ``"auto"``.

    Raises:
        ValueError: in ``forward``, when there is no pair (one embedding and no queue).

    Example:
        >>> import torch, thomson
        >>> loss = thomson.UniformityLoss()                     # Wang & Isola, t = 2
        >>> z = torch.randn(256, 128, requires_grad=True)
        >>> bool(-4.0 < loss(z) < -3.9)                          # ≈ -2t + 2t²/D for random directions
        True
        >>> round(float(thomson.UniformityLoss("riesz", s=1)(torch.eye(3))), 6)   # three chords √2: 1/√2
        0.707107
    """

    def __init__(
        self,
        kernel: FeatureKernel = "gaussian",
        *,
        t: float | None = None,
        s: float | None = None,
        metric: Metric | None = None,
        half_space: bool | None = None,
        intra_batch: bool | None = None,
        reference: bool = False,
        backend: Backend = "auto",
    ) -> None:
        super().__init__()
        one_of("kernel", kernel, FEATURE_KERNELS)
        own = {"gaussian": ("t", "intra_batch"), "riesz": ("s", "metric", "half_space")}
        given = {"t": t, "s": s, "metric": metric, "half_space": half_space, "intra_batch": intra_batch}
        foreign = [name for name, value in given.items() if value is not None and name not in own[kernel]]
        if foreign:
            raise ValueError(f"{', '.join(foreign)} do not apply to kernel={kernel!r} (options: {own[kernel]})")
        one_of("backend", backend, BACKENDS)
        self.kernel: FeatureKernel = kernel
        self.t = 2.0 if t is None else t
        real("t", self.t, low=0.0, strict=True)
        self.s = 2.0 if s is None else s
        real("s", self.s)
        self.metric: Metric = "euclidean" if metric is None else metric
        riesz_kernel(float(self.s), self.metric, reference=reference, eps=None)  # validates metric
        self.half_space = bool(half_space)
        self.intra_batch = True if intra_batch is None else bool(intra_batch)
        self.reference = bool(reference)
        self.backend: Backend = backend

    def forward(self, z: Tensor, queue: Tensor | None = None) -> Tensor:
        """The loss of the embeddings ``z: [N, D]``; ``queue: [K, D]``, earlier embeddings (gaussian only)."""
        if self.kernel == "gaussian":
            return uniformity(
                z, self.t, queue=queue, intra_batch=self.intra_batch, reference=self.reference, backend=self.backend
            )
        if queue is not None:
            raise ValueError("a queue applies to kernel='gaussian' only; the Riesz energy is of the batch alone")
        rows = as_rows(z, "z")
        if pair_count(rows.shape[0], self.half_space) == 0:
            raise ValueError(f"UniformityLoss needs at least one pair of embeddings, got N = {rows.shape[0]}")
        return hyperspherical_energy(
            rows,
            self.s,
            metric=self.metric,
            half_space=self.half_space,
            reference=self.reference,
            backend=self.backend,
        )

    def extra_repr(self) -> str:
        if self.kernel == "gaussian":
            return f"kernel='gaussian', t={self.t}, intra_batch={self.intra_batch}, reference={self.reference}"
        return (
            f"kernel='riesz', s={self.s}, metric={self.metric!r}, half_space={self.half_space}, "
            f"reference={self.reference}"
        )
