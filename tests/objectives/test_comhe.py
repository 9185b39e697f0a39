"""``CoMHE`` against numpy re-expressions of the reference code, closed forms, statistics and short trainings."""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

import thomson
from thomson.functional import hyperspherical_energy

LEARNED = ("angle", "adversarial")
PROJECTIONS = ("random", "angle", "adversarial", "group")


# ---- numpy re-expressions of the reference code (neurons as columns, ε = 1e-4 inside the norm) -------------


def ref_energy(x: np.ndarray, half_space: bool) -> float:
    """The reference's s=2 loss of the rows of ``x``: the full 2N×2N (or N×N) matrix, strict upper triangle."""
    f = x.T
    if half_space:
        f = np.concatenate([f, -f], axis=1)
    n = f.shape[1]
    norm = np.sqrt((f * f).sum(0, keepdims=True) + 1e-4)
    cos = (f.T @ f) / (norm.T @ norm)
    final = (2.0 - 2.0 * cos + np.eye(n)) ** -1.0
    return float(np.triu(final, 1).sum() / (n * (n - 1) / 2.0))


def ref_projected(w: np.ndarray, projections: np.ndarray) -> float:
    """The reference's random-projection loss: mean over ``P_c`` of the half-space energy of ``P_c Wᵀ``."""
    return float(np.mean([ref_energy(w @ p.T, half_space=True) for p in projections]))


def np_cosines(x: np.ndarray, reference: bool) -> np.ndarray:
    u = x / np.sqrt((x * x).sum(1, keepdims=True) + (1e-4 if reference else 0.0))
    return u @ u.T


def np_angle_loss(p: np.ndarray, w: np.ndarray, reference: bool = True) -> float:
    return float(np.linalg.norm(np_cosines(w @ p.T, reference) - np_cosines(w, reference)))


def numeric_grad(f: Callable[[np.ndarray], float], p: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        e = np.zeros_like(p)
        e[idx] = h
        g[idx] = (f(p + e) - f(p - e)) / (2 * h)
    return g


def rows(n: int, d: int, seed: int = 0) -> torch.Tensor:
    return torch.tensor(np.random.default_rng(seed).normal(size=(n, d)))


def projection_of(objective: thomson.CoMHE, layer: str) -> torch.Tensor:
    return objective.state_dict()[f"{layer}:projection"].clone()


# ---- the projected energy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base",
    [thomson.MHE(2, half_space=True), thomson.MHE(0, metric="angular"), thomson.MHE(1, reference=True)],
    ids=repr,
)
@pytest.mark.parametrize("k", [7, 11])
def test_orthogonal_projection_keeps_the_energy(base: thomson.MHE, k: int) -> None:
    w = rows(9, 7)
    q = torch.stack([torch.linalg.qr(rows(k, 7, seed=s))[0] for s in (1, 2, 3)])
    assert torch.allclose(q[0].T @ q[0], torch.eye(7, dtype=torch.float64))  # an isometry R^7 -> R^k
    got = thomson.CoMHE(base=base).projected_energy(w, q)
    torch.testing.assert_close(got, base(w), rtol=1e-12, atol=0)


@pytest.mark.parametrize("projection", PROJECTIONS)
def test_layers_with_few_coordinates_and_the_classifier_are_not_projected(projection: str) -> None:
    base = thomson.MHE(2, half_space=True)
    comhe = thomson.CoMHE(projection, dim=8, base=base)  # type: ignore[arg-type]
    small, large = rows(6, 8), rows(6, 20)
    assert torch.equal(comhe(small), base(small))  # D <= dim
    assert torch.equal(comhe(large, classifier=True), base(large, classifier=True))  # full space
    assert not torch.allclose(comhe(large), base(large))  # projected
    assert torch.equal(comhe(rows(1, 20)), base(rows(1, 20)))  # no pair


def test_explicit_projections_match_the_reference_formula() -> None:
    w, p = rows(12, 20), rows(5 * 6, 20, seed=1).reshape(5, 6, 20)
    got = thomson.CoMHE("random", dim=6, reference=True).projected_energy(w, p)
    assert float(got) == pytest.approx(ref_projected(w.numpy(), p.numpy()), rel=1e-10, abs=0)


@pytest.mark.parametrize("projection", LEARNED)
def test_stored_projection_gives_the_reference_value_in_eval_mode(projection: str) -> None:
    w, p = rows(12, 20), rows(6, 20, seed=1)
    comhe = thomson.CoMHE(projection, dim=6, reference=True).eval()  # type: ignore[arg-type]
    comhe(w, layer="conv.weight")  # creates the projection
    comhe.load_state_dict({**comhe.state_dict(), "conv/weight:projection": p})
    got = comhe(w, layer="conv.weight")
    assert float(got) == pytest.approx(ref_projected(w.numpy(), p.numpy()[None]), rel=1e-10, abs=0)


