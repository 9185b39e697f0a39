"""Models of this package by name, for the command line and config files: the registry :data:`MODELS` and
:func:`build_model`.

Register a builder ``(num_classes, input_shape, **options) -> nn.Module`` with ``@MODELS.register("name")``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from thomson.models.cnn9 import CNN9
from thomson.models.mlp import MLP
from thomson.models.mnist1d import CNN1D, MLP1D
from thomson.models.resnet import ResNet, ResNet18
from thomson.registry import Registry

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")
"""Model name → builder ``(num_classes, input_shape, **options) -> nn.Module``."""


def _image(name: str, shape: Sequence[int]) -> Sequence[int]:
    if len(shape) != 3:
        raise ValueError(f"model {name!r} needs image inputs (channels, height, width), got {tuple(shape)}")
    return shape


@MODELS.register("mlp")
def _mlp(num_classes: int, shape: Sequence[int], **options: Any) -> nn.Module:
    return MLP(math.prod(shape), num_classes, **options)


@MODELS.register("cnn9")
def _cnn9(num_classes: int, shape: Sequence[int], **options: Any) -> nn.Module:
    if tuple(_image("cnn9", shape)[1:]) != (32, 32):
        raise ValueError(f"cnn9 needs 32×32 images (its fc6 is a 4×4 conv on the last map), got input {tuple(shape)}")
    return CNN9(num_classes, in_channels=shape[0], **options)


def _resnet(depth: int) -> Callable[..., nn.Module]:
    def build(num_classes: int, shape: Sequence[int], **options: Any) -> nn.Module:
        return ResNet(depth, num_classes, in_channels=_image(f"resnet{depth}", shape)[0], **options)

    build.__qualname__ = f"_resnet{depth}"
    return build


for _depth in (20, 32, 56, 110):
    MODELS.add(f"resnet{_depth}", _resnet(_depth))


@MODELS.register("resnet18")
def _resnet18(num_classes: int, shape: Sequence[int], **options: Any) -> nn.Module:
    return ResNet18(num_classes, in_channels=_image("resnet18", shape)[0], **options)


@MODELS.register("mlp1d")
def _mlp1d(num_classes: int, shape: Sequence[int], **options: Any) -> nn.Module:
    return MLP1D(math.prod(shape), num_classes, **options)


@MODELS.register("cnn1d")
def _cnn1d(num_classes: int, shape: Sequence[int], **options: Any) -> nn.Module:
    if len(shape) not in (1, 2):
        raise ValueError(f"cnn1d needs 1-D signals (channels, length) or (length,), got input {tuple(shape)}")
    return CNN1D(num_classes, in_channels=1 if len(shape) == 1 else shape[0], length=shape[-1], **options)


def build_model(name: str, num_classes: int, input_shape: Sequence[int], **options: Any) -> nn.Module:
    """The model ``name`` for inputs of ``input_shape`` (without the batch dim) and ``num_classes`` outputs.

    Image models need ``input_shape = (channels, height, width)``, ``cnn1d`` ``(channels, length)``; the MLPs
    flatten any shape. ``options`` are keyword arguments of the model's class (e.g. ``hidden=[256, 256]`` for
    the MLP, ``width=100`` for ``mlp1d`` and ``cnn1d``).

    Args:
        name: one of :data:`MODELS` (case-insensitive): ``mlp``, ``cnn9``, ``resnet20/32/56/110``, ``resnet18``,
            ``mlp1d``, ``cnn1d`` (the MNIST-1D paper's networks); or an import path ``module:builder``.
        num_classes: outputs.
        input_shape: one input's shape, e.g. ``(64,)`` or ``(3, 32, 32)``.
        options: keyword arguments of the model.

    Example:
        >>> build_model("mlp", 10, (64,), hidden=[32]).classifier
        Linear(in_features=32, out_features=10, bias=True)
    """
    builder = MODELS.get(name)
    try:
        model: nn.Module = builder(num_classes, tuple(input_shape), **options)
    except TypeError as error:  # an option the model does not take
        raise ValueError(f"bad option for model {name!r}: {error}") from error
    return model
