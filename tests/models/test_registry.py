from __future__ import annotations

import pytest
import torch

from thomson.models import CNN1D, CNN9, MLP, MLP1D, MODELS, ResNet, ResNet18, build_model


def test_every_name_builds_the_right_class() -> None:
    expected = {"mlp": MLP, "cnn9": CNN9, "resnet18": ResNet18, "mlp1d": MLP1D, "cnn1d": CNN1D}
    for name in MODELS:
        signal = name in ("mlp1d", "cnn1d")  # the MNIST-1D networks take (channels, length) signals
        model = build_model(name.upper(), 7, (1, 40) if signal else (3, 32, 32))
        assert isinstance(model, expected.get(name, ResNet))
        if isinstance(model, ResNet) and not isinstance(model, ResNet18):
            assert model.depth == int(name.removeprefix("resnet"))


def test_options_and_input_shape_reach_the_model() -> None:
    model = build_model("mlp", 10, (1, 8, 8), hidden=[32])
    assert isinstance(model, MLP) and model.features[0].in_features == 64
    assert build_model("resnet20", 10, (1, 8, 8))(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="unknown model 'vgg'; available: mlp, cnn9"):
        build_model("vgg", 10, (3, 32, 32))
    with pytest.raises(ValueError, match="32×32"):
        build_model("cnn9", 10, (1, 8, 8))
    with pytest.raises(ValueError, match="image inputs"):
        build_model("resnet20", 10, (64,))
    with pytest.raises(ValueError, match="bad option for model 'mlp'"):
        build_model("mlp", 10, (64,), width=3)
