"""The classification loss of the papers: cross-entropy with label smoothing, optionally on ``softmax + ε``."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def smoothed_cross_entropy(logits: Tensor, target: Tensor, smoothing: float = 0.0, prob_eps: float = 0.0) -> Tensor:
    """Mean cross-entropy against smoothed one-hot labels.

        q = (1 − smoothing)·onehot(y) + smoothing/K,   loss = mean_batch( −Σ_k q_k log(softmax(z)_k + prob_eps) )

    ``prob_eps = 0`` is PyTorch's ``cross_entropy(label_smoothing=smoothing)``. The papers' code uses
    ``smoothing = 0.01`` and ``prob_eps = 1e-4`` (it adds 1e-4 to the softmax without renormalizing, which
    bounds each log term by ``log 1e-4`` and the loss's gradient for confident mistakes).

    Args:
        logits: ``[B, K]``.
        target: class indices ``[B]``.
        smoothing: label smoothing in ``[0, 1)``. Default 0.
        prob_eps: added to the probabilities before the log. Default 0.

    Example:
        >>> logits, y = torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([0])
        >>> ours = smoothed_cross_entropy(logits, y, smoothing=0.01)
        >>> bool(torch.isclose(ours, F.cross_entropy(logits, y, label_smoothing=0.01)))
        True
    """
    if prob_eps == 0:
        return F.cross_entropy(logits, target, label_smoothing=smoothing)
    k = logits.shape[1]
    q = torch.full_like(logits, smoothing / k).scatter_add_(
        1, target[:, None], torch.full((len(target), 1), 1.0 - smoothing, dtype=logits.dtype, device=logits.device)
    )
    log_p = torch.log(torch.softmax(logits, dim=1) + prob_eps)
    return -(q * log_p).sum(1).mean()