def test_group_is_the_mean_over_contiguous_coordinate_groups() -> None:
    w = rows(9, 23)
    for dim, groups in ((5, 5), (8, 3), (22, 2)):
        comhe = thomson.CoMHE("group", dim=dim, reference=True)
        parts = np.array_split(w.numpy(), groups, axis=1)
        assert max(part.shape[1] for part in parts) <= dim
        expected = np.mean([ref_energy(part, half_space=True) for part in parts])
        assert float(comhe(w)) == pytest.approx(expected, rel=1e-10, abs=0)
    conv = torch.randn(4, 6, 3, 3, dtype=torch.float64)  # dim 9 x 2: each group two whole input channels
    by_channels = [thomson.MHE(2, half_space=True)(conv[:, c : c + 2]) for c in (0, 2, 4)]
    torch.testing.assert_close(thomson.CoMHE("group", dim=18)(conv), torch.stack(by_channels).mean())


# ---- random projections: statistics -----------------------------------------------------------------------


def draws(comhe: thomson.CoMHE, w: torch.Tensor, n: int) -> torch.Tensor:
    return torch.stack([comhe(w) for _ in range(n)])


def test_random_projection_mean_approaches_the_energy_as_dim_grows() -> None:
    # A projected cosine has variance ≈ (1 - c²)²/k; the convex pair term makes the mean biased upwards by
    # O(1/k). 200 single-projection draws per k; bias measured in standard errors of the mean.
    w = rows(16, 256)
    exact = float(hyperspherical_energy(w, 2, half_space=True))
    bias, err = {}, {}
    for k in (8, 32, 128):
        v = draws(thomson.CoMHE("random", dim=k, num_projections=1, seed=k), w, 200)
        bias[k], err[k] = float(v.mean()) - exact, float(v.std()) / math.sqrt(len(v))
    assert bias[8] - 4 * err[8] > bias[32] + 4 * err[32] > bias[128] - 4 * err[128]
    assert bias[8] / bias[128] > 8  # about 1/k: 16 expected
    assert abs(bias[128]) < 0.02 * exact


def test_random_projection_variance_falls_as_one_over_num_projections() -> None:
    w = rows(12, 128)
    var = {c: float(draws(thomson.CoMHE("random", dim=16, num_projections=c, seed=c), w, 300).var()) for c in (1, 8)}
    # independent draws: the variance of a mean of C is var/C; 300 draws estimate each variance to ~10%
    assert var[1] / var[8] == pytest.approx(8, rel=0.35)


def test_random_draws_are_new_in_training_and_fixed_otherwise() -> None:
    comhe, w = thomson.CoMHE("random", dim=4, num_projections=2, seed=0), rows(6, 10)
    train = draws(comhe, w, 3)
    assert len(set(train.tolist())) == 3 and int(comhe.draws) == 3
    with torch.no_grad():
        fixed = draws(comhe, w, 2)
    assert int(comhe.draws) == 3 and fixed[0] == fixed[1]
    assert comhe.eval()(w) == fixed[0]


def test_unseeded_objective_follows_torch_manual_seed() -> None:
    w = rows(6, 10)
    values = []
    for _ in range(2):
        torch.manual_seed(7)
        values.append(draws(thomson.CoMHE("random", dim=4), w, 2))
    torch.testing.assert_close(values[0], values[1], rtol=0, atol=0)


# ---- learned projections: inner steps and the look-ahead --------------------------------------------------


def test_angle_inner_step_and_look_ahead_match_a_numpy_re_expression() -> None:
    w = rows(6, 5)
    lr, decay = 0.3, 0.05
    comhe = thomson.CoMHE("angle", dim=3, inner_lr=lr, inner_weight_decay=decay, reference=True, seed=0)
    comhe.eval()(w, layer="l")
    p0 = projection_of(comhe, "l").numpy()
    value = comhe.train()(w, layer="l")

    wn = w.numpy()

    def loss(p: np.ndarray) -> float:
        return np_angle_loss(p, wn)

    p1 = p0 - lr * (numeric_grad(loss, p0) + decay * p0)  # inner step: SGD on ℓ_AP + ½·decay·|P|²
    np.testing.assert_allclose(projection_of(comhe, "l").numpy(), p1, rtol=0, atol=1e-8)
    look_ahead = p1 - lr * numeric_grad(loss, p1)  # no decay in the look-ahead, as in the reference
    assert float(value.detach()) == pytest.approx(ref_energy(wn @ look_ahead.T, half_space=True), rel=1e-7)


