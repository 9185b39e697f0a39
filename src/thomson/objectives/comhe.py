"""CoMHE: compressive minimum hyperspherical energy (Lin et al., CVPR 2020).

The layer policy and the mean over projections live here; each kind of projection is a strategy object of
:mod:`thomson.objectives.projections`, the inner steps of the learned ones are :mod:`thomson.objectives.inner`'s,
and the random draws come from :class:`~thomson.objectives.random_stream.RandomStream`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import torch
from torch import Tensor

from thomson import _deprecation
from thomson._validate import integer, learning_rate, one_of, real
from thomson._validate import seed as checked_seed
from thomson.functional.rows import as_rows, weight_rows
from thomson.objectives.base import LearningRate, Objective
from thomson.objectives.mhe import MHE
from thomson.objectives.projections import PROJECTIONS as KINDS
from thomson.objectives.random_stream import RandomStream
from thomson.objectives.registry import register_objective

ProjectionName = Literal["random", "angle", "adversarial", "group"]
PROJECTIONS: tuple[ProjectionName, ...] = get_args(ProjectionName)
"""The projection kinds built in (the names of :data:`thomson.objectives.projections.PROJECTIONS`)."""

REFERENCE_INNER_LR = 0.1
"""The reference's inner learning rate: the network's, 0.1 at the start of its schedule."""
REFERENCE_INNER_WEIGHT_DECAY = 1e-3 * 5e-4
"""The reference's decay on a learned projection: ``1e-3 · 5e-4 · ½|P|²`` added to the inner loss."""
_SETTINGS = ("num_projections", "inner_steps", "inner_lr", "inner_weight_decay")


