"""Half-space MGD: two N×N Cholesky factorizations (thomson) against one 2N×2N (the reference code's way).

Run: ``PYTHONPATH=src python benchmarks/bench_gram_logdet.py``. Prints time per value-and-gradient and the
ratio naive / thomson, measured in the same process (the two agree to float64 round-off).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from thomson.functional import gram_logdet


def naive(x: torch.Tensor) -> torch.Tensor:
    """log det of the explicit 2N×2N Gaussian Gram matrix of [u; -u], by one float64 Cholesky."""
    u = torch.nn.functional.normalize(x.double(), dim=1)
    pts = torch.cat([u, -u])
    k = torch.exp(-(2.0 - 2.0 * pts @ pts.T)) + 1e-6 * torch.eye(len(pts), dtype=pts.dtype)
    return 2.0 * torch.log(torch.diagonal(torch.linalg.cholesky(k))).sum()


def seconds(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        w = x.clone().requires_grad_(True)
        start = time.perf_counter()
        fn(w).backward()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    torch.manual_seed(0)
    print(f"{'N':>6} {'D':>6} {'2N×2N (s)':>12} {'2 × N×N (s)':>12} {'ratio':>7}")
    for n, d in ((256, 2304), (512, 2304), (1024, 4096)):
        x = torch.randn(n, d)
        ours = lambda w: gram_logdet(w, half_space=True)  # noqa: E731
        assert torch.allclose(naive(x), ours(x).double(), rtol=1e-5)
        t_naive, t_ours = seconds(naive, x, 3), seconds(ours, x, 3)
        print(f"{n:>6} {d:>6} {t_naive:>12.4f} {t_ours:>12.4f} {t_naive / t_ours:>7.2f}")


if __name__ == "__main__":
    main()
