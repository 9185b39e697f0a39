"""Energies of rows sharded across processes (a model-parallel classifier), over ``torch.distributed``.

Each rank holds some rows ``[N_r, D]`` of one set (e.g. its slice of a classifier with ``N = Σ N_r`` classes);
every function here returns, on every rank, the value for all rows, equal to the single-process function on
their concatenation in rank order, and ``backward()`` gives each rank the gradient of its own rows. The
transport is PyTorch's (gloo on the CPU, NCCL on GPUs); see ``docs/distributed.md``.

* :func:`hyperspherical_energy`, :func:`pairwise_sum`: exact, a ring of block exchanges (:mod:`.ring`).
* :func:`estimate_energy`, :func:`sampled_pair_mean`: the sampled estimators (:mod:`.sampled`).
* ``thomson.Regularizer(..., classifier_group=group)`` uses :func:`hyperspherical_energy` on the classifier.

Data-parallel training (DDP, every rank with the same weights) needs none of this: each replica computes the
same energy with :func:`thomson.hyperspherical_energy`.
"""

from thomson.distributed.energy import estimate_energy, hyperspherical_energy
from thomson.distributed.ring import pairwise_sum
from thomson.distributed.sampled import sampled_pair_mean

__all__ = ["estimate_energy", "hyperspherical_energy", "pairwise_sum", "sampled_pair_mean"]
