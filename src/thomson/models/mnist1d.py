"""The MNIST-1D paper's networks (Greydanus 2020): a small residual MLP and a three-layer 1-D CNN."""

from __future__ import annotations

from torch import Tensor, nn

from thomson._validate import integer


class MLP1D(nn.Module):
    """The MNIST-1D paper's MLP, 40-100-100-10 with ReLU and, as in the paper's code, a skip around layer 2.

        h_1 = relu(W_1 x + b_1),   h_2 = h_1 + relu(W_2 h_1 + b_2)  (residual=True),   logits = W_3 h_2 + b_3

    With ``residual=False``, ``h_2 = relu(W_2 h_1 + b_2)``. PyTorch's default initialization (uniform,
    ``±1/√fan_in`` for weights and biases), as the paper's code. Inputs are flattened, so ``[B, 40]`` and
    ``[B, 1, 40]`` both work. Layers: ``linear1``, ``linear2`` and ``classifier`` (the last ``Linear``, which
    :class:`thomson.Regularizer` finds as the classifier).

    Args:
        in_features: length of a flattened input. Default 40.
        num_classes: outputs. Default 10.
        width: width of both hidden layers. Default 100.
        residual: add ``h_1`` to the second layer's output. Default True.

    Example:
        >>> import torch
        >>> MLP1D()(torch.zeros(5, 1, 40)).shape
        torch.Size([5, 10])
    """

    def __init__(
        self, in_features: int = 40, num_classes: int = 10, width: int = 100, *, residual: bool = True
    ) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("num_classes", num_classes), ("width", width)):
            integer(name, value, low=1)
        self.linear1 = nn.Linear(in_features, width)
        self.linear2 = nn.Linear(width, width)
        self.classifier = nn.Linear(width, num_classes)
        self.residual = residual

    def forward(self, x: Tensor) -> Tensor:
        h = self.linear1(x.flatten(1)).relu()
        h2 = self.linear2(h).relu()
        logits: Tensor = self.classifier(h + h2 if self.residual else h2)
        return logits


def _conv(in_channels: int, out_channels: int, kernel: int, length: int) -> tuple[nn.Conv1d, int]:
    """A stride-2, padding-1 convolution (the paper's) and its output length ``⌊(L + 2 − k)/2⌋ + 1``."""
    return nn.Conv1d(in_channels, out_channels, kernel, stride=2, padding=1), (length + 2 - kernel) // 2 + 1


class CNN1D(nn.Module):
    """The MNIST-1D paper's CNN: three 1-D convolutions with ReLU, then a linear classifier on the flattened map.

        conv1: k5 s2 p1 (in → w) → ReLU → conv2: k3 s2 p1 (w → w) → ReLU → conv3: k3 s2 p1 (w → w) → ReLU
        → flatten → classifier: Linear(w·L_3 → num_classes)

    ``w = 25`` and ``L = 40`` give lengths 19, 10, 5 and 5,210 parameters, the paper's network. Biases
    everywhere and PyTorch's default initialization (uniform, ``±1/√fan_in``), as the paper's code. Takes
    ``[B, C, L]`` or ``[B, L]`` (one channel added).

    Args:
        num_classes: outputs. Default 10.
        in_channels: input channels. Default 1.
        length: input length ``L``; at least 3. Default 40.
        width: channels of every convolution. Default 25.

    Example:
        >>> import torch
        >>> model = CNN1D()
        >>> model(torch.zeros(2, 40)).shape, sum(p.numel() for p in model.parameters())
        (torch.Size([2, 10]), 5210)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, length: int = 40, width: int = 25) -> None:
        super().__init__()
        values = (("num_classes", num_classes, 1), ("in_channels", in_channels, 1), ("length", length, 3))
        for name, value, low in (*values, ("width", width, 1)):
            integer(name, value, low=low)
        self.conv1, out = _conv(in_channels, width, 5, length)
        self.conv2, out = _conv(width, width, 3, out)
        self.conv3, out = _conv(width, width, 3, out)
        self.classifier = nn.Linear(width * out, num_classes)
        self.in_channels = in_channels

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2 and self.in_channels == 1:
            x = x.unsqueeze(1)
        h = self.conv3(self.conv2(self.conv1(x).relu()).relu()).relu()
        logits: Tensor = self.classifier(h.flatten(1))
        return logits