def test_adversarial_inner_steps_and_look_ahead_match_a_numpy_re_expression() -> None:
    w = rows(6, 5)
    lr, decay = 0.2, 0.05
    comhe = thomson.CoMHE("adversarial", dim=3, inner_steps=2, inner_lr=lr, inner_weight_decay=decay, reference=True)
    comhe.eval()(w, layer="l")
    p = projection_of(comhe, "l").numpy()
    value = comhe.train()(w, layer="l")

    wn = w.numpy()

    def energy(q: np.ndarray) -> float:
        return ref_energy(wn @ q.T, half_space=False)  # the ascent is on the full-space energy

    for _ in range(2):
        p = p + lr * (numeric_grad(energy, p) - decay * p)
    np.testing.assert_allclose(projection_of(comhe, "l").numpy(), p, rtol=0, atol=1e-8)
    look_ahead = p + lr * numeric_grad(energy, p)
    assert float(value.detach()) == pytest.approx(ref_energy(wn @ look_ahead.T, half_space=True), rel=1e-7)


def test_angle_inner_steps_lower_the_angle_preservation_loss() -> None:
    w = rows(20, 50)
    comhe = thomson.CoMHE("angle", dim=10, inner_lr=0.5, seed=3)
    comhe.eval()(w, layer="l")
    losses = [np_angle_loss(projection_of(comhe, "l").numpy(), w.numpy(), reference=False)]
    for _ in range(10):
        comhe.train()(w, layer="l")
        losses.append(np_angle_loss(projection_of(comhe, "l").numpy(), w.numpy(), reference=False))
    assert all(b < a for a, b in itertools.pairwise(losses))
    assert losses[-1] < 0.8 * losses[0]


def test_adversarial_inner_steps_raise_the_projected_energy() -> None:
    w = rows(20, 50)
    comhe = thomson.CoMHE("adversarial", dim=10, inner_steps=5, inner_lr=0.5, seed=3)
    comhe.eval()(w, layer="l")
    energies = [ref_energy(w.numpy() @ projection_of(comhe, "l").numpy().T, half_space=False)]
    for _ in range(4):
        comhe.train()(w, layer="l")
        energies.append(ref_energy(w.numpy() @ projection_of(comhe, "l").numpy().T, half_space=False))
    assert all(b > a for a, b in itertools.pairwise(energies))


@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("projection", PROJECTIONS)
def test_gradcheck_through_the_projection_and_look_ahead(projection: str, reference: bool) -> None:
    # inner_steps=0 keeps P fixed between gradcheck's calls; the look-ahead P'(W) is what is differentiated
    extra = {"inner_steps": 0, "inner_lr": 0.3} if projection in LEARNED else {}
    comhe = thomson.CoMHE(projection, dim=3, seed=0, reference=reference, **extra)  # type: ignore[arg-type]
    if projection == "random":
        comhe.eval()  # the fixed draw
    w = rows(5, 7).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: comhe(x, layer="l"), (w,))


def test_a_projection_that_keeps_every_angle_has_finite_gradients() -> None:
    # |Ĉ(WPᵀ) - Ĉ(W)|_F = 0 exactly: the norm's kink, differentiated twice through the look-ahead
    comhe = thomson.CoMHE("angle", dim=1, inner_steps=0, seed=0)
    w = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    comhe.eval()(w, layer="l")
    comhe.load_state_dict({**comhe.state_dict(), "l:projection": torch.tensor([[1.0, 0.0]], dtype=torch.float64)})
    comhe.train()(w, layer="l").backward()
    assert w.grad is not None and torch.isfinite(w.grad).all()


def test_inner_lr_may_follow_an_optimizer() -> None:
    w = rows(8, 12)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.4)
    follower = thomson.CoMHE("angle", dim=4, inner_lr=lambda: opt.param_groups[0]["lr"], seed=0)
    fixed = thomson.CoMHE("angle", dim=4, inner_lr=0.4, seed=0)
    torch.testing.assert_close(follower(w, layer="l"), fixed(w, layer="l"), rtol=0, atol=0)
    opt.param_groups[0]["lr"] = 0.0
    before = projection_of(follower, "l")
    follower(w, layer="l")
    assert torch.equal(projection_of(follower, "l"), before)  # lr 0: no step
    opt.param_groups[0]["lr"] = math.nan
    with pytest.raises(ValueError, match="inner_lr"):
        follower(w, layer="l")


