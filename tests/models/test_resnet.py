from __future__ import annotations

import pytest
import torch
from torch import nn

import thomson
from thomson.models import ResNet, ResNet18


def block_params(c_in: int, c_out: int, projection: bool) -> int:
    """Two 3×3 convs without bias, two BNs (γ, β), and optionally a 1×1 conv + BN shortcut."""
    count = 9 * c_in * c_out + 9 * c_out * c_out + 2 * 2 * c_out
    return count + (c_in * c_out + 2 * c_out if projection else 0)


def resnet_6n2_params(depth: int, classes: int) -> int:
    n = (depth - 2) // 6
    count = 9 * 3 * 16 + 2 * 16  # stem conv + BN
    c_in = 16
    for width in (16, 32, 64):
        for _ in range(n):
            count += block_params(c_in, width, projection=False)  # option A: parameter-free shortcut
            c_in = width
    return count + 64 * classes + classes


@pytest.mark.parametrize(("depth", "published_millions"), [(20, 0.27), (32, 0.46), (56, 0.85)])
def test_resnet_6n2_shape_parameters_and_depth(depth: int, published_millions: float) -> None:
    model = ResNet(depth, num_classes=10)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    count = sum(p.numel() for p in model.parameters())
    assert count == resnet_6n2_params(depth, 10)
    assert abs(count / 1e6 - published_millions) < 0.006  # He et al. 2016, Table 6
    weight_layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weight_layers) == depth


def test_resnet18_shape_and_parameters() -> None:
    model = ResNet18(num_classes=100)
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 100)
    count, c_in = 9 * 3 * 64 + 2 * 64, 64
    for width in (64, 128, 256, 512):
        for _ in range(2):
            count += block_params(c_in, width, projection=c_in != width)
            c_in = width
    count += 512 * 100 + 100
    assert sum(p.numel() for p in model.parameters()) == count
    assert sum(p.numel() for p in ResNet18(num_classes=10).parameters()) == 11_173_962  # the usual CIFAR figure


def test_option_a_shortcut_is_subsampled_identity_padded_with_zeros() -> None:
    torch.manual_seed(0)
    block = ResNet(20).stages[3]  # first block of the 32-channel stage: 16 → 32 channels, stride 2
    for conv in (block.conv1, block.conv2):
        nn.init.zeros_(conv.weight)
    x = torch.randn(2, 16, 8, 8)
    expected = torch.zeros(2, 32, 4, 4)
    for i in range(4):
        for j in range(4):
            expected[:, :16, i, j] = x[:, :, 2 * i, 2 * j]
    torch.testing.assert_close(block(x), torch.relu(expected))


def test_regularizer_finds_convs_and_classifier() -> None:
    reg = thomson.Regularizer(ResNet(20), thomson.MHE())
    assert len(reg.layers) == 20 and reg.classifier == "classifier.weight"


@pytest.mark.parametrize("depth", [18, 21, 2, True])
def test_bad_depth_raises(depth: int) -> None:
    with pytest.raises(ValueError, match="6n \\+ 2"):
        ResNet(depth)
