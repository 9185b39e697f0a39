"""Which layers, and where their neurons are: the one rule that ``Regularizer``, ``thomson inspect`` and the
training log share.

By default a layer is the ``weight`` of a ``Linear``, a ``Conv1d/2d/3d`` or a transformers ``Conv1D`` module: the
neurons whose directions hyperspherical uniformity spreads. Not embeddings (their rows are tokens, not neurons),
nor a weight tied to one (a language model's output layer that shares the input embedding), not norm scales or
biases (1-D), not an objective's own state (poles, projections). ``Regularizer(include=...)`` chooses others.

Each layer type has a :class:`Layout`, the rule that turns its weight into the rows ``[N, D]`` of its ``N``
neurons (:data:`LAYOUTS`): ``weight.flatten(1)`` for ``Linear`` and ``Conv`` (one output channel per row), the
transpose for transformers' ``Conv1D`` (it stores ``[in, out]``). A weight computed by a parametrization
(``torch.nn.utils.parametrize``) or by an old-style ``torch.nn.utils.weight_norm`` / ``spectral_norm`` hook is
taken as the module computes it from its parameters, differentiably. A :class:`Target` is one set of neurons
with its name; its :meth:`Target.rows` is what an objective sees. A tensor shared by several modules (tied
weights) is one target.

With the module at hand (a model), its type decides. A state_dict has no module types, so there the rule reads
the names: a tensor called ``<module>.weight`` with 2 to 5 dims (a Linear or a Conv weight's shape), unless its
module's name says it is an embedding. To inspect with the types, pass the model itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.nn.utils.weight_norm import WeightNorm

LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
"""The torch module types whose ``weight`` is a layer by default (:data:`LAYOUTS` holds every default type)."""


@dataclass(frozen=True)
class Layout:
    """How a layer type stores its neurons: ``rows(weight)`` is the ``[N, D]`` matrix of its ``N`` neurons.

    Example:
        >>> import torch
        >>> COLUMNS.rows(torch.arange(6.0).reshape(2, 3))   # a layer that stores [in, out]
        tensor([[0., 3.],
                [1., 4.],
                [2., 5.]])
    """

    name: str
    rows: Callable[[Tensor], Tensor]


def _flattened(weight: Tensor) -> Tensor:
    return weight.flatten(1)


def _transposed(weight: Tensor) -> Tensor:
    return weight.flatten(1).T


ROWS = Layout("rows", _flattened)
"""Neuron ``i`` is ``weight[i]`` flattened: ``Linear`` ``[out, in]``, ``Conv`` ``[out, in/groups, *kernel]``."""

COLUMNS = Layout("columns", _transposed)
"""Neuron ``j`` is ``weight[:, j]``: transformers' ``Conv1D`` (GPT-2's layers), which stores ``[in, out]``."""

LAYOUTS: dict[type[nn.Module] | str, Layout] = {
    **dict.fromkeys(LAYER_TYPES, ROWS),
    "transformers.pytorch_utils.Conv1D": COLUMNS,
    # pytorch-metric-learning's losses with class weights: ``W`` is [embedding, classes], rows the class centres
    "pytorch_metric_learning.losses.large_margin_softmax_loss.LargeMarginSoftmaxLoss:W": COLUMNS,
    "pytorch_metric_learning.losses.normalized_softmax_loss.NormalizedSoftmaxLoss:W": COLUMNS,
    "pytorch_metric_learning.losses.soft_triple_loss.SoftTripleLoss:fc": COLUMNS,
}
"""The default layer types and their layouts. A key is a module type, or the ``"module.QualName"`` of a class of
an optional package (matched without importing it): the layout of its ``weight``, which is then a default layer.
A key ``"module.QualName:attr"`` gives the layout of another tensor of that class only (it is not a default
layer; ``include=`` selects it). Subclasses inherit their base's entries; add your own with
:func:`register_layout`."""


def register_layout(layer_type: type[nn.Module] | str, layout: Layout) -> None:
    """Make ``layer_type``'s weight a default layer, its neurons read by ``layout``.

    Example:
        >>> class Transposed(nn.Linear): ...       # a layer that stores its weight as [in, out]
        >>> register_layout(Transposed, COLUMNS)
        >>> layout_of(Transposed(2, 3)).name
        'columns'
        >>> del LAYOUTS[Transposed]
    """
    if not isinstance(layout, Layout):
        raise TypeError(f"layout must be a thomson.layers.Layout, got {type(layout).__name__}")
    LAYOUTS[layer_type] = layout


def layout_of(module: nn.Module, attr: str | None = None) -> Layout | None:
    """The layout of ``module``'s tensor ``attr`` when the table names it, else (or without ``attr``) the layout
    of its type's weight if its type is a default layer type, else None."""
    for cls in type(module).__mro__:
        path = f"{cls.__module__}.{cls.__qualname__}"
        layout = LAYOUTS.get(f"{path}:{attr}") if attr is not None else None
        if layout is not None:
            return layout
    for cls in type(module).__mro__:
        layout = LAYOUTS.get(cls) or LAYOUTS.get(f"{cls.__module__}.{cls.__qualname__}")
        if layout is not None:
            return layout
    return None


