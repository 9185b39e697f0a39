import torch

import thomson
from thomson.models import CNN9


def test_cnn9_shape_and_parameter_count() -> None:
    model = CNN9(num_classes=100)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 100)
    convs = 9 * (3 * 64 + 64 * 64 * 2 + 64 * 128 + 128 * 128 * 2 + 128 * 256 + 256 * 256 * 2)
    bn = 2 * 3 * (64 + 128 + 256)
    assert sum(p.numel() for p in model.parameters()) == convs + bn + 4096 * 256 + 256 * 100


def test_cnn9_has_eleven_weight_layers_and_he_init() -> None:
    torch.manual_seed(0)
    model = CNN9(num_classes=100)
    reg = thomson.Regularizer(model, thomson.MHE())
    assert len(reg.layers) == 11 and reg.classifier == "classifier.weight"
    for name in reg.layers:
        w = dict(model.named_parameters())[name]
        expected_std = (2.0 / w[0].numel()) ** 0.5
        assert abs(w.std().item() / expected_std - 1) < 0.05, name
    bn = model.features[1]
    assert isinstance(bn, torch.nn.BatchNorm2d) and bn.eps == 1e-3 and bn.momentum == 1e-3


def test_reference_energies_at_initialization_match_spec() -> None:
    """docs/reference-code.md: half-space s=2 over the 10 hidden layers ≈ 5.01, classifier ≈ 0.502 (mean of 5 seeds)."""
    hidden, classifier = [], []
    for seed in range(5):
        torch.manual_seed(seed)
        reg = thomson.Regularizer(CNN9(num_classes=100), thomson.MHE(s=2, half_space=True, reference=True))
        with torch.no_grad():
            reg()
        stats = reg.stats
        classifier.append(stats.pop("classifier.weight"))
        hidden.append(sum(stats.values()))
    assert abs(sum(hidden) / 5 / 5.01 - 1) < 0.01
    assert abs(sum(classifier) / 5 / 0.502 - 1) < 0.01
