from __future__ import annotations

import math

import pytest
import torch

import thomson
from thomson.models import MLP


def test_output_shape_parameter_count_and_classifier() -> None:
    model = MLP(64, 10, hidden=(512, 256))
    assert model(torch.zeros(7, 1, 8, 8)).shape == (7, 10)
    assert sum(p.numel() for p in model.parameters()) == (64 * 512 + 512) + (512 * 256 + 256) + (256 * 10 + 10)
    reg = thomson.Regularizer(model, thomson.MHE())
    assert reg.layers == ["features.0.weight", "features.2.weight", "classifier.weight"]
    assert reg.classifier == "classifier.weight"


def test_no_hidden_layer_and_no_bias() -> None:
    model = MLP(5, 3, hidden=(), bias=False)
    assert sum(p.numel() for p in model.parameters()) == 15
    x = torch.randn(4, 5)
    torch.testing.assert_close(model(x), x @ model.classifier.weight.T)


def test_he_normal_initialization() -> None:
    torch.manual_seed(0)
    model = MLP(400, 10, hidden=(600,))
    w = model.features[0].weight
    assert abs(w.std().item() / math.sqrt(2 / 400) - 1) < 0.02
    assert torch.count_nonzero(model.features[0].bias) == 0


@pytest.mark.parametrize("bad", [{"in_features": 0}, {"hidden": (8, 0)}, {"num_classes": 2.5}])
def test_bad_sizes_raise(bad: dict[str, object]) -> None:
    args: dict[str, object] = {"in_features": 4, "num_classes": 3, "hidden": (8,), **bad}
    with pytest.raises(ValueError, match="must be integers"):
        MLP(**args)  # type: ignore[arg-type]
