"""Every objective that takes ``backend=`` gives the same value and gradient with each backend and tile size.

Objectives are discovered from ``thomson.__all__``, so ones added later are covered once they pass
``backend=`` through to the engine.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import thomson
from thomson import engine

OBJECTIVES = [
    getattr(thomson, name)
    for name in thomson.__all__
    if inspect.isclass(getattr(thomson, name))
    and issubclass(getattr(thomson, name), thomson.Objective)
    and getattr(thomson, name) is not thomson.Objective
    and "backend" in inspect.signature(getattr(thomson, name)).parameters
]
PRESETS = [{}, {"half_space": True}, {"reference": True}, {"half_space": True, "reference": True}]


def evaluate(cls: type, kwargs: dict[str, object], backend: str, weight: torch.Tensor, classifier: bool) -> tuple:
    torch.manual_seed(0)  # objectives with random projections draw the same ones for every backend
    try:
        objective = cls(**kwargs, backend=backend).eval()
    except TypeError:
        pytest.skip(f"{cls.__name__} does not take {sorted(kwargs)}")
    w = weight.clone().requires_grad_()
    torch.manual_seed(1)
    value = objective(w, layer="layer", classifier=classifier)
    (grad,) = torch.autograd.grad(value, w)
    return value.detach(), grad


@pytest.mark.parametrize("cls", OBJECTIVES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kwargs", PRESETS, ids=lambda k: "-".join(k) or "default")
@pytest.mark.parametrize("tile", [5, 16])
@pytest.mark.parametrize("classifier", [False, True])
def test_backends_agree(
    monkeypatch: pytest.MonkeyPatch, cls: type, kwargs: dict[str, object], tile: int, classifier: bool
) -> None:
    weight = torch.randn(37, 4, 3, dtype=torch.float64)  # 37 neurons: tiles of 5 and 16 leave a partial one
    dense = evaluate(cls, kwargs, "dense", weight, classifier)
    monkeypatch.setattr(engine, "tile_rows", lambda device, d: tile)
    for backend in ("streaming", "auto"):
        value, grad = evaluate(cls, kwargs, backend, weight, classifier)
        torch.testing.assert_close(value, dense[0], rtol=1e-11, atol=1e-12)
        torch.testing.assert_close(grad, dense[1], rtol=1e-9, atol=1e-12)
