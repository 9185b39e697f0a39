"""Estimated hyperspherical energy from sampled rows or pairs, for layers too large for exact pairs."""

from __future__ import annotations

import torch
from torch import Tensor

from thomson._validate import one_of
from thomson.engine import SAMPLINGS, Estimate, Sampling, sampled_pair_mean
from thomson.functional.riesz import energy_terms
from thomson.kernels import Metric


def estimate_energy(
    x: Tensor,
    s: float = 2.0,
    *,
    samples: int,
    sampling: Sampling = "rows",
    metric: Metric = "euclidean",
    half_space: bool = False,
    eps: float | None = None,
    reference: bool = False,
    generator: torch.Generator | None = None,
) -> Estimate:
    """Unbiased estimate of ``hyperspherical_energy(x, s, ...)`` (the mean over pairs) with its standard error.

        Ê = mean over sampled rows b of  (1/(M-1)) Σ_{j ≠ b} f_s(z_bj)      (sampling="rows")
        Ê = mean over sampled pairs (a, b) of  f_s(z_ab)                    (sampling="pairs")

    over the ``M = N`` rows of ``x`` (``M = 2N`` for ``[x; -x]`` in half space); ``E[Ê]`` is the exact mean
    energy, and ``Ê`` is differentiable, so its gradient is an unbiased estimate of the exact gradient.

    When to use which (see ``docs/engine.md``): exact :func:`hyperspherical_energy` streams any size in
    ``O(N·D)`` memory but costs ``N²D`` operations; ``"rows"`` costs ``samples·N·D`` and has a small error (each
    row averages ``M - 1`` terms), so it is the choice for 10⁵–10⁶ rows; ``"pairs"`` costs ``samples·D`` for
    a quick, noisier look.

    Args:
        x: rows ``[N, D]``; need not be unit vectors.
        s: Riesz exponent. Default 2.
        samples: rows (at most ``N``; ``N`` gives the exact value and error 0) or pairs to draw.
        sampling: ``"rows"`` or ``"pairs"``. Default ``"rows"``.
        metric, half_space, eps, reference: as in :func:`~thomson.functional.hyperspherical_energy`.
        generator: random source on ``x``'s device. Default: torch's global generator.

    Returns:
        ``Estimate(value, stderr)``, 0-dim tensors (float32 at least).

    Example:
        >>> import torch
        >>> from thomson.functional import hyperspherical_energy
        >>> w = torch.randn(4000, 64, generator=torch.Generator().manual_seed(0))
        >>> est = estimate_energy(w, samples=64, generator=torch.Generator().manual_seed(1))
        >>> bool(abs(est.value - hyperspherical_energy(w)) < 4 * est.stderr)
        True
    """
    one_of("sampling", sampling, SAMPLINGS)
    with torch.autocast(x.device.type, enabled=False):
        unit, kernel, factor = energy_terms(x, s, metric, reference=reference, eps=eps)
        value, stderr = sampled_pair_mean(
            unit, kernel, samples, half_space=half_space, sampling=sampling, generator=generator
        )
    return Estimate(factor * value, factor * stderr)
