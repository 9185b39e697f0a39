"""The reference input pipeline: pixel scaling and the pad-4-symmetric random crop with horizontal flip."""

from __future__ import annotations

import torch
from torch import Tensor


def pixels_to_inputs(x: Tensor) -> Tensor:
    """Scale ``uint8`` pixels as the reference code: ``(x − 127.5) / 128``, so inputs lie in ``(−1, 1)``.

    Example:
        >>> pixels_to_inputs(torch.tensor([0, 255], dtype=torch.uint8)).tolist()
        [-0.99609375, 0.99609375]
    """
    return (x.to(torch.float32) - 127.5) / 128.0


def _symmetric(index: Tensor, size: int) -> Tensor:
    """Map indices of a symmetrically padded axis (edge repeated, numpy ``mode="symmetric"``) to the original."""
    index = torch.where(index < 0, -index - 1, index)
    return torch.where(index >= size, 2 * size - 1 - index, index)


def random_crop_flip(x: Tensor, padding: int = 4, *, generator: torch.Generator | None = None) -> Tensor:
    """Random crops of the symmetrically padded images and random horizontal flips, one draw per image.

        out_b = flip_b( pad_symmetric(x_b, padding)[:, h_b : h_b + H, v_b : v_b + W] ),
        h_b, v_b ~ U{0..2·padding},  flip_b ~ Bernoulli(½)

    ``pad_symmetric`` mirrors the border including the edge pixel (numpy's ``mode="symmetric"``, as the
    reference code's ``np.pad``), so the crop of an all-equal border stays equal. Computed as one gather,
    without building the padded images.

    Args:
        x: images ``[B, C, H, W]`` of any dtype.
        padding: pixels added on each side before cropping; at most ``min(H, W)``. Default 4.
        generator: the random source. Default None (torch's global generator).

    Example:
        >>> x = torch.arange(16.0).view(1, 1, 4, 4)
        >>> random_crop_flip(x, padding=0)[0, 0, 0].tolist() in ([0, 1, 2, 3], [3, 2, 1, 0])
        True
    """
    if x.dim() != 4:
        raise ValueError(f"x must be images [B, C, H, W], got shape {tuple(x.shape)}")
    b, _, h, w = x.shape
    if not 0 <= padding <= min(h, w):
        raise ValueError(f"padding must lie in 0..{min(h, w)}, got {padding}")
    offsets = torch.randint(0, 2 * padding + 1, (2, b), generator=generator)
    flips = torch.randint(0, 2, (b,), generator=generator).bool()
    rows = _symmetric(offsets[0, :, None] + torch.arange(h) - padding, h)  # [B, H]
    cols = _symmetric(offsets[1, :, None] + torch.arange(w) - padding, w)  # [B, W]
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    batch = torch.arange(b)[:, None, None, None]
    channels = torch.arange(x.shape[1])[None, :, None, None]
    return x[batch, channels, rows[:, None, :, None], cols[:, None, None, :]]
