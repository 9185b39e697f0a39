"""The interface every objective implements, and the per-layer auxiliary state some of them keep."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
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

    state_names: ClassVar[tuple[str, ...]] = ()
    """The names of the per-layer state this objective keeps (``layer_state(layer, name, ...)``), e.g. MHP's
    ``("poles", "pole_momentum")``. Strict ``load_state_dict`` accepts a per-layer key only with one of these
    names, so another objective's state or a made-up key is refused."""

    def forward(self, weight: Tensor, *, layer: str = "", classifier: bool = False) -> Tensor:
        raise NotImplementedError

    def forward_many(self, weights: Sequence[Tensor], *, layers: Sequence[str], classifiers: Sequence[bool]) -> Tensor:
        """The objective of several layers, ``[L]``: ``forward(w, layer=l, classifier=c)`` of each, stacked (on the
        first layer's device), which it is by default.

        :class:`thomson.Regularizer` evaluates all its layers with one call. An objective that can evaluate several
        layers together overrides it (MHE evaluates them all in one autograd node); each value must be what
        ``forward`` gives for that layer, with the same side effects (state, random draws) in layer order.
        """
        values = [self(w, layer=l, classifier=c) for w, l, c in zip(weights, layers, classifiers, strict=True)]
        return torch.stack([v.to(values[0].device) for v in values])

    def layer_state(self, layer: str, name: str, init: Callable[[], Tensor]) -> Tensor:
        """The tensor ``name`` (one of :attr:`state_names`) of ``layer``, made by ``init()`` on first use and kept
        as a buffer.

        Update it in place (``t.copy_(...)``) to keep the same storage.
        """
        if name not in self.state_names:
            raise ValueError(
                f"{type(self).__name__} keeps per-layer state {name!r} but does not declare it: add it to the class "
                f"attribute state_names (now {self.state_names})"
            )
        key = f"{layer.replace('.', '/')}:{name}"
        tensor = self._buffers.get(key)
        if tensor is None:
            tensor = init()
            self.register_buffer(key, tensor)
        return tensor

    def check_layer_state(self, name: str, tensor: Tensor) -> str | None:
        """Why a saved ``tensor`` cannot be this objective's per-layer state ``name`` (None when it can): the sizes
        the objective's settings fix (MHP's number of poles, CoMHE's projected dimension). Called on loading a
        state_dict; subclasses with per-layer state override it."""
        return None

    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        metadata = getattr(destination, "_metadata", None)
        if metadata is not None:  # which objective wrote the state: another one's state is refused on loading
            metadata.setdefault(prefix[:-1], {})[_KIND] = type(self).__name__

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
        kind = local_metadata.get(_KIND, type(self).__name__)
        if strict and kind != type(self).__name__:
            where = f"the state under {prefix[:-1]!r}" if prefix else "the state"
            error_msgs.append(
                f"{where} was saved by objective {kind}, not {type(self).__name__}: load it into {kind}, "
                "or start this objective afresh"
            )
            return
        # Per-layer state is created lazily; a fresh objective must still accept a saved one.
        refused = []
        for key, value in state_dict.items():
            name = key[len(prefix) :]
            if not key.startswith(prefix) or ":" not in name or "." in name or name in self._buffers:
                continue
            state = name.rpartition(":")[2]
            if state not in self.state_names:
                continue  # not this objective's: strict loading reports it as unexpected
            problem = (
                f"must be a floating-point tensor, got {type(value).__name__} {getattr(value, 'dtype', '')}".rstrip()
                if not isinstance(value, Tensor) or not value.is_floating_point()
                else self.check_layer_state(state, value)
            )
            if problem is not None:
                error_msgs.append(f"size mismatch for {key}: {type(self).__name__}'s {state!r} {problem}")
                refused.append(key)
                continue
            self.register_buffer(name, value.detach().clone())
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        unexpected_keys[:] = [key for key in unexpected_keys if key not in refused]  # reported above


_KIND = "thomson_objective"
"""The key of a state_dict's metadata that names the objective class that saved it."""


__getattr__ = _deprecation.moved("thomson.objectives.base", {"rows_of": "thomson.functional.rows:weight_rows"})
