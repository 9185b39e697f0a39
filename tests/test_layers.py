"""The one rule for "which layers", shared by Regularizer, thomson inspect and the training log."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrizations

import thomson
from thomson.inspection import inspect_checkpoint
from thomson.layers import is_layer_weight, layer_weights
from thomson.train.layer_energy import layer_sizes


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.conv1 = nn.Conv1d(8, 6, 3)
        self.conv2 = nn.Conv2d(1, 4, 3)
        self.conv3 = nn.Conv3d(1, 2, 2)
        self.norm = nn.LayerNorm(6)
        self.bn = nn.BatchNorm1d(6)
        self.attention = nn.MultiheadAttention(6, 2)
        self.head = parametrizations.weight_norm(nn.Linear(6, 5))


def test_with_modules_the_type_decides() -> None:
    net = Net()
    expected = ["conv1.weight", "conv2.weight", "conv3.weight", "attention.out_proj.weight", "head.weight"]
    assert list(layer_weights(net)) == expected
    assert thomson.Regularizer(net, thomson.MHE()).layers == sorted(expected, key=expected.index)
    assert list(layer_sizes(net)) == expected
    assert not is_layer_weight("embed.weight", net.embed.weight, net.embed)
    assert not is_layer_weight("conv1.bias", net.conv1.bias, net.conv1)


def test_a_state_dict_is_read_by_name_and_shape() -> None:
    net = Net()
    names = list(layer_weights(net.state_dict()))
    # no embedding (by name), no 1-D norm scale, no in_proj_weight (not called weight), no weight_norm's parts
    assert names == ["conv1.weight", "conv2.weight", "conv3.weight", "attention.out_proj.weight"]


def test_inspect_leaves_out_embeddings_and_objective_state() -> None:
    torch.manual_seed(0)
    model = nn.ModuleDict({"embedding": nn.Embedding(30, 16), "fc": nn.Linear(16, 12), "out": nn.Linear(12, 3)})
    reg = thomson.Regularizer(model, thomson.CoMHE("angle", dim=4, seed=0))
    reg()  # creates the per-layer projections, buffers of the regularizer
    state = {**model.state_dict(), **{f"reg.{k}": v for k, v in reg.state_dict().items()}}
    assert any(":projection" in k for k in state)
    names = [r.name for r in inspect_checkpoint(state, solver_limit=0)]
    assert names == ["fc.weight", "out.weight"] == [r.name for r in inspect_checkpoint(model, solver_limit=0)]
    assert names == reg.layers
