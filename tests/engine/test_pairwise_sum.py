"""The exact engine: every backend and tile size against an independent reference, gradcheck, memory bound."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from helpers import ROOT
from thomson import engine
from thomson.engine import BACKENDS, pair_count, pairwise_sum, streaming
from thomson.engine.streaming import streaming_pairwise_sum
from thomson.functional import hyperspherical_energy
from thomson.kernels import Kernel, Riesz

KERNELS = [
    Riesz(s=s, metric=m, contraction=e, angle_scale=a, angle_shift=b)
    for s, m, (e, a, b) in itertools.product(
        (-1.0, 0.0, 0.5, 1.0, 2.0, 3.0),
        ("euclidean", "angular"),
        ((1e-6, 1.0, 0.0), (0.0, 1 / math.pi, 1e-4)),  # default mode and the reference preset's constants
    )
]


class Cubic(Kernel):
    """A kernel that is not a Riesz energy and only has the generic value_and_derivative."""

    def value(self, c: torch.Tensor) -> torch.Tensor:
        return c**3 - c

    def derivative(self, c: torch.Tensor) -> torch.Tensor:
        return 3 * c**2 - 1

    def __repr__(self) -> str:  # a stable test id, the same in every pytest-xdist worker
        return "Cubic()"


def brute_force(x: torch.Tensor, kernel: Kernel, half_space: bool) -> torch.Tensor:
    """The definition, with autograd: every unordered pair of the explicit point set ([x; -x] in half space)."""
    points = torch.cat([x, -x]) if half_space else x
    i, j = torch.triu_indices(len(points), len(points), offset=1)
    return kernel.value((points[i] * points[j]).sum(1)).sum()


def rows(n: int, d: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Random rows with norms in [0.5, 0.95] (the engine takes any rows; |c| < 1 keeps clear of the clamp)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.normalize(torch.randn(n, d, generator=g, dtype=dtype), dim=1)
    return x * (0.5 + 0.45 * torch.rand(n, 1, generator=g, dtype=dtype))


def value_and_grad(fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[no-untyped-def]
    x = x.detach().requires_grad_()
    value = fn(x)
    (grad,) = torch.autograd.grad(value, x)
    return value.detach(), grad


@pytest.mark.parametrize("kernel", [*KERNELS, Cubic()], ids=repr)
@pytest.mark.parametrize(("half_space", "few_cosines"), [(False, 0), (True, 0), (True, 1 << 13)])
def test_every_tile_equals_the_definition(
    monkeypatch: pytest.MonkeyPatch, kernel: Kernel, half_space: bool, few_cosines: int
) -> None:
    # Half space: both evaluations of a diagonal tile, f(c) + f(-c) fused and f on [C | -C] (small tiles).
    monkeypatch.setattr(streaming, "FEW_COSINES", few_cosines)
    x = rows(11, 4)
    expected, expected_grad = value_and_grad(lambda z: brute_force(z, kernel, half_space), x)
    for tile in (1, 3, 4, 10, 11, 64):  # tiles that do not divide N, a single tile, tiles larger than N
        value, grad = value_and_grad(
            lambda z, t=tile: streaming_pairwise_sum(z, kernel, half_space=half_space, tile=t), x
        )
        torch.testing.assert_close(value, expected, rtol=1e-11, atol=1e-11)
        torch.testing.assert_close(grad, expected_grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("half_space", [False, True])
def test_backends_agree_in_float32(monkeypatch: pytest.MonkeyPatch, backend: str, half_space: bool) -> None:
    monkeypatch.setattr(engine, "tile_rows", lambda device, d: 48)  # several tiles, the last one partial
    kernel = Riesz(s=2, contraction=1e-6)
    x = rows(130, 16, dtype=torch.float32)
    expected, expected_grad = value_and_grad(lambda z: brute_force(z.double(), kernel, half_space), x.double())
    value, grad = value_and_grad(lambda z: pairwise_sum(z, kernel, half_space=half_space, backend=backend), x)  # type: ignore[arg-type]
    assert value.dtype == grad.dtype == torch.float32
    torch.testing.assert_close(value.double(), expected, rtol=2e-6, atol=0)
    torch.testing.assert_close(grad.double(), expected_grad, rtol=0, atol=2e-5 * float(expected_grad.abs().max()))


@pytest.mark.parametrize(("s", "metric"), [(0, "euclidean"), (2, "euclidean"), (1, "angular"), (-1, "euclidean")])
@pytest.mark.parametrize("half_space", [False, True])
@pytest.mark.parametrize("reference", [False, True])
def test_energy_is_the_same_whichever_backend(
    monkeypatch: pytest.MonkeyPatch, s: float, metric: str, half_space: bool, reference: bool
) -> None:
    # Every MHE variant and preset, through the public function, with respect to the raw weights.
    monkeypatch.setattr(engine, "tile_rows", lambda device, d: 7)
    w = torch.randn(30, 9, dtype=torch.float64)
    results = [
        value_and_grad(
            lambda z, b=backend: hyperspherical_energy(
                z,
                s,
                metric=metric,
                half_space=half_space,
                reference=reference,
                backend=b,  # type: ignore[arg-type]
            ),
            w,
        )
        for backend in BACKENDS
    ]
    for value, grad in results[1:]:
        torch.testing.assert_close(value, results[0][0], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grad, results[0][1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("half_space", [False, True])
@pytest.mark.parametrize("kernel", [Riesz(s=1, contraction=1e-3), Riesz(s=0, metric="angular", contraction=1e-3)])
def test_gradcheck(kernel: Riesz, half_space: bool) -> None:
    x = rows(7, 3).requires_grad_()
    for tile in (2, 7):
        assert torch.autograd.gradcheck(
            lambda z, t=tile: streaming_pairwise_sum(z, kernel, half_space=half_space, tile=t), (x,)
        )


def test_batches_of_row_sets_are_reduced_independently() -> None:
    kernel = Riesz(s=2)
    x = torch.stack([rows(9, 5, seed=k) for k in range(6)]).reshape(2, 3, 9, 5)
    _, grad = value_and_grad(lambda z: streaming_pairwise_sum(z, kernel, half_space=True, tile=4).sum(), x)
    for a, b in itertools.product(range(2), range(3)):
        expected, expected_grad = value_and_grad(lambda z: brute_force(z, kernel, True), x[a, b])
        torch.testing.assert_close(streaming_pairwise_sum(x[a, b], kernel, half_space=True), expected)
        torch.testing.assert_close(grad[a, b], expected_grad)
    assert streaming_pairwise_sum(x, kernel, tile=4).shape == (2, 3)


@pytest.mark.parametrize("half_space", [False, True])
def test_one_row_and_no_row(half_space: bool) -> None:
    kernel = Riesz(s=2)
    x = torch.tensor([[0.6, 0.0]], dtype=torch.float64, requires_grad=True)
    value = pairwise_sum(x, kernel, half_space=half_space)
    value.backward()
    # Full space: no pair. Half space: the row against its negation, f(-|x|²) = 1/(2 + 2·0.36), and its
    # gradient f'(-|x|²)·(-2x) with f'(c) = 2/(2 - 2c)².
    torch.testing.assert_close(value, torch.tensor(1 / 2.72 if half_space else 0.0, dtype=torch.float64))
    expected_grad = [-2 * 0.6 * 2 / 2.72**2 if half_space else 0.0, 0.0]
    torch.testing.assert_close(x.grad, torch.tensor([expected_grad], dtype=torch.float64))
    assert float(pairwise_sum(torch.zeros(0, 3), kernel, half_space=half_space)) == 0.0
    assert pair_count(1, half_space) == (1 if half_space else 0)


def test_without_gradient_only_the_value_is_computed() -> None:
    kernel = Riesz(s=1)
    x = rows(40, 6)
    with torch.no_grad():
        value = streaming_pairwise_sum(x.requires_grad_(), kernel, tile=16)
    assert not value.requires_grad
    torch.testing.assert_close(value, brute_force(x.detach(), kernel, False))


def test_autocast_does_not_lower_the_precision() -> None:
    kernel = Riesz(s=2)
    x = rows(50, 8, dtype=torch.float32)
    expected = pairwise_sum(x, kernel, half_space=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = pairwise_sum(x, kernel, half_space=True)
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, expected)


@pytest.mark.parametrize("half_space", [False, True])
def test_second_derivatives(half_space: bool) -> None:
    # A look-ahead step (CoMHE's projections) differentiates through the gradient: gradgradcheck, and the
    # Hessian-vector product against the definition's.
    kernel = Riesz(s=2, contraction=1e-3)
    x = rows(6, 3).requires_grad_()
    fn = lambda z: streaming_pairwise_sum(z, kernel, half_space=half_space, tile=4)  # noqa: E731
    assert torch.autograd.gradgradcheck(fn, (x,))
    v = torch.randn_like(x)
    hvp = [
        torch.autograd.grad((torch.autograd.grad(f(x), x, create_graph=True)[0] * v).sum(), x)[0]
        for f in (fn, lambda z: brute_force(z, kernel, half_space))
    ]
    torch.testing.assert_close(hvp[0], hvp[1])


@pytest.mark.parametrize(("kwargs", "match"), [({"backend": "gpu"}, "backend"), ({"tile": 0}, "tile")])
def test_bad_arguments_raise(kwargs: dict[str, object], match: str) -> None:
    x = rows(4, 2)
    with pytest.raises(ValueError, match=match):
        if "tile" in kwargs:
            streaming_pairwise_sum(x, Riesz(), tile=kwargs["tile"])  # type: ignore[arg-type]
        else:
            pairwise_sum(x, Riesz(), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape"):
        pairwise_sum(torch.ones(3), Riesz())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("half_space", [False, True])
def test_cuda_agrees_with_cpu(half_space: bool) -> None:
    kernel = Riesz(s=2, contraction=1e-6)
    x = rows(5000, 32)
    expected, expected_grad = value_and_grad(lambda z: streaming_pairwise_sum(z, kernel, half_space=half_space), x)
    value, grad = value_and_grad(lambda z: pairwise_sum(z, kernel, half_space=half_space), x.cuda())
    torch.testing.assert_close(value.cpu(), expected, rtol=1e-10, atol=0)
    torch.testing.assert_close(grad.cpu(), expected_grad, rtol=1e-8, atol=1e-8)


MEMORY_SCRIPT = textwrap.dedent(
    """
    import math, resource, sys, torch
    from thomson.engine import pairwise_sum
    from thomson.kernels import Riesz

    n = int(sys.argv[1])
    angles = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
    x = torch.stack([angles.cos(), angles.sin()], 1).requires_grad_()  # n equally spaced points, D = 2
    torch.ones(64, 64) @ torch.ones(64, 64)                 # start the thread pool before the limit is set
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + 256 * 2**20, resource.RLIM_INFINITY))  # 256 MiB to spare
    value = pairwise_sum(x, Riesz(s=2), half_space=True, backend="auto")
    value.backward()
    radial = (x.grad * x.detach()).sum(1)
    tangential = (x.grad - radial[:, None] * x.detach()).abs().max()
    print(float(value), float(radial.min()), float(radial.max()), float(tangential))
    try:
        pairwise_sum(x, Riesz(s=2), half_space=True, backend="dense").backward()
    except RuntimeError as error:
        print("dense:", str(error).splitlines()[0])
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS")
def test_streaming_runs_where_dense_cannot_allocate(tmp_path: Path) -> None:
    # n odd: the m = 2n points [x; -x] are m equally spaced points on the circle. With q_k = |1 - ω^k|² the
    # classical sums Σ_k 1/q_k = (m² - 1)/12 and Σ_k 1/q_k² = (m² - 1)(m² + 11)/720 give the s=2 energy
    # m(m² - 1)/24 and, by symmetry, a radial gradient 2 Σ_k c_k f'(c_k) = 2 Σ_k (2/q_k² - 1/q_k) on every row
    # (x_i and -x_i both move with x_i). Dense needs n² doubles per matrix (390 MB each); the limit leaves 256 MiB.
    n = 7001
    script = tmp_path / "memory_bound.py"
    script.write_text(MEMORY_SCRIPT)
    env = {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script), str(n)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    streamed, dense = done.stdout.splitlines()
    assert dense.startswith("dense:") and "allocate" in dense  # the limit bites
    value, radial_min, radial_max, tangential = map(float, streamed.split())
    m = 2 * n
    radial = 2 * (2 * (m * m - 1) * (m * m + 11) / 720 - (m * m - 1) / 12)
    assert value == pytest.approx(m * (m * m - 1) / 24, rel=1e-6)
    assert radial_min == pytest.approx(radial, rel=1e-6) and radial_max == pytest.approx(radial, rel=1e-6)
    assert tangential < 1e-6 * radial


def test_repeated_backward_through_a_retained_graph() -> None:
    kernel = Riesz(s=2)
    x = rows(20, 4).requires_grad_()
    value = 3.0 * streaming_pairwise_sum(x, kernel, half_space=True, tile=8)
    value.backward(retain_graph=True)
    first = x.grad.clone()  # type: ignore[union-attr]
    value.backward()
    expected = torch.autograd.grad(3.0 * brute_force(x, kernel, True), x)[0]
    torch.testing.assert_close(first, expected)
    torch.testing.assert_close(x.grad, 2 * expected)
