"""thomson.integrations.lightning against the real Lightning on CPU: the gradient equals an unaccumulated step's,
mixed precision does not scale it twice, the values are logged, a resumed fit continues exactly."""

from __future__ import annotations

import csv
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import thomson
from thomson.functional import hyperspherical_energy

DATA = torch.utils.data.TensorDataset(
    torch.randn(32, 6, generator=torch.Generator().manual_seed(1)),
    torch.randint(0, 4, (32,), generator=torch.Generator().manual_seed(2)),
)


def build(pl: ModuleType, *, in_setup: thomson.Objective | None = None) -> Any:
    """A LightningModule that records its gradients and weights before each optimizer step. With ``in_setup``,
    it builds ``self.reg`` in ``setup()`` and adds it in ``training_step`` (the one-line pattern)."""

    class Net(pl.LightningModule):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.net = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4))
            self.grads: list[dict[str, torch.Tensor]] = []
            self.weights: list[dict[str, torch.Tensor]] = []

        def setup(self, stage: str) -> None:
            if in_setup is not None and not hasattr(self, "reg"):
                self.reg = thomson.Regularizer(self.net, in_setup)

        def training_step(self, batch: Any, index: int) -> torch.Tensor:
            x, y = batch
            loss = F.cross_entropy(self.net(x), y)
            return loss + self.reg(step=self.global_step) if in_setup is not None else loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.1)

        def on_before_optimizer_step(self, optimizer: Any) -> None:  # runs after every callback's hook
            self.grads.append({n: p.grad.detach().clone() for n, p in self.net.named_parameters()})
            self.weights.append({n: p.detach().clone() for n, p in self.net.named_parameters()})

    return Net()


def fit(pl: ModuleType, module: Any, callbacks: list[Any], *, batch: int, samples: int = 32, **options: Any) -> Any:
    options = {"max_steps": 3, "logger": False, **options}
    trainer = pl.Trainer(
        accelerator="cpu",
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
        **{k: v for k, v in options.items() if k != "ckpt_path"},
    )
    data = torch.utils.data.Subset(DATA, range(samples))
    trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=batch), ckpt_path=options.get("ckpt_path"))
    return trainer


def test_accumulated_steps_get_the_unaccumulated_gradient_and_count_optimizer_steps(pl: ModuleType) -> None:
    from thomson.integrations.lightning import RegularizerCallback

    runs = {}
    for batch, accumulate in ((8, 1), (4, 2)):
        module = build(pl)
        reg = thomson.Regularizer(module, thomson.MHE(s=2, half_space=True))
        trainer = fit(pl, module, [RegularizerCallback(reg)], batch=batch, accumulate_grad_batches=accumulate)
        assert int(reg.step) == trainer.global_step == 3 and len(module.grads) == 3
        runs[accumulate] = module
    for plain, accumulated in zip(runs[1].grads, runs[2].grads, strict=True):
        for name in plain:
            torch.testing.assert_close(accumulated[name], plain[name], rtol=1e-5, atol=1e-7)
    # The first step by hand: the task loss of the 8 samples plus the regularizer, one backward.
    reference = build(pl)
    x, y = DATA[:8]
    loss = F.cross_entropy(reference.net(x), y) + thomson.Regularizer(reference, thomson.MHE(s=2, half_space=True))()
    loss.backward()
    for name, parameter in reference.net.named_parameters():
        torch.testing.assert_close(runs[2].grads[0][name], parameter.grad, rtol=1e-5, atol=1e-7)


def test_mixed_precision_gradients_get_the_regularizer_once_unscaled(pl: ModuleType) -> None:
    from lightning.pytorch.plugins.precision import MixedPrecision

    from thomson.integrations.lightning import RegularizerCallback

    grads = []
    for with_callback in (True, False):
        module = build(pl)
        reg = thomson.Regularizer(module, thomson.MHE(s=2))
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
        plugin = MixedPrecision("16-mixed", "cpu", scaler=scaler)
        callbacks = [RegularizerCallback(reg)] if with_callback else []
        fit(pl, module, callbacks, batch=4, accumulate_grad_batches=2, max_steps=1, plugins=[plugin])
        grads.append(module.grads[0])
    fresh = build(pl)
    thomson.Regularizer(fresh, thomson.MHE(s=2))().backward()
    for name, parameter in fresh.net.named_parameters():
        added = grads[0][name] - grads[1][name]  # what the callback added, in the unscaled gradients
        expected = parameter.grad if parameter.grad is not None else torch.zeros_like(parameter)  # biases: none
        torch.testing.assert_close(added, expected, rtol=1e-4, atol=1e-6)


