"""Objectives on a sharded classifier: which ones can be evaluated exactly across processes, and how."""

from __future__ import annotations

import torch.distributed as dist
from torch import Tensor

from thomson.distributed.energy import hyperspherical_energy
from thomson.functional.rows import weight_rows
from thomson.objectives.base import Objective
from thomson.objectives.mhe import MHE


def check_shardable(objective: Objective) -> MHE:
    """``objective`` as one whose value is a sum over pairs of rows (MHE and its settings), or a clear error.

    Only such a sum splits into blocks of rows held by different processes; objectives that need all rows at
    once in another way (a minimum, a determinant, projections) do not.
    """
    if not isinstance(objective, MHE) or type(objective).forward is not MHE.forward:
        raise ValueError(
            f"{type(objective).__name__} cannot be evaluated on a classifier sharded across processes: only an "
            "objective whose value is a sum over pairs of rows can (thomson.MHE, any s, metric or mode); use MHE "
            "for the sharded classifier, or gather its rows"
        )
    return objective


def sharded_objective(objective: Objective, weight: Tensor, *, group: dist.ProcessGroup | None) -> Tensor:
    """The value of ``objective`` as a classifier (no half space, as in ``objective(weight, classifier=True)``) on
    the rows of every rank's ``weight``, exact, on every rank; each rank gets the gradient of its own rows."""
    mhe = check_shardable(objective)
    return hyperspherical_energy(
        weight_rows(weight, "MHE", allow_empty=True),
        mhe.s,
        metric=mhe.metric,
        eps=mhe.eps,
        reference=mhe.reference,
        group=group,
    )