def test_non_finite_weights_leave_the_projection_unchanged() -> None:
    comhe, w = thomson.CoMHE("adversarial", dim=3, seed=0), rows(6, 9)
    comhe(w, layer="l")
    before = projection_of(comhe, "l")
    w[0, 0] = math.nan
    assert not torch.isfinite(comhe(w, layer="l"))
    assert torch.equal(projection_of(comhe, "l"), before)


# ---- state ------------------------------------------------------------------------------------------------


def test_state_dict_round_trip_reproduces_the_next_random_draws() -> None:
    w = rows(6, 10)
    a = thomson.CoMHE("random", dim=4, num_projections=3, seed=5)
    draws(a, w, 3)
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    buffer.seek(0)
    b = thomson.CoMHE("random", dim=4, num_projections=3, seed=99)
    b.load_state_dict(torch.load(buffer))
    expected = draws(a, w, 3)
    assert torch.equal(draws(b, w, 3), expected)
    assert not torch.equal(draws(thomson.CoMHE("random", dim=4, num_projections=3, seed=99), w, 3), expected)


@pytest.mark.parametrize("projection", LEARNED)
def test_state_dict_round_trip_reproduces_learned_projections(projection: str) -> None:
    w = rows(6, 10)
    a = thomson.CoMHE(projection, dim=4, inner_steps=2, seed=1)  # type: ignore[arg-type]
    for layer in ("a", "b.weight"):
        a(w, layer=layer)
    b = thomson.CoMHE(projection, dim=4, inner_steps=2, seed=2)  # type: ignore[arg-type]
    b.load_state_dict(a.state_dict())
    for layer in ("a", "b/weight"):
        assert torch.equal(projection_of(b, layer), projection_of(a, layer))
    assert torch.equal(b(w, layer="b.weight"), a(w, layer="b.weight"))  # the next inner steps too
    assert torch.equal(projection_of(b, "b/weight"), projection_of(a, "b/weight"))
    assert torch.equal(b(w, layer="c"), a(w, layer="c"))  # and the next initial projection


def test_projections_are_buffers_of_the_regularizer_not_model_parameters() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 3))
    n_params = len(list(model.parameters()))
    reg = thomson.Regularizer(model, thomson.CoMHE("angle", dim=4, seed=0))
    reg().backward()
    assert len(list(model.parameters())) == n_params and list(reg.parameters()) == []
    state = reg.state_dict()
    assert {"objective.0/weight:projection", "objective.2/weight:projection"} <= set(state)
    fresh = thomson.Regularizer(model, thomson.CoMHE("angle", dim=4, seed=1))
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.eval()(), reg.eval()(), rtol=0, atol=0)


# ---- the reference preset ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("projection", "dim", "count", "steps"), [("random", 40, 20, 0), ("angle", 30, 1, 1), ("adversarial", 30, 1, 10)]
)
def test_reference_preset_reproduces_the_layer_policy_on_cnn9(
    projection: str, dim: int, count: int, steps: int
) -> None:
    torch.manual_seed(0)
    model = thomson.models.CNN9(num_classes=100)
    comhe = thomson.CoMHE(projection, reference=True)  # type: ignore[arg-type]
    assert (comhe.dim, comhe.num_projections if projection == "random" else 1, comhe.inner_steps) == (dim, count, steps)
    reg = thomson.Regularizer(model, comhe).eval()
    assert (reg.coef, reg.classifier_coef) == (1.0, 10.0)
    reg()
    first, fc6, classifier = (m.weight.detach() for m in (model.features[0], model.fc6, model.classifier))
    half, full = thomson.MHE(2, half_space=True, reference=True), thomson.MHE(2, reference=True)
    # first conv: plain half-space MHE; classifier: full space (float32, evaluated alone or batched with other sets)
    assert reg.stats["features.0.weight"] == pytest.approx(float(half(first)), rel=1e-6)
    assert reg.stats["classifier.weight"] == pytest.approx(float(full(classifier)), rel=1e-6)
    assert sum(name.endswith(":projection") for name in comhe.state_dict()) == (0 if projection == "random" else 9)
    assert reg.stats["fc6.weight"] != pytest.approx(float(half(fc6)), rel=1e-3)  # projected


# Iteration 0 of the reference's published training logs (github.com/rmlin/CoMHE, MIT licence,
# <projection>/log/<run>/log_train_00.txt): "thom" = sum over the 10 hidden layers (coefficient 1), "thomf" =
# 10 x the classifier's full-space energy, after that step's inner updates, at He-normal initialization.
PUBLISHED_ITERATION_0 = {
    "random": (5.1348, 5.0269),  # random_projection/log/pd40_pn20
    "angle": (5.1797, 5.0191),  # angle_projection/log/pd30_pn1_iter1
    "adversarial": (5.1808, 5.0229),  # adversarial_projection/log/pd30_pn1_iter10
}


