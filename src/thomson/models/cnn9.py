"""CNN-9: the CIFAR network shared by the MHE, CoMHE and hyperspherical-uniformity reference code."""

from __future__ import annotations

import math

from torch import Tensor, nn


class CNN9(nn.Module):
    """The papers' CIFAR network: nine 3×3 convolutions, a 4×4 "fc6" layer and a linear classifier.

        [conv3×3-BN-ReLU] × 3 (64)  → maxpool → [conv3×3-BN-ReLU] × 3 (128) → maxpool
        → [conv3×3-BN-ReLU] × 3 (256) → maxpool → fc6: 4×4 valid conv 256→256 (no BN, no ReLU)
        → classifier 256 → num_classes

    As in the reference: no biases, BatchNorm with eps 1e-3 and moving average 0.999 (PyTorch momentum
    0.001), He-normal initialization ``N(0, 2/fan_in)``. On a 4×4 input map, fc6 is exactly a ``Linear`` on the
    flattened map and the 1×1 classifier a ``Linear``; they are written so (same weights, same rows), which
    lets :class:`thomson.Regularizer` find the classifier as the last ``Linear``. 11 weight layers in all.

    The reference scales inputs as ``(x - 127.5)/128`` on 0–255 pixels; that belongs to the data pipeline.

    Args:
        num_classes: outputs. Default 100 (CIFAR-100).
        in_channels: input channels. Default 3.

    Example:
        >>> import torch
        >>> CNN9(num_classes=10)(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 100, in_channels: int = 3) -> None:
        super().__init__()
        if num_classes < 1 or in_channels < 1:
            raise ValueError(f"num_classes and in_channels must be >= 1, got {num_classes}, {in_channels}")
        layers: list[nn.Module] = []
        channels = in_channels
        for width in (64, 128, 256):
            for _ in range(3):
                layers += [
                    nn.Conv2d(channels, width, 3, padding=1, bias=False),
                    nn.BatchNorm2d(width, eps=1e-3, momentum=1e-3),
                    nn.ReLU(inplace=True),
                ]
                channels = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.fc6 = nn.Linear(256 * 4 * 4, 256, bias=False)
        self.classifier = nn.Linear(256, num_classes, bias=False)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                nn.init.normal_(module.weight, std=math.sqrt(2.0 / fan_in))

    def forward(self, x: Tensor) -> Tensor:
        logits: Tensor = self.classifier(self.fc6(self.features(x).flatten(1)))
        return logits
