"""Fixtures of the integration tests: each stack's package imported once per test module, on CPU, offline.

torchvision: the package index of this project's machines has only CUDA builds of torchvision, whose compiled
operators do not load beside the CPU build of torch; ``import torchvision`` then fails in
``torchvision/_meta_registrations.py`` ("operator torchvision::nms does not exist"), and timm, transformers'
``Trainer`` and Lightning (through torchmetrics) all import torchvision. The integrations never call torchvision's
operators, so :func:`torchvision_importable` declares the schemas of the two operators that module registers
fake kernels for, and the rest of torchvision (pure Python) imports as usual. Only when the real import fails:
with a working torchvision nothing is changed. This stays in the tests; the package never touches torchvision.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no download, ever: models are built from configs
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

_TORCHVISION_OPS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_libraries: list[torch.library.Library] = []  # kept alive: dropping a Library removes its definitions


def _make_torchvision_importable() -> None:
    try:
        importlib.import_module("torchvision")
    except ImportError:
        return  # not installed: nothing to do
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        library = torch.library.Library("torchvision", "DEF")
        for schema in _TORCHVISION_OPS:
            library.define(schema)
        _libraries.append(library)
        importlib.import_module("torchvision")


@pytest.fixture(scope="session")
def torchvision_importable() -> None:
    """torchvision (imported by timm, transformers' Trainer and Lightning) importable on this machine."""
    _make_torchvision_importable()


def _stack(module: str) -> ModuleType:
    return importlib.import_module(module)


@pytest.fixture(scope="module")
def pl(torchvision_importable: None) -> ModuleType:
    """``lightning.pytorch``."""
    return _stack("lightning.pytorch")


@pytest.fixture(scope="module")
def transformers(torchvision_importable: None) -> Iterator[ModuleType]:
    """``transformers``, its logging quiet."""
    package = _stack("transformers")
    package.logging.set_verbosity_error()
    yield package


@pytest.fixture(scope="module")
def timm(torchvision_importable: None) -> ModuleType:
    return _stack("timm")


@pytest.fixture(scope="module")
def pml(torchvision_importable: None) -> ModuleType:
    """``pytorch_metric_learning``."""
    _stack("pytorch_metric_learning.losses")
    return _stack("pytorch_metric_learning")
