from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from thomson.train.loss import smoothed_cross_entropy


def reference_loss(logits: list[list[float]], labels: list[int], smoothing: float, eps: float) -> float:
    """The authors' loss2, as loops in float64: −Σ_k q_k log(softmax_k + eps), q = (1−ε)·onehot + ε/K."""
    total = 0.0
    for z, y in zip(logits, labels, strict=True):
        top = max(z)
        denominator = sum(math.exp(v - top) for v in z)
        k = len(z)
        for j, v in enumerate(z):
            q = (1 - smoothing) * (j == y) + smoothing / k
            total -= q * math.log(math.exp(v - top) / denominator + eps)
    return total / len(labels)


def test_reference_loss_matches_a_float64_loop() -> None:
    torch.manual_seed(0)
    logits = torch.randn(6, 5, dtype=torch.float64) * 4
    labels = torch.randint(0, 5, (6,))
    value = smoothed_cross_entropy(logits, labels, smoothing=0.01, prob_eps=1e-4)
    assert math.isclose(float(value), reference_loss(logits.tolist(), labels.tolist(), 0.01, 1e-4), rel_tol=1e-12)


def test_without_eps_it_is_torch_cross_entropy() -> None:
    torch.manual_seed(1)
    logits, labels = torch.randn(8, 10, dtype=torch.float64), torch.randint(0, 10, (8,))
    torch.testing.assert_close(
        smoothed_cross_entropy(logits, labels, 0.1), F.cross_entropy(logits, labels, label_smoothing=0.1)
    )
    assert math.isclose(
        float(smoothed_cross_entropy(logits, labels, 0.1)), reference_loss(logits.tolist(), labels.tolist(), 0.1, 0.0)
    )


def test_eps_bounds_the_loss_of_a_confident_mistake() -> None:
    logits, labels = torch.tensor([[100.0, -100.0]]), torch.tensor([1])
    assert float(smoothed_cross_entropy(logits, labels, 0.0, 1e-4)) <= -math.log(1e-4) + 1e-6
    assert float(smoothed_cross_entropy(logits, labels, 0.0)) > 100


def test_gradcheck() -> None:
    logits = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 3, 1])
    assert torch.autograd.gradcheck(lambda z: smoothed_cross_entropy(z, labels, 0.01, 1e-4), (logits,))
