"""Several row sets in one autograd node: the stack of sets of one ``N`` (padding with zero coordinates) and its
gradient, ``pairwise_sums`` against the definition for each set, and ``MHE.forward_many`` against one ``forward``
per layer."""

from __future__ import annotations

import pytest
import torch

import thomson
from thomson.engine import Normalization, pairwise_sum, pairwise_sums
from thomson.engine.batches import stack_rows
from thomson.engine.streaming import streaming_pairwise_sum
from thomson.kernels import Kernel, Riesz


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


def _brute_force(x: torch.Tensor, kernel: Kernel, half_space: bool) -> torch.Tensor:
    """The definition: every unordered pair of the explicit points ([x; -x] in half space), in a Python loop."""
    points = torch.cat([x, -x]) if half_space else x
    return sum(
        (kernel.value(points[i] @ points[j]) for i in range(len(points)) for j in range(i + 1, len(points))),
        x.sum() * 0.0,  # a set with no pair: 0, with a zero gradient
    )


# Several widths of one N (stacked, padded), another N, half and full space, an N = 1 set (no pair in full space),
# a set larger than a tile, and an order in which the passes do not follow the sets (the output is put back in order).
SETS = [(6, 3), (9, 4), (6, 7), (1, 5), (6, 3), (40, 2), (9, 2)]
HALF = [True, False, True, False, False, True, False]


@pytest.mark.parametrize("backend", ["auto", "dense"])
def test_pairwise_sums_is_each_sets_own_sum_and_gradient(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    monkeypatch.setattr(thomson.engine, "tile_rows", lambda device, d: 16)  # the 40-row set in tiles
    thomson.engine._cached_plan.cache_clear()  # plans made with the real tile size
    passes: list[tuple[int, ...]] = []
    run = thomson.engine.streaming_pairwise_sums
    monkeypatch.setattr(
        thomson.engine,
        "streaming_pairwise_sums",
        lambda sets, kernel, groups, **kw: passes.extend(g.members for g in groups) or run(sets, kernel, groups, **kw),
    )
    gen = torch.Generator().manual_seed(2)
    sets = [torch.randn(s, dtype=torch.float64, generator=gen, requires_grad=True) for s in SETS]
    weights = [1.0 / (n + 2 * h) for (n, _), h in zip(SETS, HALF, strict=True)]  # as a mean's: one per (N, space)
    kernel, norm = Riesz(s=1.5, contraction=1e-6), Normalization(reference=True)
    values = pairwise_sums(sets, kernel, half_space=HALF, weights=weights, normalize=norm, backend=backend)  # type: ignore[arg-type]
    assert values.shape == (len(sets),)
    assert sorted(passes) == [(0, 2), (1, 6), (3,), (4,), (5,)]  # not in the sets' order
    probe = torch.randn(len(sets), dtype=torch.float64, generator=gen)
    grads = torch.autograd.grad(values @ probe, sets)
    for b, x in enumerate(sets):
        expected = weights[b] * _brute_force(norm.normalize(x), kernel, HALF[b])
        (expected_grad,) = torch.autograd.grad(expected * probe[b], x)
        torch.testing.assert_close(values[b], expected, rtol=1e-11, atol=1e-12)
        torch.testing.assert_close(grads[b], expected_grad, rtol=1e-10, atol=1e-12)


def test_pairwise_sums_gradcheck_retained_graph_and_second_derivatives() -> None:
    gen = torch.Generator().manual_seed(3)
    sets = tuple(torch.randn(s, dtype=torch.float64, generator=gen, requires_grad=True) for s in SETS[:4])
    kernel = Riesz(s=2, contraction=1e-6)

    def f(*xs: torch.Tensor) -> torch.Tensor:  # sets 0 and 2 (N = 6, half space, weight 1) share a stacked pass
        return pairwise_sums(xs, kernel, half_space=HALF[:4], weights=[1.0, 2.0, 1.0, 4.0], normalize=Normalization())

    assert torch.autograd.gradcheck(f, sets)
    assert torch.autograd.gradgradcheck(f, sets)
    values = f(*sets)
    first = torch.autograd.grad(values.sum(), sets, retain_graph=True)
    again = torch.autograd.grad(values.sum(), sets)  # the gradients were handed over: recomputed, the same
    for a, b in zip(first, again, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0.0)


def test_pairwise_sums_keeps_each_sets_dtype() -> None:
    sets = [torch.randn(5, 3, requires_grad=True), torch.randn(5, 4, dtype=torch.float64, requires_grad=True)]
    values = pairwise_sums(sets, Riesz(s=2), half_space=[False, False], weights=[1.0, 1.0], normalize=Normalization())
    assert values.dtype == torch.float64
    values.sum().backward()
    assert [x.grad.dtype for x in sets if x.grad is not None] == [torch.float32, torch.float64]
    alone = pairwise_sum(sets[0].detach(), Riesz(s=2), normalize=Normalization())
    torch.testing.assert_close(values[0].float(), alone, rtol=1e-6, atol=0.0)


@pytest.mark.parametrize(
    ("sets", "flags", "weights", "match"),
    [
        ([], [], [], "at least one set"),
        ([torch.ones(3, 2)], [False, True], [1.0], "one half_space flag and one weight per set"),
        ([torch.ones(2, 3, 2)], [False], [1.0], r"shape \[N, D\]"),
    ],
)
def test_pairwise_sums_refuses_what_it_cannot_evaluate(
    sets: list[torch.Tensor], flags: list[bool], weights: list[float], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        pairwise_sums(sets, Riesz(s=2), half_space=flags, weights=weights)


@pytest.mark.parametrize("half_space", [False, True])
def test_a_batch_larger_than_a_tile_is_evaluated_by_slices_with_each_sets_own_value(half_space: bool) -> None:
    # 7 sets of 5 rows: 175 cosines against a tile of 6 × 6, so by slices of one set (and of 2 with a tile of 8).
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(7, 5, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    kernel, norm = Riesz(s=1.0, contraction=1e-6), Normalization()
    probe = torch.randn(7, dtype=torch.float64, generator=gen)
    expected = torch.stack([_brute_force(norm.normalize(x[b]), kernel, half_space) for b in range(7)])
    (expected_grad,) = torch.autograd.grad(expected @ probe, x)
    for tile in (6, 8):
        values = streaming_pairwise_sum(x, kernel, half_space=half_space, tile=tile, normalize=norm)
        (grad,) = torch.autograd.grad(values @ probe, x)
        torch.testing.assert_close(values, expected.detach(), rtol=1e-11, atol=1e-12)
        torch.testing.assert_close(grad, expected_grad, rtol=1e-10, atol=1e-12)
