from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import thomson
from thomson.functional import hyperspherical_energy


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3)
        self.fc = nn.Linear(16 * 4 * 4, 32)
        self.head = nn.Linear(32, 10)
        self.prototypes = nn.Parameter(torch.randn(5, 32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.conv2(x))
        return self.head(torch.relu(self.fc(x.flatten(1))))


def mhe_value(w: torch.Tensor, half_space: bool) -> float:
    return float(hyperspherical_energy(w.detach().flatten(1), 2, half_space=half_space))


@pytest.fixture
def model() -> SmallCNN:
    torch.manual_seed(0)
    return SmallCNN()


def test_default_selection_and_classifier(model: SmallCNN) -> None:
    reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True))
    assert reg.layers == ["conv1.weight", "conv2.weight", "fc.weight", "head.weight"]
    assert reg.classifier == "head.weight"
    assert list(reg.parameters()) == []  # the model's weights are not the regularizer's


def test_value_is_the_weighted_sum_and_stats_are_per_layer(model: SmallCNN) -> None:
    reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True), coef=0.5, classifier_coef=3.0)
    total = reg()
    hidden = [mhe_value(getattr(model, n).weight, True) for n in ("conv1", "conv2", "fc")]
    classifier = mhe_value(model.head.weight, False)  # the classifier is never half-space
    assert total.item() == pytest.approx(0.5 * sum(hidden) + 3.0 * classifier, rel=1e-6)
    assert reg.stats == pytest.approx(dict(zip(reg.layers, [*hidden, classifier], strict=True)), rel=1e-6)
    assert all(isinstance(v, float) for v in reg.stats.values())
    total.backward()
    assert model.conv1.weight.grad is not None and model.head.weight.grad is not None


def test_objective_coefficients_are_the_default(model: SmallCNN) -> None:
    reg = thomson.Regularizer(model, thomson.MHE(s=2, metric="angular"))
    assert (reg.coef, reg.classifier_coef) == (0.1, 1.0)


def test_schedules_follow_the_step_counter(model: SmallCNN) -> None:
    reg = thomson.Regularizer(
        model, thomson.MHE(), coef=lambda step: min(1.0, step / 10), classifier_coef=lambda step: 0.0
    )
    values = [reg().item() for _ in range(3)]
    assert values[0] == 0.0 and values[2] == pytest.approx(2 * values[1], rel=1e-6)
    assert int(reg.step) == 3
    reg.eval()
    reg()
    assert int(reg.step) == 3  # evaluation does not advance the schedule
    hidden = sum(v for k, v in reg.stats.items() if k != reg.classifier)
    assert reg(step=5).item() == pytest.approx(0.5 * hidden, rel=1e-6)
    state = reg.state_dict()
    fresh = thomson.Regularizer(model, thomson.MHE(), coef=lambda step: step)
    fresh.load_state_dict(state)
    assert int(fresh.step) == 3


def test_include_exclude_by_name_type_and_predicate(model: SmallCNN) -> None:
    mhe = thomson.MHE()
    assert thomson.Regularizer(model, mhe, include="conv*").layers == ["conv1.weight", "conv2.weight"]
    assert thomson.Regularizer(model, mhe, include=nn.Linear).layers == ["fc.weight", "head.weight"]
    assert thomson.Regularizer(model, mhe, include=lambda name, m: name.startswith("fc")).layers == ["fc.weight"]
    assert thomson.Regularizer(model, mhe, exclude=["conv1", nn.Linear]).layers == ["conv2.weight"]
    assert thomson.Regularizer(model, mhe, include=("conv1", "head")).layers == [
        "conv1.weight",
        "head.weight",
    ]
    # Any tensor with >= 2 dims can be named, here a bare parameter of the model.
    reg = thomson.Regularizer(model, mhe, include="prototypes", classifier=None)
    assert reg.layers == ["prototypes"] and reg().item() == pytest.approx(mhe_value(model.prototypes, False))