def test_total_and_per_layer_values_go_to_the_modules_logger(pl: ModuleType, tmp_path: Path) -> None:
    from lightning.pytorch.loggers import CSVLogger

    from thomson.integrations.lightning import RegularizerCallback

    module = build(pl)
    reg = thomson.Regularizer(module, thomson.MHE(s=2, half_space=True), coef=0.5, classifier_coef=3.0)
    logger = CSVLogger(tmp_path, name="run", version=0)
    fit(pl, module, [RegularizerCallback(reg)], batch=8, logger=logger, log_every_n_steps=1)
    with open(tmp_path / "run" / "version_0" / "metrics.csv") as file:
        rows = [r for r in csv.DictReader(file) if r.get("reg/total")]
    assert [int(r["step"]) for r in rows] == [0, 1, 2]
    for row, weights in zip(rows, module.weights, strict=True):
        hidden = float(hyperspherical_energy(weights["0.weight"].double(), 2, half_space=True))
        head = float(hyperspherical_energy(weights["2.weight"].double(), 2))
        assert float(row["reg/net.0.weight"]) == pytest.approx(hidden, rel=1e-5)
        assert float(row["reg/net.2.weight"]) == pytest.approx(head, rel=1e-5)
        assert float(row["reg/total"]) == pytest.approx(0.5 * hidden + 3.0 * head, rel=1e-5)


OBJECTIVES = {
    "comhe-angle": lambda: thomson.CoMHE("angle", dim=3, seed=0, inner_lr=0.05),
    "comhe-random": lambda: thomson.CoMHE("random", dim=3, num_projections=2, seed=0),
    "mhp": lambda: thomson.MHP(),
}


@pytest.mark.parametrize(
    ("how", "objective"), [("callback", "comhe-angle"), ("callback", "mhp"), ("training_step", "comhe-random")]
)
def test_a_resumed_fit_continues_exactly(pl: ModuleType, tmp_path: Path, how: str, objective: str) -> None:
    from thomson.integrations.lightning import RegularizerCallback

    def run(max_steps: int, ckpt_path: Path | None = None) -> tuple[Any, thomson.Regularizer, Any]:
        if how == "callback":
            module = build(pl)
            reg = thomson.Regularizer(module, OBJECTIVES[objective]())
            callbacks = [RegularizerCallback(reg)]
        else:
            module, callbacks = build(pl, in_setup=OBJECTIVES[objective]()), []
        # one batch per epoch: every step sees the same data, however Lightning counts batches on resuming
        trainer = fit(pl, module, callbacks, batch=8, samples=8, max_steps=max_steps, ckpt_path=ckpt_path)
        return module, reg if how == "callback" else module.reg, trainer

    straight, straight_reg, _ = run(6)
    first, first_reg, trainer = run(4)
    trainer.save_checkpoint(tmp_path / "step4.ckpt")
    resumed, resumed_reg, _ = run(6, tmp_path / "step4.ckpt")
    assert int(resumed_reg.step) == int(straight_reg.step) == (6 if how == "callback" else 0)
    state, expected = resumed_reg.state_dict(), straight_reg.state_dict()
    assert sorted(state) == sorted(expected)
    assert any(":" in key for key in state) or objective == "comhe-random"  # projections, poles
    assert "objective.draws" in state or objective == "mhp"
    for key in expected:
        torch.testing.assert_close(state[key], expected[key], rtol=1e-6, atol=1e-7)
    for name, parameter in straight.net.named_parameters():
        torch.testing.assert_close(resumed.net.get_parameter(name), parameter, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(resumed.grads[-1]["0.weight"], straight.grads[-1]["0.weight"], rtol=1e-6, atol=1e-7)
    assert len(first.grads) == 4 and int(first_reg.step) in (0, 4)


def test_a_regularizer_is_required(pl: ModuleType) -> None:
    from thomson.integrations.lightning import RegularizerCallback

    with pytest.raises(TypeError, match=r"thomson\.Regularizer"):
        RegularizerCallback(thomson.MHE())  # type: ignore[arg-type]