@pytest.mark.parametrize("projection", PUBLISHED_ITERATION_0)
def test_reference_preset_matches_the_published_logs_at_initialization(projection: str) -> None:
    # Another initialization and other draws than the logs' run: these sums vary by ~0.003 across seeds.
    torch.manual_seed(0)
    reg = thomson.Regularizer(thomson.models.CNN9(100), thomson.CoMHE(projection, reference=True, seed=0))  # type: ignore[arg-type]
    reg()
    thom = sum(value for name, value in reg.stats.items() if name != reg.classifier)
    thomf = 10 * reg.stats["classifier.weight"]
    assert (thom, thomf) == pytest.approx(PUBLISHED_ITERATION_0[projection], abs=0.01)


# ---- arguments --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"projection": "pca"}, "projection must be one of"),
        ({"dim": 0}, "dim must"),
        ({"dim": 2.5}, "dim must"),
        ({"num_projections": 0}, "num_projections must"),
        ({"projection": "angle", "num_projections": 3}, "num_projections does not apply"),
        ({"inner_steps": 1}, "inner_steps does not apply"),
        ({"projection": "group", "inner_lr": 0.1}, "inner_lr does not apply"),
        ({"projection": "angle", "inner_steps": -1}, "inner_steps must"),
        ({"projection": "angle", "inner_lr": -0.1}, "inner_lr must"),
        ({"projection": "adversarial", "inner_weight_decay": math.inf}, "inner_weight_decay must"),
        ({"seed": -1}, "seed must"),
        ({"seed": 2**63}, "seed must"),
    ],
)
def test_bad_arguments_raise_at_construction(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        thomson.CoMHE(**kwargs)  # type: ignore[arg-type]


def test_bad_base_and_bad_projections_raise() -> None:
    with pytest.raises(TypeError, match="base must"):
        thomson.CoMHE(base=nn.Linear(2, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="projections must"):
        thomson.CoMHE().projected_energy(rows(4, 5), torch.randn(2, 3, 6))
    comhe = thomson.CoMHE("angle", dim=3)
    comhe(rows(4, 5), layer="l")
    with pytest.raises(ValueError, match="rows of dimension 6"):
        comhe(rows(4, 6), layer="l")


def test_half_precision_weights_give_a_float32_value() -> None:
    value = thomson.CoMHE("random", dim=4, seed=0)(torch.randn(8, 16, dtype=torch.bfloat16))
    assert value.dtype == torch.float32 and torch.isfinite(value)


def test_repr_names_the_settings() -> None:
    text = repr(thomson.CoMHE("adversarial", inner_lr=lambda: 0.1))
    assert "projection='adversarial'" in text and "inner_steps=10" in text and "MHE(" in text


# ---- training ---------------------------------------------------------------------------------------------


def _train_digits(objective: thomson.CoMHE | None, steps: int = 200) -> float:
    """Sum of the hidden layers' half-space s=2 energy (unprojected) after a short SGD run on digits."""
    from sklearn import datasets  # the dev extra installs scikit-learn: a missing one is an error, not a skip

    x_np, y_np = datasets.load_digits(return_X_y=True)
    x, y = torch.tensor(x_np / 16.0, dtype=torch.float32), torch.tensor(y_np)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    reg = None if objective is None else thomson.Regularizer(model, objective)
    batches = torch.Generator().manual_seed(0)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=batches)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        if reg is not None:
            loss = loss + reg()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return sum(float(hyperspherical_energy(model[i].weight.detach(), 2, half_space=True)) for i in (0, 2))


def test_short_training_lowers_the_unprojected_energy() -> None:
    # Both hidden layers (D = 64 and 32 > dim = 16) are projected. Without a regularizer their energy rises
    # during training; each projection type keeps it well below that, from the same initialization and batches.
    plain = _train_digits(None)
    objectives = {
        "random": thomson.CoMHE("random", dim=16, num_projections=4, seed=0),
        "angle": thomson.CoMHE("angle", dim=16, seed=0),
        "adversarial": thomson.CoMHE("adversarial", dim=16, inner_steps=3, seed=0),
        "group": thomson.CoMHE("group", dim=16),
    }
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32))
    initial = sum(float(hyperspherical_energy(model[i].weight.detach(), 2, half_space=True)) for i in (0, 2))
    assert plain > initial + 0.02
    for name, objective in objectives.items():
        regularized = _train_digits(objective)
        assert regularized - initial < 0.75 * (plain - initial), name
