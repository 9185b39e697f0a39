"""``Dataset``: a classification data set held in memory, with its train-time augmentation and input scaling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from thomson.data.augment import pixels_to_inputs, random_crop_flip


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors of a classification task, kept in memory, and how batches are prepared.

    Images stored as ``uint8`` pixels (CIFAR) are scaled as the reference code does, ``(x − 127.5)/128``, when
    a batch is prepared; float inputs (digits, synthetic) are used as stored. With ``augment=True``, training
    batches get the reference augmentation (pad 4 symmetric, random crop, horizontal flip).

    Args:
        name: the data set's name, e.g. ``"digits"``.
        train_x: training inputs ``[N, ...]``.
        train_y: training labels ``[N]`` (int64, in ``0..num_classes-1``).
        test_x: test inputs.
        test_y: test labels.
        num_classes: number of classes.
        augment: random crop and flip of training images. Default False.

    Example:
        >>> import torch
        >>> y = torch.tensor([0, 1, 0, 1])
        >>> ds = Dataset("toy", torch.zeros(4, 2), y, torch.ones(4, 2), y, num_classes=2)
        >>> ds.input_shape, ds.train_batch(torch.tensor([1, 3]))[1].tolist()
        ((2,), [1, 1])
    """

    name: str
    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    num_classes: int
    augment: bool = False

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            if x.shape[0] != y.shape[0] or y.dim() != 1:
                raise ValueError(f"{self.name}: {split} inputs {tuple(x.shape)} and labels {tuple(y.shape)} differ")
            if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
                raise ValueError(f"{self.name}: {split} labels must lie in 0..{self.num_classes - 1}")
        if self.augment and (self.train_x.dim() != 4 or self.train_x.dtype != torch.uint8):
            raise ValueError(f"{self.name}: augment=True needs uint8 images [N, C, H, W]")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One input's shape, without the batch dim."""
        return tuple(self.train_x.shape[1:])

    def train_batch(self, indices: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Training inputs and labels at ``indices``, augmented (when enabled, drawn from ``generator``)."""
        x = self.train_x[indices]
        if self.augment:
            x = random_crop_flip(x, padding=4, generator=generator)
        return _inputs(x), self.train_y[indices]

    def test_batches(self, batch_size: int, *, rank: int = 0, world: int = 1) -> Iterator[tuple[Tensor, Tensor]]:
        """The test set in batches, without augmentation; with ``world > 1``, this rank's contiguous share."""
        n = self.test_x.shape[0]
        start, stop = n * rank // world, n * (rank + 1) // world
        for i in range(start, stop, batch_size):
            j = min(i + batch_size, stop)
            yield _inputs(self.test_x[i:j]), self.test_y[i:j]


def _inputs(x: Tensor) -> Tensor:
    return pixels_to_inputs(x) if x.dtype == torch.uint8 else x
