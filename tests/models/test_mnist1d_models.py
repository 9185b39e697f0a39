"""The MNIST-1D paper's MLP and CNN: shapes, published parameter counts, a brute-force reference, the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import thomson
from thomson.models import CNN1D, MLP1D, build_model


def conv1d_loops(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """Cross-correlation by loops, float64: out[b, o, t] = bias[o] + Σ_c Σ_k w[o, c, k]·x_pad[b, c, s·t + k]."""
    batch, channels, length = x.shape
    out_channels, _, kernel = weight.shape
    padded = np.zeros((batch, channels, length + 2 * padding))
    padded[:, :, padding : padding + length] = x
    out_length = (length + 2 * padding - kernel) // stride + 1
    out = np.zeros((batch, out_channels, out_length))
    for b in range(batch):
        for o in range(out_channels):
            for t in range(out_length):
                total = bias[o]
                for c in range(channels):
                    for k in range(kernel):
                        total += weight[o, c, k] * padded[b, c, stride * t + k]
                out[b, o, t] = total
    return out


def test_cnn_matches_the_paper_network_computed_by_loops() -> None:
    torch.manual_seed(0)
    model = CNN1D(width=4).double()
    x = torch.randn(2, 1, 40, dtype=torch.float64)
    h = x.numpy()
    for conv in (model.conv1, model.conv2, model.conv3):
        h = np.maximum(conv1d_loops(h, conv.weight.detach().numpy(), conv.bias.detach().numpy(), 2, 1), 0)
    assert h.shape == (2, 4, 5)  # lengths 40 → 19 → 10 → 5, as the paper's "linear_in = 125" for 25 channels
    w, b = model.classifier.weight.detach().numpy(), model.classifier.bias.detach().numpy()
    expected = h.reshape(2, -1) @ w.T + b
    assert np.allclose(model(x).detach().numpy(), expected, atol=1e-12)
    assert torch.equal(model(x), model(x[:, 0]))  # [B, L] gets one channel


def test_mlp_is_the_paper_residual_network() -> None:
    torch.manual_seed(0)
    model = MLP1D().double()
    x = torch.randn(3, 1, 40, dtype=torch.float64)
    w1, b1 = model.linear1.weight.detach().numpy(), model.linear1.bias.detach().numpy()
    w2, b2 = model.linear2.weight.detach().numpy(), model.linear2.bias.detach().numpy()
    w3, b3 = model.classifier.weight.detach().numpy(), model.classifier.bias.detach().numpy()
    h1 = np.maximum(x.numpy().reshape(3, 40) @ w1.T + b1, 0)
    h2 = np.maximum(h1 @ w2.T + b2, 0)
    assert np.allclose(model(x).detach().numpy(), (h1 + h2) @ w3.T + b3, atol=1e-12)
    model.residual = False
    assert np.allclose(model(x).detach().numpy(), h2 @ w3.T + b3, atol=1e-12)


def test_parameter_counts_are_the_published_ones() -> None:
    # The paper's notebook prints "ConvBase model with 5210 parameters" and "MLPBase model with 15210 parameters".
    assert sum(p.numel() for p in CNN1D().parameters()) == 5210
    assert sum(p.numel() for p in MLP1D().parameters()) == 15210


def test_registry_builds_them_with_a_width_option() -> None:
    cnn = build_model("CNN1D", 10, (1, 40), width=100)
    assert isinstance(cnn, CNN1D) and cnn.conv2.weight.shape == (100, 100, 3) and cnn.classifier.in_features == 500
    assert build_model("cnn1d", 3, (2, 33))(torch.zeros(4, 2, 33)).shape == (4, 3)
    mlp = build_model("mlp1d", 10, (1, 40), width=32)
    assert isinstance(mlp, MLP1D) and mlp.linear2.weight.shape == (32, 32)
    assert mlp(torch.zeros(5, 40)).shape == (5, 10)
    with pytest.raises(ValueError, match="cnn1d needs 1-D signals"):
        build_model("cnn1d", 10, (1, 8, 8))
    with pytest.raises(ValueError, match="bad option for model 'cnn1d'"):
        build_model("cnn1d", 10, (1, 40), hidden=[3])
    with pytest.raises(ValueError, match="width must be an integer >= 1"):
        CNN1D(width=0)
    with pytest.raises(ValueError, match="length must be an integer >= 3"):
        CNN1D(length=2)


def test_the_regularizer_sees_three_convolutions_and_the_classifier() -> None:
    reg = thomson.Regularizer(CNN1D(), thomson.MHE())
    assert reg.layers == ["conv1.weight", "conv2.weight", "conv3.weight", "classifier.weight"]
    assert reg.classifier == "classifier.weight"
    assert thomson.Regularizer(MLP1D(), thomson.MHE()).layers == [
        "linear1.weight",
        "linear2.weight",
        "classifier.weight",
    ]


def test_initialization_follows_the_seed() -> None:
    torch.manual_seed(3)
    a = CNN1D()
    torch.manual_seed(3)
    b = CNN1D()
    torch.manual_seed(4)
    c = CNN1D()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.conv1.weight, c.conv1.weight)
    bound = 1 / np.sqrt(5)  # PyTorch's default: U(±1/√fan_in), fan_in = 1·5 for conv1
    assert float(a.conv1.weight.detach().abs().max()) <= bound and float(a.conv1.bias.detach().abs().max()) <= bound
