"""A reproducible stream of Gaussian draws (CoMHE's random projections and initial learned projections).

Draw ``t`` comes from a torch generator seeded with a SplitMix64 hash of ``(seed, t)``, on the device of the
tensor it is drawn for, so nearby draws are unrelated and a resumed run continues the same sequence from the
counter alone. Outside training CoMHE uses one fixed draw, the stream :data:`FIXED`.

Under ``torch.compile`` a draw is one opaque operation of the graph (``thomson::stream_draw``), which advances the
counter when it runs: the graph holds neither the counter nor a generator, so it is traced once and gives the
draws of eager mode (not compatible with CUDA graphs, which would replay one draw).
"""

from __future__ import annotations

import itertools
import weakref

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
        self.key = next(_KEYS)  # how a compiled graph names this stream
        _STREAMS[self.key] = self

    def draw(
        self, shape: tuple[int, ...], like: Tensor, *, fixed: bool = False, counter: Tensor | None = None
    ) -> Tensor:
        """N(0, 1) entries of ``shape`` on ``like``'s device and dtype: the next draw (advancing the counter), or
        the fixed one. ``counter``, a tensor, is set to the number of draws taken (a buffer saved with a model)."""
        if torch.compiler.is_compiling():
            if counter is None:
                counter = like.new_zeros((), dtype=torch.long)
            return torch.ops.thomson.stream_draw(like.detach(), counter, self.key, list(shape), fixed)  # type: ignore[no-any-return]
        return self._draw(shape, like, fixed, counter)

    def _draw(self, shape: tuple[int, ...] | list[int], like: Tensor, fixed: bool, counter: Tensor | None) -> Tensor:
        generator = torch.Generator(device=like.device)
        generator.manual_seed(mix(self.seed, FIXED if fixed else self.draws))
        if not fixed:
            self.draws += 1
            if counter is not None:
                counter.fill_(self.draws)
        return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)


_KEYS = itertools.count()
_STREAMS: weakref.WeakValueDictionary[int, RandomStream] = weakref.WeakValueDictionary()


@torch.library.custom_op("thomson::stream_draw", mutates_args=("counter",))
def _stream_draw(like: Tensor, counter: Tensor, stream: int, shape: list[int], fixed: bool) -> Tensor:
    """A draw of the stream ``stream`` as one operation of a compiled graph (it advances the stream when it runs)."""
    return _STREAMS[stream]._draw(shape, like, fixed, counter)


@_stream_draw.register_fake
def _(like: Tensor, counter: Tensor, stream: int, shape: list[int], fixed: bool) -> Tensor:
    return like.new_empty(shape)


__all__ = ["FIXED", "RandomStream", "mix"]
