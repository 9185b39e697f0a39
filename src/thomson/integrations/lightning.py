"""Lightning: a :class:`~thomson.Regularizer` as a callback, with no change to the ``LightningModule``.

::

    reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True))
    trainer = lightning.Trainer(..., callbacks=[RegularizerCallback(reg)])
    trainer.fit(model)                      # or trainer.fit(model, ckpt_path=...): the state comes back

Right before each optimizer step (after the last micro-batch of an accumulated batch, after mixed precision has
unscaled the gradients, before gradient clipping) the callback evaluates the regularizer once and adds its gradient
to the parameters' — the gradient an unaccumulated step of ``loss + reg()`` would have, since Lightning divides
the task loss by ``accumulate_grad_batches``. The regularizer's step is the trainer's ``global_step``. Its total
and per-layer values are logged through the module's logger (``reg/total``, ``reg/<layer>``), and its state
(step, CoMHE projections and draw counter, MHP/MHC poles, SRIP vectors) goes into the Lightning checkpoint under
the callback's state.
"""

from __future__ import annotations

from typing import Any

from thomson._optional import require

require("lightning.pytorch", extra="integrations", purpose="thomson.integrations.lightning")

import lightning.pytorch as pl  # noqa: E402
import torch  # noqa: E402

from thomson.integrations._gradient import add_gradient, gradient_scale, holds_regularized  # noqa: E402
from thomson.regularizer import Regularizer  # noqa: E402


class RegularizerCallback(pl.Callback):
    """Adds a regularizer's gradient once per optimizer step, logs its values, keeps its state in checkpoints.

    Args:
        regularizer: a :class:`~thomson.Regularizer` of the ``LightningModule`` (or of a module inside it),
            reachable afterwards as ``.regularizer``. It is moved to the module's device when fitting starts.
        log: log ``<prefix>/total`` and ``<prefix>/<layer>`` (values before coefficients) at every optimizer
            step through ``LightningModule.log_dict``. Default True.
        prefix: the prefix of the logged names. Default ``"reg"``.

    With several optimizers (manual optimization), the gradient goes with the step of each optimizer that holds a
    regularized layer's parameters.
    """

    def __init__(self, regularizer: Regularizer, *, log: bool = True, prefix: str = "reg") -> None:
        if not isinstance(regularizer, Regularizer):
            raise TypeError(f"regularizer must be a thomson.Regularizer, got {type(regularizer).__name__}")
        self.regularizer = regularizer
        self.log = log
        self.prefix = prefix

    @property
    def state_key(self) -> str:
        return self._generate_state_key(objective=type(self.regularizer.objective).__name__, layers=self.layers)

    @property
    def layers(self) -> tuple[str, ...]:
        """The regularized layers' names."""
        return tuple(self.regularizer.layers)

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.regularizer.to(pl_module.device).train()

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        if not holds_regularized(self.regularizer, optimizer):
            return
        scaler = getattr(trainer.precision_plugin, "scaler", None)
        value = add_gradient(self.regularizer, trainer.global_step, gradient_scale(scaler, optimizer))
        if self.log:
            values = {f"{self.prefix}/total": float(value)}
            values.update({f"{self.prefix}/{name}": v for name, v in self.regularizer.stats.items()})
            pl_module.log_dict(values, on_step=True, on_epoch=False)

    def state_dict(self) -> dict[str, Any]:
        return {"regularizer": self.regularizer.state_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.regularizer.load_state_dict(state_dict["regularizer"])


__all__ = ["RegularizerCallback"]