@register_objective("comhe")
class CoMHE(Objective):
    """Compressive MHE: the energy of a layer's neurons after projecting them to a few dimensions.

        CoMHE(W) = mean_c  base(W P_cᵀ),     W ∈ R^{N×D} (rows = neurons),  P_c ∈ R^{k×D}, k = dim

    ``base`` is any pairwise objective, by default half-space ``s = 2`` MHE (the reference's). Projections
    (one class each in :mod:`thomson.objectives.projections`, chosen by name):

    * ``"random"``: ``num_projections`` matrices with N(0, 1) entries, drawn anew at every training
      evaluation, all ``C`` products in one batched matmul; the value is the mean over the ``C`` projections.
    * ``"angle"`` (angle-preserving): one learned ``P`` per layer (N(0, 1) init). Before the network's term,
      ``inner_steps`` SGD steps lower the angle-preservation loss

          ℓ_AP(P) = |Ĉ(W Pᵀ) - Ĉ(W)|_F  (+ ½ · inner_weight_decay · |P|² in the steps),

      with ``Ĉ(X)`` the cosine matrix of the rows of ``X`` (un-squared Frobenius norm, diagonal included).
      The network's term is ``base(W P'ᵀ)`` with the one-step look-ahead ``P' = P - lr ∇_P ℓ_AP(P, W)``,
      differentiable in ``W`` (second order, as the reference's ``tf.gradients``; no decay term in ``P'``).
    * ``"adversarial"``: one learned ``P`` per layer; ``inner_steps`` SGD steps of gradient ASCENT on
      ``E(W Pᵀ)`` (minus the same decay), then the network's term ``base(W P'ᵀ)`` with the look-ahead
      ``P' = P + lr ∇_P E(W Pᵀ)``: a min over ``W`` of a max over ``P``. ``E`` is the base's classifier form,
      i.e. full space for MHE, which is the reference's ascent objective.
    * ``"group"`` (no reference code; this library's definition): the ``D`` coordinates are split into
      ``G = ceil(D/dim)`` contiguous groups of near-equal size (``torch.tensor_split``'s), and the value is
      the mean over groups of ``base(W[:, group])``. Each group is a coordinate projection (a 0/1 matrix,
      zero-padded to the largest group, which changes no cosine), so groups too are one batched matmul. For a
      conv weight ``[out, in, kh, kw]`` a group is a run of input channels (whole channels when ``dim`` is a
      multiple of ``kh·kw`` and divides ``D``). Deterministic, no state. It lowers the energy of every
      channel group separately: neurons must differ within each group of inputs, not only overall.

    Layer policy. The classifier (``classifier=True``) is never projected: it gets ``base`` in its classifier
    form (full-space MHE, coefficient 10 from ``base.classifier_coef``). A layer whose rows have ``D <= dim``
    coordinates is not projected either (a projection cannot lower its dimension): it gets ``base`` itself.
    On CNN-9 this reproduces the reference exactly: the first conv (``D = 27``) gets plain half-space MHE,
    every other layer the projected energy. A layer with fewer than 2 neurons has no pair and is not projected.

    When it runs. In a training evaluation (``self.training`` and gradients enabled) random projections are
    redrawn and learned projections take their inner steps, inside ``forward``: a user writes only
    ``loss = ce + reg()``, once per optimizer step (every training evaluation is a step of the inner
    problem). Otherwise (``.eval()``, ``torch.no_grad()``) the value is deterministic: random projections use
    one fixed draw, learned ones their current ``P`` without step or look-ahead. :meth:`projected_energy`
    evaluates given projection matrices.

    State. Learned projections are per-layer buffers (:meth:`~Objective.layer_state`, key
    ``"<layer>:projection"``); the random stream is a seed and a draw counter, buffers ``seed`` and ``draws``
    (draw ``t`` comes from a generator seeded by a hash of both, on the weight's device). All are in
    ``state_dict()``, survive loading into a fresh objective (a resumed run draws the same sequence), and are
    never in ``model.parameters()``.

    ``reference=True`` gives the reference code's numbers: base ``MHE(s=2, half_space=True, reference=True)``
    and ``ε = 1e-4`` inside the norm of the cosines of ``ℓ_AP``. The other defaults are the reference's:
    ``dim`` 40 (random) or 30, ``num_projections`` 20, ``inner_steps`` 1 (angle) or 10 (adversarial),
    ``inner_lr`` 0.1 (the reference follows the network's learning rate: pass a function for that),
    ``inner_weight_decay`` 5e-7. The default mode uses exact normalization (``MHE``'s default mode).

    Args:
        projection: ``"random"``, ``"angle"``, ``"adversarial"`` or ``"group"``. Default ``"random"``.
        dim: projected dimension ``k`` (group: the largest group size). Default 40 (random) or 30.
        num_projections: random only: projections per evaluation. Default 20.
        base: the objective applied to the projected rows. Default ``MHE(s=2, half_space=True)``.
        inner_steps: angle/adversarial only: SGD steps on ``P`` per training evaluation. Default 1 / 10.
        inner_lr: angle/adversarial only: the learning rate of the inner steps, a number > 0 or a function of
            nothing returning the current one (e.g. to follow the network's optimizer). Default 0.1.
        inner_weight_decay: angle/adversarial only: decay on ``P`` in the inner steps. Default 5e-7.
        seed: seed of the random stream (draws and initial projections). Default None: drawn from torch's
            global generator, so ``torch.manual_seed`` fixes it.
        reference: the reference code's constants. Default False.

    Example:
        >>> import torch, thomson
        >>> comhe = thomson.CoMHE("random", dim=40, num_projections=20, seed=0)
        >>> w = torch.randn(64, 16, 3, 3)                   # a conv weight: 64 neurons in D = 144
        >>> value = comhe(w, layer="conv")                  # training mode: a fresh draw
        >>> with torch.no_grad():                           # deterministic: the fixed draw
        ...     bool(comhe(w, layer="conv") == comhe(w, layer="conv"))
        True
        >>> (comhe.coef, comhe.classifier_coef)
        (1.0, 10.0)
    """

    seed: Tensor
    draws: Tensor
    state_names = ("projection",)

    def __init__(
        self,
        projection: ProjectionName = "random",
        dim: int | None = None,
        num_projections: int | None = None,
        base: Objective | None = None,
        *,
        inner_steps: int | None = None,
        inner_lr: LearningRate | None = None,
        inner_weight_decay: float | None = None,
        seed: int | None = None,
        reference: bool = False,
    ) -> None:
        super().__init__()
        one_of("projection", projection, tuple(KINDS.names()))
        self.strategy = KINDS.get(projection)
        given = dict(zip(_SETTINGS, (num_projections, inner_steps, inner_lr, inner_weight_decay), strict=True))
        for name, value in given.items():
            if value is not None and name not in self.strategy.options:
                raise ValueError(f"{name} does not apply to projection={projection!r}; leave it out")
        self.projection: ProjectionName = projection
        self.dim = integer("dim", self.strategy.default_dim if dim is None else dim, low=1)
        self.num_projections = integer("num_projections", 20 if num_projections is None else num_projections, low=1)
        self.inner_steps = integer(
            "inner_steps", self.strategy.default_inner_steps if inner_steps is None else inner_steps, low=0
        )
        self.inner_lr: LearningRate = learning_rate("inner_lr", REFERENCE_INNER_LR if inner_lr is None else inner_lr)
        self.inner_weight_decay = real(
            "inner_weight_decay",
            REFERENCE_INNER_WEIGHT_DECAY if inner_weight_decay is None else inner_weight_decay,
            low=0.0,
        )
        if base is None:
            base = MHE(s=2, half_space=True, reference=reference)
        if not isinstance(base, Objective):
            raise TypeError(f"base must be a thomson objective such as thomson.MHE(...), got {type(base).__name__}")
        self.base = base
        self.reference = bool(reference)
        self.coef = base.coef
        self.classifier_coef = base.classifier_coef
        if seed is None:
            seed = int(torch.randint(0, 2**62, ()))
        self.stream = RandomStream(checked_seed("seed", seed))
        self.register_buffer("seed", torch.tensor(self.stream.seed, dtype=torch.long))
        self.register_buffer("draws", torch.tensor(0, dtype=torch.long))

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        return self.forward_many([weight], layers=[layer], classifiers=[classifier])[0]

    def forward_many(self, weights: Sequence[Tensor], *, layers: Sequence[str], classifiers: Sequence[bool]) -> Tensor:
        """Every layer's projections (drawn, or stepped, layer by layer in order) reduced by the base objective in
        one call (``base.forward_many``: for MHE, one engine pass per shape of projected rows); the values are
        ``forward``'s."""
        entries: list[Tensor] = []
        entry_layers: list[str] = []
        spans: list[tuple[int, int]] = []  # (first entry, projections) of each layer; 0 projections: base itself
        for weight, layer, classifier in zip(weights, layers, classifiers, strict=True):
            projected = self._project(weight, layer, classifier)
            spans.append((len(entries), 0 if projected is None else projected.shape[0]))
            entries.extend([weight] if projected is None else projected.unbind(0))
            entry_layers.extend([layer] * max(spans[-1][1], 1))
        flags = [False] * len(entries)
        for (first, count), classifier in zip(spans, classifiers, strict=True):
            if count == 0:
                flags[first] = classifier
        values = self.base.forward_many(entries, layers=entry_layers, classifiers=flags)
        return torch.stack(
            [values[first] if count == 0 else values[first : first + count].mean() for first, count in spans]
        )

    def _project(self, weight: Tensor, layer: str, classifier: bool) -> Tensor | None:
        """This evaluation's projected rows ``[C, N, k]`` of a layer, or None for a layer that is not projected."""
        n, d = weight_rows(weight, "CoMHE").shape
        if classifier or d <= self.dim or n < 2:
            return None
        rows = as_rows(weight.flatten(1), "weight")
        learning = self.training and torch.is_grad_enabled()
        with torch.autocast(rows.device.type, enabled=False):
            return self.strategy.project(self, rows, layer, learning=learning)

    def projected_energy(self, weight: Tensor, projections: Tensor, *, layer: str = "") -> Tensor:
        """``mean_c base(W P_cᵀ)`` for projections of your choice, ``[C, k, D]`` or one ``[k, D]``.

        This is the value of a projected layer; ``forward`` chooses the projections. All ``C`` products are one
        batched matmul.

        Example:
            >>> import torch, thomson
            >>> w = torch.randn(8, 5, dtype=torch.float64)
            >>> rotation = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))[0]  # keeps every cosine
            >>> comhe = thomson.CoMHE()
            >>> torch.allclose(comhe.projected_energy(w, rotation), comhe.base(w))
            True
        """
        rows = as_rows(weight_rows(weight, "CoMHE"), "weight")
        p = projections[None] if projections.dim() == 2 else projections
        if p.dim() != 3 or p.shape[-1] != rows.shape[1]:
            raise ValueError(
                f"projections must have shape [C, k, D] or [k, D] with D = {rows.shape[1]}, "
                f"got {tuple(projections.shape)}"
            )
        return self._mean_energy(torch.matmul(rows, p.to(rows.dtype).mT), layer)

    def draw(self, shape: tuple[int, ...], like: Tensor, *, fixed: bool = False) -> Tensor:
        """N(0, 1) entries of ``shape`` on ``like``'s device and dtype: the next draw of this objective's random
        stream (counted in the ``draws`` buffer), or the fixed one."""
        return self.stream.draw(shape, like, fixed=fixed, counter=self.draws)

    def _mean_energy(self, projected: Tensor, layer: str) -> Tensor:
        """``mean_c base(projected[c])`` over ``projected: [C, N, k]``, in one call of the base."""
        count = projected.shape[0]
        values = self.base.forward_many(list(projected.unbind(0)), layers=[layer] * count, classifiers=[False] * count)
        return values.mean()

    def check_layer_state(self, name: str, tensor: Tensor) -> str | None:
        if tensor.dim() != 2 or tensor.shape[0] != self.dim:
            return f"must have shape [{self.dim}, D] (dim={self.dim}), got {tuple(tensor.shape)}"
        return None

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        self.stream = RandomStream(int(self.seed), int(self.draws))

    def extra_repr(self) -> str:
        parts = [f"projection={self.projection!r}", f"dim={self.dim}", *self.strategy.describe(self)]
        return ", ".join([*parts, f"reference={self.reference}"])


__getattr__ = _deprecation.moved("thomson.objectives.comhe", {"Projection": "thomson.objectives.comhe:ProjectionName"})