_HOOKS: dict[type, Callable[[Any, nn.Module], Tensor]] = {
    WeightNorm: lambda hook, module: hook.compute_weight(module),
    SpectralNorm: lambda hook, module: hook.compute_weight(module, do_power_iteration=False),
}
"""Old-style reparametrizations (a forward pre-hook sets ``module.<name>`` from other parameters before each
forward): how to compute the weight from its parameters. Spectral norm divides by the ``σ`` of its stored power
iteration vectors, the value the module's next evaluation-mode forward uses."""

_HOOK_PARTS = {WeightNorm: ("_g", "_v"), SpectralNorm: ("_orig",)}
"""The parameters each old-style reparametrization computes the weight ``<name>`` from (``<name>_g``, ...)."""


def _hooks(module: nn.Module) -> dict[str, Any]:
    """The old-style reparametrization hooks of ``module``, by the name of the weight each computes."""
    hooks: list[Any] = [hook for hook in module._forward_pre_hooks.values() if type(hook) in _HOOKS]
    return {hook.name: hook for hook in hooks}


@dataclass(frozen=True, eq=False)
class Target:
    """One regularized set of neurons: the tensor ``module.<attr>`` read with ``layout``, or one of its ``parts``.

    Attributes:
        name: ``"features.0.weight"``; a part of a split weight adds ``[q]``, ``[k]``, ``[v]`` (or ``[i]``).
        module: the module that holds the tensor.
        attr: the tensor's attribute name, e.g. ``"weight"``.
        layout: how its neurons are stored. Default :data:`ROWS`.
        part: ``(index, count)``: the rows ``[index·N/count, (index+1)·N/count)`` of a fused weight. Default None.
        classifier: whether it is the classifier (full space, ``classifier_coef``). Default False.

    Example:
        >>> conv = nn.Conv2d(3, 8, 3)
        >>> Target("conv.weight", conv, "weight").rows().shape
        torch.Size([8, 27])
    """

    name: str
    module: nn.Module
    attr: str
    layout: Layout = ROWS
    part: tuple[int, int] | None = None
    classifier: bool = False

    def weight(self) -> Tensor:
        """The whole tensor as the module computes it (through a parametrization or an old-style hook)."""
        hook = _hooks(self.module).get(self.attr)
        if hook is not None:
            return _HOOKS[type(hook)](hook, self.module)
        value: Tensor = getattr(self.module, self.attr)
        return value

    def rows(self) -> Tensor:
        """The neurons as rows ``[N, D]``, differentiable in the model's parameters."""
        rows = self.layout.rows(self.weight())
        if self.part is None:
            return rows
        index, count = self.part
        size = rows.shape[0] // count
        return rows[index * size : (index + 1) * size]

    def source(self) -> tuple[int, ...] | tuple[int, str]:
        """What identifies the stored tensor: the Parameter's identity when the module holds one (so modules
        sharing a tied weight give one source), else the module's identity and the attribute."""
        value = self.module._parameters.get(self.attr)
        return (id(value),) if value is not None else (id(self.module), self.attr)


