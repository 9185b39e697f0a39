"""Row sets of one ``N`` stacked into one engine pass: the stack (padding with zero coordinates) and its gradient,
and ``MHE.forward_many`` against one ``forward`` per layer."""

from __future__ import annotations

import pytest
import torch

import thomson
from thomson.engine.batches import stack_rows


def test_stack_rows_pads_with_zero_coordinates_and_passes_gradients_back() -> None:
    gen = torch.Generator().manual_seed(0)
    rows = [torch.randn(4, d, dtype=torch.float64, generator=gen, requires_grad=True) for d in (3, 5, 1)]
    stacked = stack_rows(rows)
    expected = torch.zeros(3, 4, 5, dtype=torch.float64)
    for b, r in enumerate(rows):
        expected[b, :, : r.shape[1]] = r.detach()
    assert torch.equal(stacked.detach(), expected)
    assert torch.autograd.gradcheck(lambda *r: stack_rows(r).square().sum(), tuple(rows))
    assert torch.autograd.gradgradcheck(lambda *r: stack_rows(r).pow(3).sum(), tuple(rows))


@pytest.mark.parametrize("reference", [False, True])
def test_forward_many_equals_one_forward_per_layer(reference: bool) -> None:
    gen = torch.Generator().manual_seed(1)
    shapes = [(25, 1, 5), (25, 25, 3), (25, 25, 3), (10, 125)]  # the MNIST-1D CNN: one N, three widths
    weights = [torch.randn(s, dtype=torch.float64, generator=gen, requires_grad=True) for s in shapes]
    classifiers = [False, False, False, True]
    mhe = thomson.MHE(s=2, half_space=True, reference=reference)
    together = mhe.forward_many(weights, layers=["a", "b", "c", "d"], classifiers=classifiers)
    grads = torch.autograd.grad(sum(v * (i + 1) for i, v in enumerate(together)), weights)
    for i, (w, classifier) in enumerate(zip(weights, classifiers, strict=True)):
        alone = mhe(w, classifier=classifier)
        torch.testing.assert_close(together[i], alone, rtol=1e-12, atol=0.0)
        (grad,) = torch.autograd.grad(alone * (i + 1), w)
        torch.testing.assert_close(grads[i], grad, rtol=1e-11, atol=1e-14)
