"""The helper both training-framework callbacks use: the regularizer's gradient in the scale of the gradients
already there, checked with a real ``torch.amp.GradScaler`` on CPU."""

from __future__ import annotations

import torch
from torch import nn

import thomson
from thomson.integrations._gradient import add_gradient, gradient_scale, holds_regularized


def test_before_unscaling_the_regularizer_is_scaled_and_after_it_is_not() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    reg = thomson.Regularizer(model, thomson.MHE())
    thomson.Regularizer(model, thomson.MHE())().backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    for unscale_first in (False, True):
        model.zero_grad()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
        scaler.scale(model(torch.randn(4, 5)).sum() * 0).backward()  # scaled (zero) task gradients
        if unscale_first:
            scaler.unscale_(optimizer)
        scale = gradient_scale(scaler, optimizer)
        assert scale == (1.0 if unscale_first else 2.0**10)
        add_gradient(reg, step=7, scale=scale)
        assert int(reg.step) == 8
        if not unscale_first:
            scaler.unscale_(optimizer)
        for name, grad in expected.items():
            torch.testing.assert_close(model.get_parameter(name).grad, grad, rtol=1e-6, atol=1e-8)
    assert gradient_scale(torch.amp.GradScaler("cpu", enabled=False), optimizer) == 1.0
    assert holds_regularized(reg, optimizer)
    assert not holds_regularized(reg, torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=0.1))
