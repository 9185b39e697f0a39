"""Which layers: the one rule that ``Regularizer``, ``thomson inspect`` and the training log share.

By default a layer is the ``weight`` of a ``Linear`` or ``Conv1d/2d/3d`` module: the neurons whose directions
hyperspherical uniformity spreads. Not embeddings (their rows are tokens, not neurons), not norm scales or
biases (1-D), not an objective's own state (poles, projections). ``Regularizer(include=...)`` chooses others.

With the module at hand (a model), its type decides. A state_dict has no module types, so there the rule reads
the names: a tensor called ``<module>.weight`` with 2 to 5 dims (a Linear or a Conv weight's shape), unless its
module's name says it is an embedding. To inspect with the types, pass the model itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
"""The module types whose ``weight`` is a layer by default."""


def is_layer_weight(name: str, tensor: Tensor, module: nn.Module | None = None) -> bool:
    """Whether the tensor ``name`` (a parameter's dotted name) is a default layer's weight.

    Args:
        name: e.g. ``"features.0.weight"``.
        tensor: the tensor itself.
        module: the module that holds it, when known; then its type decides. Default None (a state_dict).

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
        return isinstance(module, LAYER_TYPES)
    return 2 <= tensor.dim() <= 5 and tensor.is_floating_point() and "embed" not in module_name.lower()


def layer_weights(source: nn.Module | Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The default layers' weights of a model or a state_dict, by name, in order (see :func:`is_layer_weight`).

    Example:
        >>> model = nn.ModuleDict({"embed": nn.Embedding(10, 4), "fc": nn.Linear(4, 3), "norm": nn.LayerNorm(3)})
        >>> list(layer_weights(model)), list(layer_weights(model.state_dict()))
        (['fc.weight'], ['fc.weight'])
        >>> list(layer_weights(nn.Sequential(nn.Embedding(10, 4)).state_dict()))  # no name, no module: kept
        ['0.weight']
    """
    if isinstance(source, nn.Module):
        return {
            f"{module_name}.weight" if module_name else "weight": module.weight
            for module_name, module in source.named_modules()
            if isinstance(getattr(module, "weight", None), Tensor)
            and is_layer_weight(f"{module_name}.weight", module.weight, module)
        }
    return {name: tensor for name, tensor in source.items() if is_layer_weight(name, tensor)}


__all__ = ["LAYER_TYPES", "is_layer_weight", "layer_weights"]
