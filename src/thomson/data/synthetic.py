"""A synthetic Gaussian-mixture classification task, for smoke tests and benchmarks."""

from __future__ import annotations

import torch

from thomson.data.dataset import Dataset


def load_synthetic(
    *,
    train_size: int | None = None,
    test_size: int = 512,
    num_classes: int = 4,
    dim: int = 16,
    separation: float = 1.0,
    seed: int = 0,
) -> Dataset:
    """Points ``x = μ_y + ξ`` with class means ``μ_c ~ N(0, separation²·I)`` and noise ``ξ ~ N(0, I)``.

    Labels are balanced (``i mod num_classes``); everything is drawn from ``seed``, so the task is the same
    for every run with that seed.

    Args:
        train_size: training points. Default None (256).
        test_size: test points. Default 512.
        num_classes: classes. Default 4.
        dim: input dimension. Default 16.
        separation: scale of the class means relative to the noise. Default 1.
        seed: seed of the means, the points and the noise. Default 0.

    Example:
        >>> load_synthetic(train_size=8, num_classes=2, dim=3).train_x.shape
        torch.Size([8, 3])
    """
    train_size = 256 if train_size is None else train_size
    for name, value in (("train_size", train_size), ("test_size", test_size), ("num_classes", num_classes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
    generator = torch.Generator().manual_seed(seed)
    means = torch.randn(num_classes, dim, generator=generator) * separation

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % num_classes
        return means[y] + torch.randn(n, dim, generator=generator), y

    train_x, train_y = draw(train_size)
    test_x, test_y = draw(test_size)
    return Dataset("synthetic", train_x, train_y, test_x, test_y, num_classes)
