"""Mini-batch classifier MHE (SphereFace+) against loops over the batch and the classes."""

from __future__ import annotations

import math

import pytest
import torch

from thomson.functional import hyperspherical_energy, minibatch_class_energy


def term(a: torch.Tensor, b: torch.Tensor, s: float) -> torch.Tensor:
    """The default-mode Riesz term of two rows, written out."""
    c = (a @ b) / (a.norm() * b.norm()) * (1 - 1e-6)
    z = torch.sqrt(2 - 2 * c)
    return -torch.log(z) if s == 0 else z ** (-s)


def sphereface_plus(w: torch.Tensor, labels: list[int], s: float) -> torch.Tensor:
    """(1/(B (C-1))) Σ_b Σ_{j ≠ y_b} f(z_{y_b j}), sample by sample."""
    c = len(w)
    total = sum(term(w[y], w[j], s) for y in labels for j in range(c) if j != y)
    return total / (len(labels) * (c - 1))  # type: ignore[return-value]


def present_pairs(w: torch.Tensor, labels: list[int], s: float) -> torch.Tensor:
    classes = sorted(set(labels))
    terms = [term(w[a], w[b], s) for i, a in enumerate(classes) for b in classes[i + 1 :]]
    return torch.stack(terms).mean()


@pytest.mark.parametrize("s", [0.0, 2.0])
def test_against_all_is_the_sphereface_plus_term(s: float) -> None:
    w = torch.randn(12, 5, dtype=torch.float64, requires_grad=True)
    labels = [3, 3, 0, 11, 3, 7]
    value = minibatch_class_energy(w, torch.tensor(labels), s)
    expected = sphereface_plus(w, labels, s)
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(torch.autograd.grad(value, w)[0], torch.autograd.grad(expected, w)[0])


def test_against_batch_is_the_energy_of_the_present_classes() -> None:
    w = torch.randn(12, 5, dtype=torch.float64, requires_grad=True)
    labels = [3, 3, 0, 11, 3, 7]
    value = minibatch_class_energy(w, torch.tensor(labels), against="batch")
    expected = present_pairs(w, labels, 2.0)
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(torch.autograd.grad(value, w)[0], torch.autograd.grad(expected, w)[0])


def test_uniform_labels_give_the_full_energy_on_average() -> None:
    # One-sample batches over every class: the average is exactly the classifier's MHE.
    w = torch.randn(9, 4, dtype=torch.float64)
    per_class = torch.stack([minibatch_class_energy(w, torch.tensor([k])) for k in range(9)])
    torch.testing.assert_close(per_class.mean(), hyperspherical_energy(w))


def test_reference_preset_and_gradcheck() -> None:
    w = 0.2 * torch.randn(7, 3, dtype=torch.float64)
    labels = torch.tensor([1, 5, 5])
    value = minibatch_class_energy(w, labels, 0, reference=True)
    # Reference s=0 is -log z² on rows normalized with ε = 1e-4 inside the norm.
    u = w / torch.sqrt((w * w).sum(1, keepdim=True) + 1e-4)
    expected = sum(-torch.log(2 - 2 * u[y] @ u[j]) for y in (1, 5, 5) for j in range(7) if j != y) / (3 * 6)
    torch.testing.assert_close(value, expected)
    x = w.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda z: minibatch_class_energy(z, labels, 1.0), (x,))


def test_degenerate_batches() -> None:
    w = torch.randn(6, 3)
    assert float(minibatch_class_energy(w, torch.tensor([2, 2]), against="batch")) == 0.0
    assert float(minibatch_class_energy(w[:1], torch.tensor([0]))) == 0.0
    assert math.isfinite(float(minibatch_class_energy(w, torch.tensor([2, 2]))))


@pytest.mark.parametrize(
    ("labels", "kwargs", "match"),
    [
        (torch.tensor([0, 6]), {}, "labels"),
        (torch.tensor([-1]), {}, "labels"),
        (torch.tensor([0.0, 1.0]), {}, "labels"),
        (torch.tensor([[0, 1]]), {}, "labels"),
        (torch.tensor([0, 1]), {"against": "others"}, "against"),
    ],
)
def test_bad_arguments_raise(labels: torch.Tensor, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        minibatch_class_energy(torch.randn(6, 3), labels, **kwargs)  # type: ignore[arg-type]
