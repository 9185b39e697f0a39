"""The baseline of the benchmarks: a straightforward PyTorch port of the MHE reference formula.

What every public port does (and what the authors' TensorFlow code computes, docs/reference-code.md, "MHE"): neurons as
columns, the full ``M×M`` Gram matrix (``M = 2N`` for half space: the neurons and their negations), ``ε = 1e-4``
inside the norm, the pair term on every entry, the strict upper triangle kept by a mask, the mean over
``M(M-1)/2`` pairs, gradients by autograd through all of it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def reference_mhe(weight: Tensor, power: str = "2", half_space: bool = False) -> Tensor:
    """MHE of ``weight`` ([N, ...], neurons on dim 0) as the reference formula, ``power`` in 0, 1, 2, a0, a1, a2."""
    filt = weight.flatten(1).T  # [D, N]: neurons as columns
    if half_space:
        filt = torch.cat([filt, -filt], dim=1)
    m = filt.shape[1]
    norm = torch.sqrt((filt * filt).sum(0, keepdim=True) + 1e-4)
    inner = (filt.T @ filt) / (norm.T @ norm)
    if power.startswith("a"):
        angle = torch.acos(inner) / math.pi + 1e-4
        final = -torch.log(angle) if power == "a0" else angle.pow(-float(power[1]))
    else:
        cross = 2.0 - 2.0 * inner + torch.eye(m, dtype=inner.dtype, device=inner.device)
        final = -torch.log(cross) if power == "0" else cross.pow(-float(power) / 2)
    final = final - torch.tril(final)
    return final.sum() / (m * (m - 1) / 2)


def reference_regularizer(model: nn.Module, half_space: bool = True, power: str = "2") -> Tensor:
    """The reference training loss term: every Conv1d/Conv2d/Linear weight, the last Linear as the classifier
    (coefficient 10, full space), hidden layers coefficient 1 (half space when asked)."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))]
    total = torch.zeros((), device=layers[0].weight.device)
    for layer in layers[:-1]:
        total = total + reference_mhe(layer.weight, power, half_space)
    return total + 10.0 * reference_mhe(layers[-1].weight, power, False)
