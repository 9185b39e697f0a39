"""Regularizer on real timm models (random init, nothing downloaded): the classifier is the head the model
declares, conv heads included, none without a head; depthwise convolutions and fused qkv weights on request."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch

import thomson


def create(timm: ModuleType, name: str, **options: object) -> torch.nn.Module:
    torch.manual_seed(0)
    model: torch.nn.Module = timm.create_model(name, pretrained=False, **options)
    return model


@pytest.mark.parametrize(
    ("name", "options", "classifier"),
    [
        ("resnet18", {"num_classes": 10}, "fc.weight"),
        ("resnet18", {"num_classes": 0}, None),
        ("convnext_atto", {"num_classes": 10}, "head.fc.weight"),
        ("vit_tiny_patch16_224", {"num_classes": 10, "img_size": 32}, "head.weight"),
        ("vit_tiny_patch16_224", {"num_classes": 0, "img_size": 32}, None),  # blocks.11.mlp.fc2 is not guessed
        ("dla46_c", {"num_classes": 10}, "fc.weight"),  # a 1×1 convolution
    ],
)
def test_the_classifier_is_the_declared_head(
    timm: ModuleType, name: str, options: dict[str, object], classifier: str | None
) -> None:
    model = create(timm, name, **options)
    reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True))
    assert reg.classifier == classifier
    if classifier is not None:
        head = next(t for t in reg.targets if t.classifier)
        assert head.rows().shape[0] == 10 and head.module is model.get_classifier()


def test_depthwise_and_qkv_options_on_timm_models(timm: ModuleType) -> None:
    convnext = create(timm, "convnext_atto", num_classes=10)
    everything = thomson.Regularizer(convnext, thomson.MHE()).layers
    pointwise = thomson.Regularizer(convnext, thomson.MHE(), depthwise=False).layers
    dropped = sorted(set(everything) - set(pointwise))
    assert dropped and all("conv_dw" in name for name in dropped)
    assert all(convnext.get_submodule(n.rsplit(".", 1)[0]).weight.shape[1] == 1 for n in dropped)
    vit = create(timm, "vit_tiny_patch16_224", num_classes=10, img_size=32)
    split = thomson.Regularizer(vit, thomson.MHE(), split_qkv=True)
    assert [n for n in split.layers if n.startswith("blocks.0.attn.qkv")] == [
        f"blocks.0.attn.qkv.weight[{p}]" for p in "qkv"
    ]
    value = split()
    rows = vit.blocks[0].attn.qkv.weight.detach().double()  # [3·192, 192]: q, k, v blocks of output neurons
    expected = float(thomson.functional.hyperspherical_energy(rows[192:384], 2))
    assert split.stats["blocks.0.attn.qkv.weight[k]"] == pytest.approx(expected, rel=1e-6)
    assert bool(torch.isfinite(value))
