"""A reproducible stream of Gaussian draws (CoMHE's random projections and initial learned projections).

Draw ``t`` comes from a torch generator seeded with a SplitMix64 hash of ``(seed, t)``, on the device of the
tensor it is drawn for, so nearby draws are unrelated and a resumed run continues the same sequence from the
counter alone. Outside training CoMHE uses one fixed draw, the stream :data:`FIXED`.
"""

from __future__ import annotations

import torch
from torch import Tensor

FIXED = 2**63 - 1
"""The stream of the fixed draw (training draws use the streams 0, 1, 2, ...)."""

_MASK64 = 2**64 - 1


def mix(seed: int, stream: int) -> int:
    """A 63-bit generator seed from ``(seed, stream)`` (SplitMix64 finalizer), so nearby streams are unrelated.

    Example:
        >>> mix(0, 0) != mix(0, 1) and 0 <= mix(0, 0) < 2**63
        True
    """
    x = (seed * 0x9E3779B97F4A7C15 + stream + 1) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (x ^ (x >> 31)) >> 1


class RandomStream:
    """Numbered N(0, 1) draws from a seed: :meth:`draw` gives the next one, or the fixed one.

    Args:
        seed: an integer in ``[0, 2**63)``.
        draws: draws taken so far (the counter; 0 for a new stream).

    Example:
        >>> a, b = RandomStream(7), RandomStream(7)
        >>> like = torch.zeros((), dtype=torch.float64)
        >>> torch.equal(a.draw((2, 3), like), b.draw((2, 3), like)), a.draws
        (True, 1)
    """

    def __init__(self, seed: int, draws: int = 0) -> None:
        self.seed = seed
        self.draws = draws

    def draw(self, shape: tuple[int, ...], like: Tensor, *, fixed: bool = False) -> Tensor:
        """N(0, 1) entries of ``shape`` on ``like``'s device and dtype: the next draw (advancing the counter), or
        the fixed one."""
        generator = torch.Generator(device=like.device)
        generator.manual_seed(mix(self.seed, FIXED if fixed else self.draws))
        if not fixed:
            self.draws += 1
        return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)


__all__ = ["FIXED", "RandomStream", "mix"]