def test_classifier_override_and_none(model: SmallCNN) -> None:
    assert thomson.Regularizer(model, thomson.MHE(), classifier="fc").classifier == "fc.weight"
    assert thomson.Regularizer(model, thomson.MHE(), classifier=None).classifier is None
    with pytest.raises(ValueError, match="classifier='bn1'"):
        thomson.Regularizer(model, thomson.MHE(), classifier="bn1")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"coef": -1.0}, ValueError, "coef"),
        ({"classifier_coef": float("nan")}, ValueError, "classifier_coef"),
        ({"include": "nothing*"}, ValueError, "no weight selected"),
        ({"include": 3}, TypeError, "selector"),
    ],
)
def test_bad_arguments_raise(model: SmallCNN, kwargs: dict[str, object], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        thomson.Regularizer(model, thomson.MHE(), **kwargs)  # type: ignore[arg-type]


def test_wrong_objective_type_raises(model: SmallCNN) -> None:
    with pytest.raises(TypeError, match="objective"):
        thomson.Regularizer(model, lambda w: w.sum())  # type: ignore[arg-type]


def test_non_finite_weight_names_the_layer(model: SmallCNN) -> None:
    reg = thomson.Regularizer(model, thomson.MHE())
    with torch.no_grad():
        model.conv2.weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match=r"conv2\.weight"):
        reg()


def test_parametrized_weights_are_regularized_through_the_parametrization(model: SmallCNN) -> None:
    class Double(nn.Module):
        def forward(self, w: torch.Tensor) -> torch.Tensor:
            return torch.cat([w[:, :1] * 2, w[:, 1:]], dim=1)

    parametrize.register_parametrization(model.fc, "weight", Double())
    reg = thomson.Regularizer(model, thomson.MHE(), include="fc.weight", classifier=None)
    assert reg.layers == ["fc.weight"]
    value = reg()
    assert value.item() == pytest.approx(mhe_value(model.fc.weight, False), rel=1e-6)
    value.backward()
    assert model.fc.parametrizations.weight.original.grad is not None


def test_compiled_model_is_unwrapped(model: SmallCNN) -> None:
    compiled = torch.compile(model)
    reg = thomson.Regularizer(compiled, thomson.MHE())
    assert reg.layers == thomson.Regularizer(model, thomson.MHE()).layers


def test_ddp_model_is_unwrapped(model: SmallCNN, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch.distributed as dist

    dist.init_process_group("gloo", store=dist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1)
    try:
        ddp = nn.parallel.DistributedDataParallel(model)
        reg = thomson.Regularizer(ddp, thomson.MHE())
        assert reg.layers[0] == "conv1.weight"
        reg().backward()
        assert model.conv1.weight.grad is not None
    finally:
        dist.destroy_process_group()


def test_autocast_and_half_precision_models_give_float32(model: SmallCNN) -> None:
    reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True))
    reference = reg().item()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(torch.randn(2, 1, 8, 8))
        value = reg()
    assert value.dtype == torch.float32 and value.item() == pytest.approx(reference, rel=1e-6)
    model.to(torch.bfloat16)
    value = reg()
    assert value.dtype == torch.float32 and value.item() == pytest.approx(reference, rel=2e-2)


def test_an_objectives_error_names_the_layer_and_the_weight_shape() -> None:
    class Picky(thomson.Objective):
        def forward(self, weight: torch.Tensor, *, layer: str = "", classifier: bool = False) -> torch.Tensor:
            if weight.shape[0] > 4:
                raise ValueError("too many neurons")
            return weight.sum()

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 5))
    with pytest.raises(ValueError, match=r"Picky on layer '1\.weight' \(weight of shape \(5, 4\)\): too many neurons"):
        thomson.Regularizer(model, Picky())()


def test_flags_that_did_nothing_warn() -> None:
    for cls in (thomson.SO, thomson.DSO, thomson.MC):
        with pytest.warns(DeprecationWarning, match="changes nothing"):
            cls(reference=True)
    with pytest.warns(DeprecationWarning, match="reference=not normalized"):
        rmhp = thomson.RMHP(normalized=False)
    assert rmhp.reference and not rmhp.normalized