def candidates(model: nn.Module) -> list[Target]:
    """Every tensor with at least 2 dims that a module of ``model`` holds, in model order, once per holder.

    A parametrized weight stands under its plain name (``layer.weight``) and an old-style ``weight_norm`` /
    ``spectral_norm`` weight under its own name, in place of the parameters it is computed from. Each target has
    its module type's layout (:data:`ROWS` for types without one). Tied tensors appear once per module holding
    them (:meth:`Target.source` tells them apart).
    """
    out = []
    for module_name, module in model.named_modules():
        if isinstance(module, parametrize.ParametrizationList):
            continue
        hooks = _hooks(module)
        parts = {name + suffix for name, hook in hooks.items() for suffix in _HOOK_PARTS[type(hook)]}
        attrs = [n for n, p in module.named_parameters(recurse=False) if p.dim() >= 2 and n not in parts]
        if parametrize.is_parametrized(module):
            attrs += [n for n in module.parametrizations if getattr(module, n).dim() >= 2]
        attrs += [n for n in hooks if n not in attrs]
        for attr in attrs:
            layout = layout_of(module, attr) or ROWS
            target = Target(f"{module_name}.{attr}" if module_name else attr, module, attr, layout)
            if attr in hooks and target.weight().dim() < 2:
                continue
            out.append(target)
    return out


def is_layer_weight(name: str, tensor: Tensor, module: nn.Module | None = None) -> bool:
    """Whether the tensor ``name`` (a parameter's dotted name) is a default layer's weight.

    Args:
        name: e.g. ``"features.0.weight"``.
        tensor: the tensor itself.
        module: the module that holds it, when known; then its type decides (:func:`layout_of`). Default None
            (a state_dict).

    Example:
        >>> conv = nn.Conv2d(3, 8, 3)
        >>> is_layer_weight("conv.weight", conv.weight, conv), is_layer_weight("conv.weight", conv.weight)
        (True, True)
        >>> table = nn.Embedding(10, 4)
        >>> is_layer_weight("embed.weight", table.weight, table), is_layer_weight("embed.weight", table.weight)
        (False, False)
    """
    module_name, _, attribute = name.rpartition(".")
    if attribute != "weight":
        return False
    if module is not None:
        return layout_of(module) is not None
    return 2 <= tensor.dim() <= 5 and tensor.is_floating_point() and "embed" not in module_name.lower()


def layer_targets(model: nn.Module) -> list[Target]:
    """The default layers of ``model`` (:func:`is_layer_weight` with the module's type), in model order, each
    tensor once: a tensor shared by several modules is a layer when every module holding it is a layer (so a
    weight tied to an embedding is not), under the first holder's name.

    Example:
        >>> lm = nn.ModuleDict({"embed": nn.Embedding(10, 4), "hidden": nn.Linear(4, 4), "out": nn.Linear(4, 10)})
        >>> lm.out.weight = lm.embed.weight                  # tied to the input embedding: a table of tokens
        >>> [t.name for t in layer_targets(lm)]
        ['hidden.weight']
    """
    holders: dict[object, list[Target]] = {}
    for target in candidates(model):
        holders.setdefault(target.source(), []).append(target)
    return [group[0] for group in holders.values() if all(is_layer_weight(t.name, t.weight(), t.module) for t in group)]


def layer_weights(source: nn.Module | Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The default layers of a model or a state_dict, by name, in order (see :func:`is_layer_weight`): a
    model's as the rows ``[N, D]`` of its neurons (:meth:`Target.rows`), a state_dict's as stored.

    Example:
        >>> model = nn.ModuleDict({"embed": nn.Embedding(10, 4), "fc": nn.Linear(4, 3), "norm": nn.LayerNorm(3)})
        >>> list(layer_weights(model)), list(layer_weights(model.state_dict()))
        (['fc.weight'], ['fc.weight'])
        >>> list(layer_weights(nn.Sequential(nn.Embedding(10, 4)).state_dict()))  # no name, no module: kept
        ['0.weight']
    """
    if isinstance(source, nn.Module):
        return {target.name: target.rows() for target in layer_targets(source)}
    return {name: tensor for name, tensor in source.items() if is_layer_weight(name, tensor)}


__all__ = [
    "COLUMNS",
    "LAYER_TYPES",
    "LAYOUTS",
    "ROWS",
    "Layout",
    "Target",
    "candidates",
    "is_layer_weight",
    "layer_targets",
    "layer_weights",
    "layout_of",
    "register_layout",
]
