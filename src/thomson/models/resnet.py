"""CIFAR ResNets: the 6n+2 family of He et al. (ResNet-20/32/56/110) and the common CIFAR ResNet-18."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

Shortcut = Literal["a", "b"]


class _BasicBlock(nn.Module):
    """``relu(BN(conv3×3(relu(BN(conv3×3(x))))) + shortcut(x))``.

    Shortcut ``"a"``: identity, subsampled and zero-padded in channels when the shape changes (no parameters);
    ``"b"``: a 1×1 convolution with BN when the shape changes.
    """

    def __init__(self, in_planes: int, planes: int, stride: int, shortcut: Shortcut) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride, self.pad = stride, planes - in_planes
        self.shortcut_type = shortcut
        self.shortcut = nn.Sequential()
        if shortcut == "b" and (stride != 1 or in_planes != planes):
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut_type == "a" and (self.stride != 1 or self.pad):
            identity = F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.pad))
        else:
            identity = self.shortcut(x)
        return F.relu(out + identity)


class _CifarResNet(nn.Module):
    """Stem conv3×3-BN-ReLU, stages of basic blocks, global average pooling, linear classifier."""

    def __init__(
        self,
        blocks: Sequence[int],
        widths: Sequence[int],
        num_classes: int,
        in_channels: int,
        shortcut: Shortcut,
    ) -> None:
        super().__init__()
        if num_classes < 1 or in_channels < 1:
            raise ValueError(f"num_classes and in_channels must be >= 1, got {num_classes}, {in_channels}")
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()
        )
        stages: list[nn.Module] = []
        in_planes = widths[0]
        for index, (count, width) in enumerate(zip(blocks, widths, strict=True)):
            stride = 1 if index == 0 else 2
            for b in range(count):
                stages.append(_BasicBlock(in_planes, width, stride if b == 0 else 1, shortcut))
                in_planes = width
        self.stages = nn.Sequential(*stages)
        self.classifier = nn.Linear(in_planes, num_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(module.weight, std=math.sqrt(2.0 / module.weight[0].numel()))
            if isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        features = torch.flatten(F.adaptive_avg_pool2d(self.stages(self.stem(x)), 1), 1)
        logits: Tensor = self.classifier(features)
        return logits


class ResNet(_CifarResNet):
    """A CIFAR ResNet of depth ``6n + 2`` (He et al. 2016, section 4.2): ResNet-20, 32, 44, 56, 110.

        conv3×3(16) → n blocks (16) → n blocks (32, stride 2) → n blocks (64, stride 2) → avgpool → Linear

    with basic blocks of two 3×3 conv-BN layers and the paper's parameter-free shortcut (option A: identity,
    subsampled and zero-padded in channels where the shape changes). ResNet-20 has 0.27 M parameters for 10
    classes. He-normal initialization ``N(0, 2/fan_in)``, zero classifier bias.

    Args:
        depth: ``6n + 2`` with ``n >= 1``. Default 20.
        num_classes: outputs. Default 10.
        in_channels: input channels. Default 3.

    Example:
        >>> import torch
        >>> ResNet(20, num_classes=100)(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 100])
    """

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3) -> None:
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110), got {depth!r}")
        n = (depth - 2) // 6
        super().__init__((n, n, n), (16, 32, 64), num_classes, in_channels, "a")
        self.depth = depth


class ResNet18(_CifarResNet):
    """The CIFAR ResNet-18 common in the literature: ResNet-18 with a 3×3 stem and no max-pooling.

        conv3×3(64) → 2 blocks (64) → 2 (128, /2) → 2 (256, /2) → 2 (512, /2) → avgpool → Linear

    Basic blocks with 1×1 conv-BN projection shortcuts where the shape changes (option B); 11.17 M parameters
    for 10 classes. He-normal initialization ``N(0, 2/fan_in)``, zero classifier bias.

    Args:
        num_classes: outputs. Default 10.
        in_channels: input channels. Default 3.

    Example:
        >>> import torch
        >>> ResNet18(num_classes=10)(torch.zeros(1, 3, 32, 32)).shape
        torch.Size([1, 10])
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__((2, 2, 2, 2), (64, 128, 256, 512), num_classes, in_channels, "b")
