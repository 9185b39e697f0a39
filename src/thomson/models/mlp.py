"""MLP: a fully connected ReLU network for small inputs (digits, synthetic data)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from torch import Tensor, nn


class MLP(nn.Module):
    """A multilayer perceptron on flattened inputs: ``[Linear → ReLU] × len(hidden) → Linear``.

        h_0 = flatten(x),   h_k = relu(W_k h_(k-1) + b_k),   logits = W_out h_L + b_out

    He-normal initialization ``N(0, 2/fan_in)`` and zero biases, as the papers' networks. The last ``Linear``
    is the classifier that :class:`thomson.Regularizer` finds by default.

    Args:
        in_features: size of a flattened input.
        num_classes: outputs.
        hidden: widths of the hidden layers. Default ``(512, 512)``.
        bias: give every layer a bias. Default True.

    Example:
        >>> import torch
        >>> MLP(64, 10, hidden=(32,))(torch.zeros(5, 8, 8)).shape
        torch.Size([5, 10])
    """

    def __init__(
        self, in_features: int, num_classes: int, hidden: Sequence[int] = (512, 512), *, bias: bool = True
    ) -> None:
        super().__init__()
        widths = [in_features, *hidden, num_classes]
        if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise ValueError(
                f"in_features, num_classes and hidden widths must be integers >= 1, got {in_features}, "
                f"{num_classes}, {list(hidden)}"
            )
        layers: list[nn.Module] = []
        for fan_in, fan_out in itertools.pairwise(widths[:-1]):
            layers += [nn.Linear(fan_in, fan_out, bias=bias), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(widths[-2], num_classes, bias=bias)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=math.sqrt(2.0 / module.in_features))
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        logits: Tensor = self.classifier(self.features(x.flatten(1)))
        return logits
