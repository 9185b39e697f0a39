"""thomson.embeddings: the embeddings report's random expectations (closed forms and Monte Carlo), its best
values (closed forms), and reading embeddings from files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from thomson.embeddings import inspect_embeddings, load_embeddings
from thomson.functional import alignment, uniformity
from thomson.inspection import measure_rows


def mc_uniformity(n: int, d: int, t: float, draws: int, seed: int) -> tuple[float, float]:
    """Mean and standard error of the uniformity of n uniform random directions, by dense float64 algebra."""
    g = torch.Generator().manual_seed(seed)
    i, j = torch.triu_indices(n, n, offset=1)
    values = []
    for _ in range(draws // 1000):
        z = torch.randn(1000, n, d, generator=g, dtype=torch.float64)
        z = z / z.norm(dim=2, keepdim=True)
        d2 = 2.0 - 2.0 * (z @ z.mT)[:, i, j]
        values.append(torch.exp(-t * d2).mean(1).log())
    u = torch.cat(values)
    return float(u.mean()), float(u.std()) / math.sqrt(len(u))


@pytest.mark.parametrize(("n", "d", "t"), [(6, 3, 2.0), (12, 5, 1.0), (40, 8, 3.0)])
def test_random_uniformity_matches_monte_carlo(n: int, d: int, t: float) -> None:
    mean, se = mc_uniformity(n, d, t, draws=20_000, seed=n)
    random = inspect_embeddings(torch.randn(n, d), t=t, solver_limit=0).measures["uniformity"].random
    assert random is not None and abs(random - mean) < 4 * se


def test_random_uniformity_in_high_dimension_tends_to_minus_2t() -> None:
    for d in (256, 1024):
        random = inspect_embeddings(torch.randn(300, d), t=2.0, solver_limit=0).measures["uniformity"].random
        assert random == pytest.approx(-4.0 + 8.0 / d, abs=2.0 / d**2 + 1e-4)  # log μ₁ = -2t + 2t²/D + O(1/D²)


def test_alignment_random_and_best() -> None:
    z = torch.randn(10, 3)
    pairs = z + 0.1 * torch.randn(10, 3)
    measure = inspect_embeddings(z, pairs, alpha=2.0, solver_limit=0).measures["alignment"]
    assert measure.random == pytest.approx(2.0, abs=1e-12)  # E|x - y|² = 2 - 2E[c] = 2
    assert measure.value == pytest.approx(float(alignment(z.double(), pairs.double())), abs=1e-12)
    assert (measure.best, measure.best_source) == (0.0, "identical pairs")
    # on S², c is uniform on [-1, 1]: E sqrt(2 - 2c) = 4/3
    assert inspect_embeddings(z, pairs, alpha=1.0, solver_limit=0).measures["alignment"].random == pytest.approx(
        4 / 3, abs=1e-12
    )
    assert "alignment" not in inspect_embeddings(z, solver_limit=0).measures


def test_best_uniformity_closed_forms() -> None:
    t = 1.5
    report = inspect_embeddings(torch.randn(5, 4), t=t)
    assert report.measures["uniformity"].best == pytest.approx(-2 * t * 5 / 4, abs=1e-12)
    assert report.measures["mhe_s2"].best_source == "regular simplex"
    n = 7  # the regular heptagon: chords 2 sin(πk/n)
    chords2 = [4 * math.sin(math.pi * (j - i) / n) ** 2 for i in range(n) for j in range(i + 1, n)]
    expected = math.log(sum(math.exp(-t * c) for c in chords2) / len(chords2))
    measure = inspect_embeddings(torch.randn(n, 2), t=t, solver_limit=0).measures["uniformity"]
    assert measure.best == pytest.approx(expected, abs=1e-12) and measure.best_source == "regular polygon"
    # the cross-polytope in 3 dims (octahedron): 12 pairs at d² = 2, 3 antipodal at d² = 4
    measure = inspect_embeddings(torch.randn(6, 3), t=t, solver_limit=0).measures["uniformity"]
    assert measure.best == pytest.approx(math.log((12 * math.exp(-2 * t) + 3 * math.exp(-4 * t)) / 15), abs=1e-12)
    assert inspect_embeddings(torch.randn(9, 3), solver_limit=0).measures["uniformity"].best is None


def test_report_values_and_errors() -> None:
    z = torch.randn(9, 4, dtype=torch.float64)
    report = inspect_embeddings(z, name="z.pt", solver_limit=0)
    assert (report.name, report.n, report.dim) == ("z.pt", 9, 4)
    assert report.measures["uniformity"].value == pytest.approx(float(uniformity(z)), abs=1e-12)
    for key, value in measure_rows(z).items():
        assert report.measures[key].value == value
    with pytest.raises(ValueError, match="N >= 2"):
        inspect_embeddings(torch.randn(1, 4), solver_limit=0)
    with pytest.raises(ValueError, match="non-finite"):
        inspect_embeddings(torch.tensor([[1.0, math.nan], [0.0, 1.0]]), solver_limit=0)
    with pytest.raises(ValueError, match="same shape"):
        inspect_embeddings(z, z[:3], solver_limit=0)


def test_load_embeddings(tmp_path: Path) -> None:
    z = torch.randn(5, 3)
    torch.save(z, tmp_path / "z.pt")
    assert torch.equal(load_embeddings(tmp_path / "z.pt"), z)
    torch.save({"z": z, "labels": torch.arange(5)}, tmp_path / "both.pt")
    assert torch.equal(load_embeddings(tmp_path / "both.pt", "z"), z)
    with pytest.raises(ValueError, match=r"holds 2 tensors.*--key"):
        load_embeddings(tmp_path / "both.pt")
    with pytest.raises(ValueError, match="no tensor named 'w'"):
        load_embeddings(tmp_path / "both.pt", "w")
    np.save(tmp_path / "z.npy", z.numpy())
    assert torch.equal(load_embeddings(tmp_path / "z.npy"), z)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"not a plain \.npy"):
        load_embeddings(tmp_path / "obj.npy")
    safetensors = pytest.importorskip("safetensors.torch")
    safetensors.save_file({"emb": z}, str(tmp_path / "z.safetensors"))
    assert torch.equal(load_embeddings(tmp_path / "z.safetensors"), z)
    with pytest.raises(FileNotFoundError, match="no embeddings file"):
        load_embeddings(tmp_path / "absent.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="holds a list"):
        load_embeddings(tmp_path / "list.pt")
