"""Which tensors a Regularizer takes, and as which rows: old-style weight/spectral norm, tied weights, D = 1
layers, selectors that match nothing, depthwise convolutions, fused q/k/v weights, and the default classifier.
Values are checked against the objective applied to tensors computed here independently."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils import spectral_norm, weight_norm

import thomson


def mhe(rows: torch.Tensor, half_space: bool = False) -> float:
    return float(thomson.functional.hyperspherical_energy(rows.detach().double(), 2, half_space=half_space))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def old_style(kind: str, layer: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch deprecates these in favour of parametrizations
        return weight_norm(layer) if kind == "weight_norm" else spectral_norm(layer)


@pytest.mark.parametrize("kind", ["weight_norm", "spectral_norm"])
def test_old_style_reparametrized_weights_are_regularized_as_computed(kind: str) -> None:
    model = nn.Sequential(old_style(kind, nn.Linear(5, 6)), nn.ReLU(), nn.Linear(6, 3))
    reg = thomson.Regularizer(model, thomson.SO(), coef=1.0, classifier_coef=1.0)
    assert reg.layers == ["0.weight", "2.weight"]
    assert thomson.Regularizer(model, thomson.SO(), include="0.weight").layers == ["0.weight"]
    layer = model[0]
    with torch.no_grad():  # change the parameters without a forward: the stale ``weight`` attribute must not count
        raw = layer.weight_v if kind == "weight_norm" else layer.weight_orig
        raw.add_(torch.randn_like(raw)).mul_(torch.linspace(0.5, 2, 6)[:, None])
        if kind == "weight_norm":
            layer.weight_g.mul_(torch.linspace(2, 0.5, 6)[:, None])
    if kind == "weight_norm":  # w_i = g_i v_i / |v_i|
        effective = layer.weight_g * layer.weight_v / layer.weight_v.norm(dim=1, keepdim=True)
    else:  # W / σ with σ = uᵀ W v from the stored power-iteration vectors
        effective = layer.weight_orig / torch.dot(layer.weight_u, layer.weight_orig @ layer.weight_v)
    assert not torch.allclose(effective, layer.weight)
    total = reg()
    expected = thomson.SO()(effective) + thomson.SO()(model[2].weight)  # SO depends on the scale too
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    total.backward()
    raw = [layer.weight_g, layer.weight_v] if kind == "weight_norm" else [layer.weight_orig]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in raw)


def test_a_weight_shared_by_two_layers_is_regularized_once() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    model[2].weight = model[0].weight
    reg = thomson.Regularizer(model, thomson.MHE(), coef=1.0, classifier=None)
    assert reg.layers == ["0.weight", "4.weight"]
    assert reg().item() == pytest.approx(mhe(model[0].weight) + mhe(model[4].weight), rel=1e-6)
    assert thomson.Regularizer(model, thomson.MHE(), include=["0", "2"]).layers == ["0.weight"]
    assert thomson.Regularizer(model, thomson.MHE(), include="2").layers == ["2.weight"]


class TiedLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.hidden = nn.Linear(8, 8)
        self.decoder = nn.Linear(8, 50)
        self.decoder.weight = self.embed.weight


def test_a_weight_tied_to_an_embedding_is_neither_a_layer_nor_the_classifier() -> None:
    model = TiedLM()
    reg = thomson.Regularizer(model, thomson.MHE())
    assert reg.layers == ["hidden.weight"] and reg.classifier is None
    asked = thomson.Regularizer(model, thomson.MHE(), include=[nn.Embedding, nn.Linear], coef=1.0)
    assert asked.layers == ["embed.weight", "hidden.weight"] and asked.classifier is None  # the table once
    assert asked().item() == pytest.approx(mhe(model.embed.weight) + mhe(model.hidden.weight), rel=1e-6)
    named = thomson.Regularizer(model, thomson.MHE(), include=["embed", "hidden"], classifier="decoder")
    assert named.layers == ["embed.weight", "hidden.weight"] and named.classifier == "embed.weight"  # when asked


def test_layers_with_one_input_are_left_out_with_a_warning_unless_named() -> None:
    model = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Conv1d(32, 8, 1), nn.Flatten(), nn.Linear(8, 3))
    with pytest.warns(UserWarning, match=r"\['0\.weight'\] are left out.*D = 1.*include="):
        reg = thomson.Regularizer(model, thomson.MHE())
    assert reg.layers == ["2.weight", "4.weight"]  # a 1×1 conv of 32 channels has D = 32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert thomson.Regularizer(model, thomson.MHE(), include=["0", "4"]).layers == ["0.weight", "4.weight"]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"include": ["0", "nope"]}, "'nope'"),
        ({"include": nn.Conv2d}, "Conv2d"),
        ({"exclude": "head*"}, "'head\\*'"),
    ],
)
def test_a_selector_that_matches_nothing_is_an_error_listing_the_weights(kwargs: dict[str, object], named: str) -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    with pytest.raises(ValueError, match=rf"{named}.*matches none.*\['0\.weight', '2\.weight'\]"):
        thomson.Regularizer(model, thomson.MHE(), **kwargs)  # type: ignore[arg-type]


def test_depthwise_convolutions_can_be_left_out() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 1), nn.Conv2d(8, 8, 3, groups=8), nn.Conv2d(8, 8, 3, groups=2))
    assert thomson.Regularizer(model, thomson.MHE()).layers == ["0.weight", "1.weight", "2.weight"]
    kept = thomson.Regularizer(model, thomson.MHE(), depthwise=False).layers
    assert kept == ["0.weight", "2.weight"]  # a grouped conv with 4 input channels per group stays
    with pytest.raises(TypeError, match="depthwise"):
        thomson.Regularizer(model, thomson.MHE(), depthwise="no")  # type: ignore[arg-type]


class Attention(nn.Module):
    def __init__(self, dim: int = 6) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)


def test_a_fused_qkv_weight_splits_into_three_sets_of_neurons() -> None:
    model = nn.ModuleDict({"attn": Attention(), "head": nn.Linear(6, 4)})
    reg = thomson.Regularizer(model, thomson.MHE(), coef=1.0, classifier_coef=1.0, split_qkv=True)
    assert reg.layers == [*(f"attn.qkv.weight[{p}]" for p in "qkv"), "attn.proj.weight", "head.weight"]
    assert reg.classifier == "head.weight"
    w = model["attn"].qkv.weight
    expected = [mhe(w[:6]), mhe(w[6:12]), mhe(w[12:]), mhe(model["attn"].proj.weight), mhe(model["head"].weight)]
    assert reg().item() == pytest.approx(sum(expected), rel=1e-6)
    assert list(reg.stats.values()) == pytest.approx(expected, rel=1e-6)
    unsplit = thomson.Regularizer(model, thomson.MHE(), coef=1.0, classifier_coef=1.0)
    assert unsplit.layers[0] == "attn.qkv.weight" and unsplit().item() == pytest.approx(
        mhe(w) + sum(expected[3:]), rel=1e-6
    )
    reg().backward()
    assert w.grad is not None and bool((w.grad.abs().sum(1) > 0).all())


def test_split_qkv_takes_selectors_and_rejects_what_is_not_fused() -> None:
    mha = nn.ModuleDict({"attention": nn.MultiheadAttention(6, 2), "out": nn.Linear(6, 2)})
    reg = thomson.Regularizer(mha, thomson.MHE(), include=["*in_proj_weight", "out"], split_qkv="*in_proj_weight")
    assert reg.layers[:3] == [f"attention.in_proj_weight[{p}]" for p in "qkv"]
    assert reg.stats == {} and reg().item() > 0
    w = mha["attention"].in_proj_weight
    assert reg.stats["attention.in_proj_weight[k]"] == pytest.approx(mhe(w[6:12]), rel=1e-6)
    with pytest.raises(ValueError, match=r"'out\.weight' has 2 neurons, not a multiple of 3"):
        thomson.Regularizer(mha, thomson.MHE(), include=["*in_proj_weight", "out"], split_qkv="out")
    with pytest.raises(ValueError, match=r"split_qkv 'nope' matches none"):
        thomson.Regularizer(mha, thomson.MHE(), split_qkv="nope")


class Declared(nn.Module):
    """A model that declares its head the way timm models do (``get_classifier`` / ``pretrained_cfg``)."""

    def __init__(self, head: nn.Module, how: str) -> None:
        super().__init__()
        self.features = nn.Conv2d(3, 8, 3)
        self.fc = head
        self.embed_proj = nn.Linear(8, 8)  # the model's last Linear: not its classifier
        if how == "cfg":
            self.pretrained_cfg = {"classifier": "fc"}

    def get_classifier(self) -> nn.Module:  # only used when how == "method"
        return self.fc


@pytest.mark.parametrize("how", ["method", "cfg"])
def test_a_declared_head_is_the_classifier_and_none_is_guessed_without_one(how: str) -> None:
    conv_head = Declared(nn.Conv2d(8, 5, 1), how)
    if how == "cfg":
        conv_head.get_classifier = None  # type: ignore[method-assign,assignment]
    reg = thomson.Regularizer(conv_head, thomson.MHE(half_space=True), coef=1.0, classifier_coef=1.0)
    assert reg.classifier == "fc.weight"
    w = conv_head.fc.weight.flatten(1)
    assert reg.stats == {} and reg().item() == pytest.approx(
        mhe(conv_head.features.weight.flatten(1), True) + mhe(w) + mhe(conv_head.embed_proj.weight, True), rel=1e-6
    )
    headless = Declared(nn.Identity(), how)
    if how == "cfg":
        headless.get_classifier = None  # type: ignore[method-assign,assignment]
    assert thomson.Regularizer(headless, thomson.MHE()).classifier is None


def test_the_last_linear_is_the_classifier_only_when_it_is_regularized() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 3))
    assert thomson.Regularizer(model, thomson.MHE()).classifier == "4.weight"
    assert thomson.Regularizer(model, thomson.MHE(), exclude="4").classifier is None  # no hidden layer promoted
    assert thomson.Regularizer(model, thomson.MHE(), classifier="2").classifier == "2.weight"
