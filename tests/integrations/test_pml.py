"""thomson.integrations.pml against the real pytorch-metric-learning: the rows are the class centres, the value is
the objective's classifier value times ``classifier_coef``, and ``Regularizer`` reads ``W`` the same way."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch

import thomson
from thomson.functional import hyperspherical_energy

EMBEDDINGS = torch.randn(16, 8, generator=torch.Generator().manual_seed(4))
LABELS = torch.randint(0, 20, (16,), generator=torch.Generator().manual_seed(5))


def arcface(pml: ModuleType, regularizer: torch.nn.Module | None) -> torch.nn.Module:
    torch.manual_seed(0)
    return pml.losses.ArcFaceLoss(num_classes=20, embedding_size=8, weight_regularizer=regularizer)


@pytest.mark.parametrize("half_space", [False, True])
def test_the_weight_regularizer_sees_class_centres_as_a_classifier(pml: ModuleType, half_space: bool) -> None:
    from thomson.integrations.pml import WeightRegularizer

    regularized = arcface(pml, WeightRegularizer(thomson.MHE(s=2, half_space=half_space)))
    plain = arcface(pml, None)
    assert regularized.W.shape == (8, 20) and torch.equal(regularized.W, plain.W)  # PML stores [embedding, classes]
    added = regularized(EMBEDDINGS, LABELS) - plain(EMBEDDINGS, LABELS)
    centres = regularized.W.detach().T.double()  # 20 rows; full space whatever half_space says
    assert added.item() == pytest.approx(10 * float(hyperspherical_energy(centres, 2)), rel=1e-5)
    added.backward()
    assert regularized.W.grad is not None


def test_coef_state_and_the_sphereface_plus_term(pml: ModuleType) -> None:
    from thomson.integrations.pml import WeightRegularizer

    loss_fn = arcface(pml, WeightRegularizer(thomson.MHP(), coef=2.0))
    loss = loss_fn(EMBEDDINGS, LABELS) + 10 * thomson.minibatch_class_energy(loss_fn.W.T, LABELS)
    loss.backward()
    assert "weight_regularizer.objective.classes:poles" in loss_fn.state_dict()
    with pytest.raises(TypeError, match="number"):
        WeightRegularizer(thomson.MHE(), coef=lambda step: 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="objective"):
        WeightRegularizer(torch.nn.Identity())  # type: ignore[arg-type]


def test_a_regularizer_of_the_loss_reads_w_as_class_centres(pml: ModuleType) -> None:
    loss_fn = arcface(pml, None)
    reg = thomson.Regularizer(loss_fn, thomson.MHE(s=2), include="W", classifier="W")
    assert reg.layers == ["W"] and reg.classifier == "W"
    assert reg.targets[0].rows().shape == (20, 8)
    expected = 10 * float(hyperspherical_energy(loss_fn.W.detach().T.double(), 2))
    assert reg().item() == pytest.approx(expected, rel=1e-5)
