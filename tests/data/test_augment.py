from __future__ import annotations

import numpy as np
import torch

from thomson.data import pixels_to_inputs, random_crop_flip


def candidates(image: np.ndarray, padding: int) -> list[np.ndarray]:
    """Every crop of numpy's symmetric padding (the reference's np.pad(..., "symmetric")), flipped or not."""
    _, h, w = image.shape
    padded = np.pad(image, [(0, 0), (padding, padding), (padding, padding)], mode="symmetric")
    out = []
    for i in range(2 * padding + 1):
        for j in range(2 * padding + 1):
            crop = padded[:, i : i + h, j : j + w]
            out += [crop, crop[:, :, ::-1]]
    return out


def test_each_output_is_a_crop_of_the_symmetric_padding_and_all_crops_occur() -> None:
    generator = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    image = rng.permutation(3 * 6 * 5).reshape(3, 6, 5).astype(np.int64)  # distinct values: crops are unique
    batch = torch.from_numpy(np.repeat(image[None], 4000, axis=0))
    out = random_crop_flip(batch, padding=2, generator=generator).numpy()
    options = candidates(image, 2)
    seen = np.zeros(len(options), dtype=int)
    for crop in out:
        matches = [k for k, c in enumerate(options) if np.array_equal(c, crop)]
        assert len(matches) == 1
        seen[matches[0]] += 1
    expected = len(out) / len(options)  # 5 × 5 offsets × 2 flips, uniform
    assert seen.min() > 0.5 * expected and seen.max() < 1.6 * expected


def test_symmetric_padding_repeats_the_edge_pixel() -> None:
    x = torch.arange(4).view(1, 1, 1, 4).expand(1, 1, 4, 4)
    generator = torch.Generator().manual_seed(1)
    for _ in range(20):
        out = random_crop_flip(x, padding=2, generator=generator)[0, 0, 0].tolist()
        reference = np.pad(np.arange(4), 2, mode="symmetric").tolist()  # [1, 0, 0, 1, 2, 3, 3, 2]
        windows = [reference[i : i + 4] for i in range(5)]
        assert out in windows or out[::-1] in windows


def test_same_generator_same_batch() -> None:
    x = torch.randint(0, 255, (8, 3, 32, 32), dtype=torch.uint8)
    a = random_crop_flip(x, generator=torch.Generator().manual_seed(3))
    b = random_crop_flip(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.dtype == torch.uint8


def test_pixel_scaling_is_the_reference_formula() -> None:
    pixels = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    expected = (np.arange(256, dtype=np.float64) - 127.5) / 128
    np.testing.assert_array_equal(pixels_to_inputs(pixels).numpy(), expected.astype(np.float32))
