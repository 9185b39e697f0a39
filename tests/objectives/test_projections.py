"""CoMHE's projection kinds as strategy objects: one interface, chosen by name, all C projections as one batch."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

import thomson
from thomson.objectives.comhe import PROJECTIONS
from thomson.objectives.projections import PROJECTIONS as KINDS
from thomson.objectives.projections import Projection
from thomson.objectives.random_stream import FIXED, RandomStream, mix


def test_the_built_in_kinds_are_registered() -> None:
    assert tuple(KINDS.names()) == PROJECTIONS
    for name in PROJECTIONS:
        assert isinstance(KINDS.get(name), Projection)


@pytest.mark.parametrize(("projection", "count"), [("random", 20), ("angle", 1), ("adversarial", 1), ("group", 5)])
@pytest.mark.parametrize("learning", [False, True])
def test_every_kind_returns_all_projections_as_one_batch(projection: str, count: int, learning: bool) -> None:
    comhe = thomson.CoMHE(projection, dim=30, seed=0).train()
    rows = torch.randn(7, 144, dtype=torch.float64)  # group: ceil(144 / 30) = 5 groups of at most 29 + 1 padding
    projected = comhe.strategy.project(comhe, rows, "layer", learning=learning)
    k = 29 if projection == "group" else 30
    assert projected.shape == (count, 7, k) and projected.dtype == torch.float64


def test_a_user_projection_is_chosen_by_name(request: pytest.FixtureRequest) -> None:
    class FirstCoordinates(Projection):
        """The first ``dim`` coordinates, one projection (a deterministic toy kind)."""

        def project(self, comhe: thomson.CoMHE, rows: Tensor, layer: str, *, learning: bool) -> Tensor:
            return rows[None, :, : comhe.dim]

    KINDS.add("first", FirstCoordinates())
    request.addfinalizer(lambda: KINDS.remove("first"))
    w = torch.randn(6, 50, dtype=torch.float64)
    comhe = thomson.CoMHE("first", dim=8)  # type: ignore[arg-type]
    torch.testing.assert_close(comhe(w), comhe.base(w[:, :8]), rtol=0, atol=0)
    with pytest.raises(ValueError, match="num_projections does not apply"):
        thomson.CoMHE("first", num_projections=3)  # type: ignore[arg-type]


def test_the_random_stream_is_numbered_and_reproducible() -> None:
    like = torch.zeros((), dtype=torch.float64)
    a, b = RandomStream(11), RandomStream(11, draws=1)
    first, second = a.draw((3,), like), a.draw((3,), like)
    assert torch.equal(second, b.draw((3,), like)) and not torch.equal(first, second)
    fixed = a.draw((3,), like, fixed=True)
    assert a.draws == 2 and torch.equal(fixed, RandomStream(11, draws=40).draw((3,), like, fixed=True))
    assert len({mix(0, t) for t in range(1000)} | {mix(1, 0), mix(0, FIXED)}) == 1002
