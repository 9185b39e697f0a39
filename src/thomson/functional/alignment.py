"""Alignment of positive pairs of embeddings (Wang & Isola, ICML 2020): their mean distance to a power."""

from __future__ import annotations

import torch
from torch import Tensor

from thomson._validate import real
from thomson.functional.rows import as_rows, normalize_rows


def alignment(x: Tensor, y: Tensor, alpha: float = 2.0, *, reference: bool = False) -> Tensor:
    """Alignment of the positive pairs ``(x_i, y_i)``, rows of ``x, y: [N, D]``: lower is better aligned.

        A_α(X, Y) = (1/N) Σ_i |x̂_i - ŷ_i|^α,     x̂_i = x_i/|x_i|,  ŷ_i = y_i/|y_i|

    For unit rows ``|x̂_i - ŷ_i|² = 2 - 2 x̂_iᵀŷ_i``, so values lie in ``[0, 2^α]``: 0 when every pair
    coincides, ``2^α`` when every pair is antipodal, and ``E|x̂ - ŷ|^α`` for independent uniformly random
    directions (``2`` at ``α = 2`` in any dimension: ``E[x̂ᵀŷ] = 0``).

    * default: rows normalized by :func:`~thomson.functional.normalize_rows` (a zero row stays zero, so its
      term is the other row's distance from the origin, 1). The squared distance is summed from the
      difference of the unit rows (no cancellation for close pairs), and ``|·|^α`` has gradient 0 where a pair
      coincides, for any ``α > 0`` (the limit for ``α > 1``; a subgradient otherwise), never NaN.
    * ``reference=True``: Wang & Isola's ``align_uniform`` code exactly, ``mean_i |x_i - y_i|^α`` on the rows
      as given (no normalization: normalize first, as their code expects).

    Args:
        x: embeddings ``[N, D]`` (one view).
        y: their positives ``[N, D]`` (the other view), row ``i`` paired with ``x``'s row ``i``.
        alpha: the power, ``> 0``. Default 2 (Wang & Isola's default).
        reference: reproduce ``align_uniform`` to the letter. Default False.

    Returns:
        A 0-dim tensor (float32 at least).

    Example:
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> float(alignment(x, torch.tensor([[0.0, 2.0], [0.0, 3.0]])))   # |e1 - e2|² = 2 and 0: mean 1
        1.0
    """
    real("alpha", alpha, low=0.0, strict=True)
    with torch.autocast(x.device.type, enabled=False):
        a, b = as_rows(x, "x"), as_rows(y, "y")
        if a.shape != b.shape:
            raise ValueError(
                f"x and y must have the same shape [N, D] (row i of y is the positive of row i of x), "
                f"got {tuple(a.shape)} and {tuple(b.shape)}"
            )
        if a.shape[0] == 0:
            raise ValueError("alignment needs at least one pair of embeddings, got N = 0")
        dtype = torch.promote_types(a.dtype, b.dtype)
        a, b = a.to(dtype), b.to(dtype)
        if reference:
            distance: Tensor = (a - b).norm(p=2, dim=1)
            return distance.pow(alpha).mean()
        diff = normalize_rows(a) - normalize_rows(b)
        squared = (diff * diff).sum(dim=1)
        if alpha == 2:
            return squared.mean()
        apart = squared > 0
        powered = torch.where(apart, squared, 1.0).pow(alpha / 2)  # no 0^(α/2 - 1) in the gradient
        return torch.where(apart, powered, 0.0).mean()
