import math

import pytest
import torch

import thomson
from thomson.functional import hyperspherical_energy


def test_mhe_is_the_energy_of_the_flattened_weight() -> None:
    w = torch.randn(8, 3, 3, 3, dtype=torch.float64)
    for half_space in (False, True):
        mhe = thomson.MHE(s=1, metric="angular", half_space=half_space, reference=True)
        expected = hyperspherical_energy(w.reshape(8, 27), 1, metric="angular", half_space=half_space, reference=True)
        torch.testing.assert_close(mhe(w), expected)


def test_classifier_never_uses_half_space() -> None:
    w = torch.randn(10, 6, dtype=torch.float64)
    mhe = thomson.MHE(s=2, half_space=True)
    torch.testing.assert_close(mhe(w, classifier=True), thomson.MHE(s=2)(w))
    assert not torch.allclose(mhe(w), mhe(w, classifier=True))


@pytest.mark.parametrize(
    ("s", "metric", "coefs"),
    [
        (0, "euclidean", (1.0, 10.0)),
        (1, "euclidean", (1.0, 10.0)),
        (2, "euclidean", (1.0, 10.0)),
        (0, "angular", (1.0, 10.0)),
        (1, "angular", (0.1, 1.0)),
        (2, "angular", (0.1, 1.0)),
    ],
)
def test_reference_coefficient_table(s: float, metric: str, coefs: tuple[float, float]) -> None:
    mhe = thomson.MHE(s=s, metric=metric, reference=True)  # type: ignore[arg-type]
    assert (mhe.coef, mhe.classifier_coef) == coefs


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"s": math.nan}, "s must"),
        ({"s": "2"}, "s must"),
        ({"metric": "chord"}, "metric"),
        ({"eps": -1.0}, "eps"),
        ({"backend": "tpu"}, "backend"),
    ],
)
def test_bad_arguments_raise_at_construction(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        thomson.MHE(**kwargs)  # type: ignore[arg-type]


def test_one_dimensional_weight_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 2 dims"):
        thomson.MHE()(torch.randn(5))


def test_repr_names_the_settings() -> None:
    assert "half_space=True" in repr(thomson.MHE(s=0, half_space=True))
