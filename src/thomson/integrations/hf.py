"""Hugging Face ``Trainer``: a :class:`~thomson.Regularizer` as a ``TrainerCallback``.

::

    reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True))
    trainer = Trainer(model, args, train_dataset=data, callbacks=[RegularizerCallback(reg)])
    trainer.train()                          # or trainer.train(resume_from_checkpoint=True)

At the start of each optimizer step (before the first micro-batch of ``gradient_accumulation_steps``) the callback
evaluates the regularizer once and adds its gradient to the parameters', multiplied by the mixed-precision loss
scale when fp16 gradients are scaled, so that after the Trainer's unscaling and the accumulation of the task
loss (which the Trainer averages over the whole accumulated batch) the gradient is that of an unaccumulated
``loss + reg()``, gradient clipping and the logged ``grad_norm`` included. The regularizer's step is
``state.global_step``. Its state goes into every ``checkpoint-*`` folder as ``thomson_regularizer.pt`` and comes
back on ``train(resume_from_checkpoint=...)``; its total and per-layer values (means over the steps since the
last log) join the Trainer's training logs as ``reg/total`` and ``reg/<layer>``.

The Trainer calls ``report_to`` loggers (TensorBoard, W&B, ...) before the callbacks a user passes; to have the
values there too, build the Trainer from :class:`RegularizerTrainerMixin`. Not for DeepSpeed ZeRO or FSDP, which
shard the gradients.
"""

from __future__ import annotations

import os
from typing import Any

from thomson._optional import require

require("transformers", extra="integrations", purpose="thomson.integrations.hf")

import torch  # noqa: E402
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments  # noqa: E402

from thomson.integrations._gradient import add_gradient, gradient_scale  # noqa: E402
from thomson.regularizer import Regularizer  # noqa: E402

STATE_FILE = "thomson_regularizer.pt"
"""The regularizer's ``state_dict`` in each ``checkpoint-*`` folder."""


class RegularizerCallback(TrainerCallback):  # type: ignore[misc]
    """Adds a regularizer's gradient once per optimizer step, logs its values, keeps its state in checkpoints.

    Args:
        regularizer: a :class:`~thomson.Regularizer` of the Trainer's model, reachable afterwards as
            ``.regularizer``; moved to the model's device when training starts.
        log: add ``<prefix>/total`` and ``<prefix>/<layer>`` (values before coefficients) to the training logs.
            Default True.
        prefix: the prefix of the logged names. Default ``"reg"``.
        resume_from: the checkpoint folder to restore the state from when training resumes. Default None: the
            Trainer's ``args.resume_from_checkpoint`` if set, else ``<output_dir>/checkpoint-<step>``, where the
            Trainer saved it. A resumed run that finds no state there stops with an error naming the folder;
            False starts the regularizer afresh on resuming.
    """

    def __init__(
        self,
        regularizer: Regularizer,
        *,
        log: bool = True,
        prefix: str = "reg",
        resume_from: str | bool | None = None,
    ) -> None:
        if not isinstance(regularizer, Regularizer):
            raise TypeError(f"regularizer must be a thomson.Regularizer, got {type(regularizer).__name__}")
        self.regularizer = regularizer
        self.log = log
        self.prefix = prefix
        self.resume_from = resume_from
        self._sums: dict[str, float] = {}
        self._count = 0

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        model = kwargs.get("model")
        device = next(model.parameters()).device if model is not None else args.device
        if state.global_step > 0 and self.resume_from is not False:
            folder = self.resume_from if isinstance(self.resume_from, str) else args.resume_from_checkpoint
            folder = folder or os.path.join(str(args.output_dir), f"checkpoint-{state.global_step}")
            path = os.path.join(folder, STATE_FILE)
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"training resumes at step {state.global_step} but {path} does not exist: pass the checkpoint "
                    "folder as RegularizerCallback(reg, resume_from=...), or resume_from=False to start the "
                    "regularizer afresh"
                )
            self.regularizer.load_state_dict(torch.load(path, map_location=device, weights_only=True))
        self.regularizer.to(device).train()

    def on_step_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        optimizer = kwargs.get("optimizer")
        scaler = getattr(optimizer, "scaler", None)  # accelerate's AcceleratedOptimizer holds the GradScaler
        scale = gradient_scale(scaler, getattr(optimizer, "optimizer", optimizer))
        value = add_gradient(self.regularizer, state.global_step, scale)
        if self.log:
            values = {f"{self.prefix}/total": float(value)}
            values.update({f"{self.prefix}/{name}": v for name, v in self.regularizer.stats.items()})
            for key, v in values.items():
                self._sums[key] = self._sums.get(key, 0.0) + v
            self._count += 1

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if logs is None or "loss" not in logs or not self._count:
            return
        values = self.pop_values()
        logs.update(values)
        if state.log_history and state.log_history[-1].get("step") == state.global_step:
            state.log_history[-1].update(values)

    def pop_values(self) -> dict[str, float]:
        """The means of the values since the last log (empty if none), and a fresh start."""
        values = {key: total / self._count for key, total in self._sums.items()} if self._count else {}
        self._sums, self._count = {}, 0
        return values

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        folder = os.path.join(str(args.output_dir), f"checkpoint-{state.global_step}")
        if os.path.isdir(folder):
            torch.save(self.regularizer.state_dict(), os.path.join(folder, STATE_FILE))


class RegularizerTrainerMixin:
    """Puts a :class:`RegularizerCallback`'s values into the logs before any callback sees them, so that the
    ``report_to`` loggers (TensorBoard, W&B, ...), which the Trainer calls before user callbacks, get them too::

        class RegularizedTrainer(RegularizerTrainerMixin, Trainer): ...

    Without it the values reach ``trainer.state.log_history``, the printed logs and the callbacks after it.
    """

    callback_handler: Any

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        if "loss" in logs:
            for callback in self.callback_handler.callbacks:
                if isinstance(callback, RegularizerCallback) and callback.log:
                    logs.update(callback.pop_values())
        super().log(logs, *args, **kwargs)  # type: ignore[misc]


__all__ = ["STATE_FILE", "RegularizerCallback", "RegularizerTrainerMixin"]
