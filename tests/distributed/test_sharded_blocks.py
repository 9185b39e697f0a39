"""The pieces of the sharded energies, in one process: the ring's schedule, the engine's block entry points, a
single process (with and without a process group), and the errors."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator

import pytest
import torch
import torch.distributed as dist
from torch import nn

import thomson
import thomson.distributed as td
from thomson.distributed.ring import ring_steps
from thomson.engine.chosen_rows import row_block_sums
from thomson.engine.streaming import diagonal_block, off_diagonal_block
from thomson.kernels import Gaussian, Kernel, Riesz


def rows(n: int, d: int = 6, seed: int = 0) -> torch.Tensor:
    """Norms in [0.5, 0.95]: no cosine of a row with itself at the clamp of ±1 (see the engine's tests)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    return x * (0.5 + 0.45 * torch.rand(n, 1, generator=g, dtype=torch.float64))


def brute_force(x: torch.Tensor, kernel: Kernel, half_space: bool) -> torch.Tensor:
    points = torch.cat([x, -x]) if half_space else x
    i, j = torch.triu_indices(len(points), len(points), offset=1)
    return kernel.value((points[i] * points[j]).sum(1)).sum()


@pytest.mark.parametrize("world", range(1, 10))
def test_ring_evaluates_every_block_pair_once(world: int) -> None:
    """Every unordered pair of ranks: its value counted once, and each of its two ranks gets its gradient once
    (computed there, or sent back by the rank that owns the pair, at the step where that rank is the source)."""
    counted: Counter[frozenset[int]] = Counter()
    gradients: Counter[tuple[int, int]] = Counter()  # (rank, other): rank has its gradient for the pair
    for rank in range(world):
        for step in ring_steps(rank, world):
            assert step.source == (rank - step.k) % world and step.partner == (rank + step.k) % world
            if not step.shared or rank < step.partner:
                counted[frozenset((rank, step.partner))] += 1
            gradients[rank, step.partner] += 1  # its own side, computed here
            if not step.shared:  # the partner's side, sent back: the partner receives it from its source
                gradients[step.partner, rank] += 1
                assert ring_steps(step.partner, world)[step.k - 1].source == rank
    pairs = {frozenset(p) for p in itertools.combinations(range(world), 2)}
    assert set(counted) == pairs and set(counted.values()) <= {1}
    assert {(r, q) for r in range(world) for q in range(world) if r != q} == set(gradients)
    assert set(gradients.values()) <= {1}


@pytest.mark.parametrize("world", range(2, 10))
def test_ring_balances_the_work(world: int) -> None:
    """Block products per rank (units of ``(N/P)²D``): 1.5 for the diagonal, 3 per owned pair, 2 per shared pair;
    the same on every rank, at most 0.5 more than an even split of the ``1.5 P²`` total."""
    work = [1.5 + sum(2 if s.shared else 3 for s in ring_steps(r, world)) for r in range(world)]
    assert len(set(work)) == 1
    assert 1.5 * world <= work[0] <= 1.5 * world + 0.5
    assert len(ring_steps(0, world)) == world // 2  # rows received; gradients: one per owned step
    assert world // 2 + sum(not s.shared for s in ring_steps(0, world)) == world - 1  # blocks sent in all


@pytest.mark.parametrize(
    ("kernel", "half_space"),
    [(Riesz(s=1.0), False), (Riesz(s=2.0, contraction=1e-6), True), (Gaussian(width=0.5), True)],
)
@pytest.mark.parametrize("tile", [1, 3, 100])
def test_blocks_add_up_to_the_pair_sum(kernel: Kernel, half_space: bool, tile: int) -> None:
    """diagonal(x) + diagonal(y) + off-diagonal(x, y) is the pair sum over [x; y], value and gradients."""
    x, y = rows(7, seed=1), rows(5, seed=2)
    both = torch.cat([x, y]).requires_grad_()
    expected = brute_force(both, kernel, half_space)
    (grad,) = torch.autograd.grad(expected, both)
    gx, gy, gxy, gyx = (torch.zeros(1, len(t), 6, dtype=torch.float64) for t in (x, y, x, y))
    vx = diagonal_block(x[None], kernel, half_space, tile, gx)
    vy = diagonal_block(y[None], kernel, half_space, tile, gy)
    vxy = off_diagonal_block(x[None], y[None], kernel, half_space, tile, gxy, gyx)
    assert float(vx + vy + vxy) == pytest.approx(float(expected.detach()), rel=1e-12)
    torch.testing.assert_close(torch.cat([gx + gxy, gy + gyx], 1)[0], grad, rtol=1e-12, atol=1e-12)
    only_x = torch.ones_like(gxy)  # gradients are added to what is there
    value = off_diagonal_block(x[None], y[None], kernel, half_space, tile, only_x, None)
    assert float(value) == pytest.approx(float(vxy), rel=1e-12)
    torch.testing.assert_close(only_x, gxy + 1)
    no_value = diagonal_block(x[None], kernel, half_space, tile, None)
    assert float(no_value) == pytest.approx(float(vx), rel=1e-12)
    empty = torch.zeros_like(gxy)
    assert float(off_diagonal_block(x[None], y[:0][None], kernel, half_space, tile, empty, None)) == 0.0
    assert not empty.any()


@pytest.mark.parametrize("half_space", [False, True])
def test_row_block_sums_of_queries_from_elsewhere(half_space: bool) -> None:
    """Queries that are not rows of ``x`` (index -1) pair with every row; one that is (index 2) skips itself."""
    kernel = Riesz(s=1.0)
    x, others = rows(6, seed=3), rows(2, seed=4)
    q = torch.cat([others, x[2:3]])
    index = torch.tensor([-1, -1, 2])
    sums, gq, gx = row_block_sums(q, x, index, torch.ones(3, dtype=torch.float64), kernel, half_space, 4, True)
    assert gq is not None and gx is not None
    for b in range(3):
        partners = [x[j] for j in range(6) if index[b] != j]
        expected = sum(float(kernel.value(q[b] @ p)) for p in partners)
        if half_space:
            expected += sum(float(kernel.value(-q[b] @ p)) for p in partners)
            expected += float(kernel.value(-q[b] @ q[b])) if index[b] >= 0 else 0.0
        assert float(sums[b]) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("half_space", [False, True])
def test_one_process_without_a_group_is_the_single_process_function(half_space: bool) -> None:
    x = rows(30).requires_grad_()
    got = td.hyperspherical_energy(x, s=1.0, half_space=half_space)
    (grad,) = torch.autograd.grad(got, x)
    expected = thomson.hyperspherical_energy(x, s=1.0, half_space=half_space)
    (expected_grad,) = torch.autograd.grad(expected, x)
    assert float(got.detach()) == pytest.approx(float(expected.detach()), rel=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-12, atol=1e-14)
    unit = rows(30)
    assert float(td.pairwise_sum(unit, Gaussian(), half_space=half_space)) == pytest.approx(
        float(brute_force(unit, Gaussian(), half_space)), rel=1e-12
    )


@pytest.fixture
def one_rank_group() -> Iterator[dist.ProcessGroup]:
    """A process group of this process alone (an in-memory store), destroyed afterwards."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        assert dist.group.WORLD is not None
        yield dist.group.WORLD
    finally:
        dist.destroy_process_group()


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 11))


def test_regularizer_with_a_one_rank_group(one_rank_group: dist.ProcessGroup) -> None:
    sharded, plain = model(), model()
    reg = thomson.Regularizer(sharded, thomson.MHE(s=2, half_space=True), classifier_group=one_rank_group)
    value = reg()
    value.backward()
    expected = thomson.Regularizer(plain, thomson.MHE(s=2, half_space=True))()
    expected.backward()
    assert float(value.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    for a, b in zip(sharded.parameters(), plain.parameters(), strict=True):  # the biases have none
        assert (a.grad is None) == (b.grad is None) == (a.dim() == 1)
        if a.grad is not None and b.grad is not None:
            torch.testing.assert_close(a.grad, b.grad)
    est = td.estimate_energy(rows(40), samples=7, generator=torch.Generator().manual_seed(3), group=one_rank_group)
    ref = thomson.estimate_energy(rows(40), samples=7, generator=torch.Generator().manual_seed(3))
    assert float(est.value) == pytest.approx(float(ref.value), rel=1e-12)


def test_regularizer_rejects_what_cannot_be_sharded(one_rank_group: dist.ProcessGroup) -> None:
    with pytest.raises(ValueError, match="MHS cannot be evaluated on a classifier sharded"):
        thomson.Regularizer(model(), thomson.MHS(), classifier_group=one_rank_group)
    with pytest.raises(ValueError, match="CoMHE cannot"):
        thomson.Regularizer(model(), thomson.CoMHE(), classifier_group=one_rank_group)
    with pytest.raises(ValueError, match="no classifier is selected"):
        thomson.Regularizer(model(), thomson.MHE(), classifier=None, classifier_group=one_rank_group)
    with pytest.raises(TypeError, match=r"classifier_group must be a torch\.distributed ProcessGroup"):
        thomson.Regularizer(model(), thomson.MHE(), classifier_group="world")  # type: ignore[arg-type]


def test_errors() -> None:
    x = rows(4)
    with pytest.raises(TypeError, match=r"group must be a torch\.distributed ProcessGroup"):
        td.hyperspherical_energy(x, group="world")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sampling must be one of"):
        td.estimate_energy(x, samples=2, sampling="row")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="samples must be a positive int"):
        td.estimate_energy(x, samples=0)
    with pytest.raises(ValueError, match="reduction must be one of"):
        td.hyperspherical_energy(x, reduction="max")  # type: ignore[arg-type]
    w = x.clone().requires_grad_()
    with pytest.raises(RuntimeError, match="no second derivative"):
        torch.autograd.grad(td.hyperspherical_energy(w), w, create_graph=True)


def test_a_launch_without_a_process_group_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under torchrun (WORLD_SIZE > 1) a forgotten init_process_group would silently give each rank the energy of
    its own rows only."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match=r"call torch\.distributed\.init_process_group"):
        td.hyperspherical_energy(rows(4))
