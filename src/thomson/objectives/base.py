"""The interface every objective implements, and the per-layer auxiliary state some of them keep."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor, nn

from thomson import _deprecation

LearningRate = float | Callable[[], float]
"""``inner_lr``, the learning rate of an objective's own inner steps (CoMHE's learned projections, MHP/MHC's
poles; :mod:`thomson.objectives.inner`): a number > 0, or a function of nothing returning the current one, e.g.
``lambda: opt.param_groups[0]["lr"]`` to follow the network's optimizer (it may return 0, the end of a schedule).
``thomson train`` points it at the network's learning rate unless the options set it."""


class Objective(nn.Module):
    """A per-layer objective: maps one layer's weight (neurons on dim 0) to a scalar the network minimizes.

    Call it on a weight of any shape ``[N, ...]``; it works on the rows ``weight.flatten(1)``. The value is
    before any coefficient. :class:`thomson.Regularizer` calls it once per regularized layer with the layer's
    name (which keys the objective's per-layer state) and whether the layer is the classifier.

    Class attributes ``coef`` and ``classifier_coef`` hold the coefficients the method's paper used for
    hidden layers and the classifier; ``Regularizer`` applies them unless given others.

    Objectives with auxiliary tensors per layer (poles, projections, power-iteration vectors) create them on
    first use with :meth:`layer_state`; they are buffers of the objective, so they are saved by
    ``state_dict()``, restored by ``load_state_dict()`` (even into a fresh objective), moved by ``.to()``, and
    never part of ``model.parameters()``.
    """

    coef: float = 1.0
    classifier_coef: float = 1.0

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        raise NotImplementedError

    def forward_many(
        self, weights: Sequence[Tensor], *, layers: Sequence[str], classifiers: Sequence[bool]
    ) -> list[Tensor]:
        """The objective of several layers, ``[forward(w, layer=l, classifier=c) for ...]``, which it is by default.

        :class:`thomson.Regularizer` evaluates all its layers with one call. An objective that can evaluate several
        layers together overrides it (MHE stacks layers of one shape into one engine pass); each value must be
        what ``forward`` gives for that layer, with the same side effects (state, random draws) in layer order.
        """
        return [self(w, layer=l, classifier=c) for w, l, c in zip(weights, layers, classifiers, strict=True)]

    def layer_state(self, layer: str, name: str, init: Callable[[], Tensor]) -> Tensor:
        """The tensor ``name`` of ``layer``, made by ``init()`` on first use and kept as a buffer.

        Update it in place (``t.copy_(...)``) to keep the same storage.
        """
        key = f"{layer.replace('.', '/')}:{name}"
        tensor = self._buffers.get(key)
        if tensor is None:
            tensor = init()
            self.register_buffer(key, tensor)
        return tensor

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
        # Per-layer state is created lazily; a fresh objective must still accept a saved one.
        for key, value in state_dict.items():
            name = key[len(prefix) :]
            if key.startswith(prefix) and ":" in name and "." not in name and name not in self._buffers:
                self.register_buffer(name, value.detach().clone())
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


__getattr__ = _deprecation.moved("thomson.objectives.base", {"rows_of": "thomson.functional.rows:weight_rows"})
