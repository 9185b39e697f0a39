"""``torch.compile(fullgraph=True)`` of the default Regularizer: traced whole, the eager values, no recompilation.

Cost on a 2-core CPU: each ``aot_eager`` case (Dynamo and AOTAutograd, no code generation) a few seconds; the
Inductor case (``slow``) tens of seconds.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import thomson

OBJECTIVES = {
    "mhe": lambda: thomson.MHE(s=2, half_space=True),
    "mhs": lambda: thomson.MHS(),
    "comhe": lambda: thomson.CoMHE("random", dim=4, num_projections=3, seed=0),
    "mgd": lambda: thomson.MGD(),
}


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 3), nn.Flatten(), nn.Linear(32, 16), nn.Linear(16, 4)
    ).double()


def compare(name: str, backend: str, steps: int = 3) -> None:
    """Eager and compiled regularizers on twin models, step by step: values, gradients, stats, step counters."""
    torch._dynamo.reset()
    eager_model = tiny_model()
    compiled_model = copy.deepcopy(eager_model)
    eager = thomson.Regularizer(eager_model, OBJECTIVES[name]())
    compiled = torch.compile(thomson.Regularizer(compiled_model, OBJECTIVES[name]()), backend=backend, fullgraph=True)
    for step in range(steps):
        with torch._dynamo.config.patch(error_on_recompile=step > 0):  # the step counter and draws change nothing
            value = compiled()
        expected = eager()
        torch.testing.assert_close(value, expected, rtol=1e-10, atol=1e-12)
        value.backward()
        expected.backward()
        for a, b in zip(compiled_model.parameters(), eager_model.parameters(), strict=True):
            if b.grad is not None:
                torch.testing.assert_close(a.grad, b.grad, rtol=1e-9, atol=1e-12)
                a.grad = b.grad = None
    assert compiled.stats == pytest.approx(eager.stats, rel=1e-10)
    assert int(compiled.step) == int(eager.step) == steps


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_default_regularizer_compiles_whole(name: str) -> None:
    compare(name, "aot_eager")


@pytest.mark.slow
def test_default_regularizer_compiles_with_inductor() -> None:
    compare("mhe", "inductor", steps=2)


def test_a_non_finite_value_is_an_error_naming_the_layer_in_the_graph() -> None:
    torch._dynamo.reset()
    model = tiny_model()
    with torch.no_grad():
        model[3].weight[0, 0] = float("nan")
    compiled = torch.compile(thomson.Regularizer(model, thomson.MHE()), backend="aot_eager", fullgraph=True)
    with pytest.raises(RuntimeError, match=r"'3\.weight'"):
        compiled()
