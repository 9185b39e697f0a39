"""``fit``: one training run (single process or one rank of torchrun), resumable bit-exactly."""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from thomson._optional import optional
from thomson.data import BatchOrder, Dataset, load_dataset
from thomson.models import build_model
from thomson.regularizer import Regularizer
from thomson.train.checkpoint import CHECKPOINT, RUN_KEYS, capture_rng, load_checkpoint, restore_rng, save_checkpoint
from thomson.train.config import RESULT_NEUTRAL, TrainConfig, build_objective, import_modules, saved_setting
from thomson.train.ddp import ProcessGroup, join_process_group
from thomson.train.layer_energy import layer_energies, layer_sizes, simplex_bound
from thomson.train.loss import smoothed_cross_entropy
from thomson.train.optimizer import build_optimizer
from thomson.train.recipe import step_lr
from thomson.train.runlog import LOG, TENSORBOARD, RunLog
from thomson.train.signals import StopSignal

SUMMARY = "summary.json"
"""The file a completed run writes in its folder (its presence marks the run as finished)."""


@dataclass
class RunResult:
    """What a run produced: final metrics, per-layer energies and the trained model (unwrapped)."""

    config: TrainConfig
    model: nn.Module
    step: int
    completed: bool  # reached config.steps; False when stopped by SIGTERM or SIGINT
    test_acc: float
    test_loss: float
    wall_time: float
    energy_init: dict[str, float]
    energy_final: dict[str, float]
    energy_bound: dict[str, float]
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready summary written to ``summary.json``."""
        return {
            "test_acc": self.test_acc,
            "test_loss": self.test_loss,
            "step": self.step,
            "wall_time": self.wall_time,
            "energy_init": self.energy_init,
            "energy_final": self.energy_final,
            "energy_bound": self.energy_bound,
            "sizes": {k: list(v) for k, v in self.sizes.items()},
            "config": self.config.to_dict(),
        }


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (the global generator user code may draw from)
    random.seed(seed)


def _evaluate(
    model: nn.Module, dataset: Dataset, env: ProcessGroup, config: TrainConfig
) -> tuple[float, float, dict[str, float]]:
    """Test accuracy, test loss (summed over the processes' shares) and the per-layer energies."""
    model.eval()
    env.broadcast_buffers(model)
    loss_sum = correct = count = 0.0
    with torch.no_grad():
        for x, y in dataset.test_batches(config.eval_batch_size, rank=env.rank, world=env.world):
            x, y = x.to(env.device), y.to(env.device)
            logits = model(x)
            loss_sum += float(smoothed_cross_entropy(logits, y, config.label_smoothing, config.prob_eps)) * len(y)
            correct += float((logits.argmax(1) == y).sum())
            count += len(y)
    model.train()
    loss_sum, correct, count = env.sum([loss_sum, correct, count])
    return correct / count, loss_sum / count, layer_energies(model)


def _check_same_run(saved: dict[str, Any], config: TrainConfig, where: str) -> None:
    now = config.to_dict()
    diffs = [
        f"{k}: {saved_setting(saved, k)!r} then, {now[k]!r} now"
        for k in now
        if k not in RESULT_NEUTRAL and saved_setting(saved, k) != now[k]
    ]
    if diffs:
        raise ValueError(
            f"{where} was written by a run with other settings ({'; '.join(diffs)}); resume with the same "
            "settings, or start the new run in another folder (--out)"
        )


RESULT_FILES = (CHECKPOINT, LOG, TENSORBOARD, SUMMARY)
"""What a run writes in its folder; a new run never replaces them without ``overwrite``."""


def _claim_folder(out: Path, *, resume: bool, overwrite: bool, writer: bool) -> None:
    """Check that a run may write into ``out``: refuse a file, and the results of an earlier run unless resuming
    it or told to overwrite them (then delete them); remove the temporary files of a checkpoint cut short by a
    kill. ``writer``: this process writes (DDP rank 0); the others only check."""
    if resume and overwrite:
        raise ValueError(
            "resume and overwrite exclude each other: --resume continues the run in --out, --overwrite replaces it"
        )
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder: choose another --out")
    held = [name for name in RESULT_FILES if (out / name).exists()]
    resumable = (out / CHECKPOINT).exists() or SUMMARY not in held  # a finished run without a checkpoint is not
    if held and not overwrite and not (resume and resumable):
        fix = "continue it with --resume, " if resumable else ""
        raise ValueError(
            f"{out} holds the results of an earlier run ({', '.join(held)}): {fix}replace them with --overwrite, "
            "or choose another --out"
        )
    if not writer:
        return
    for stale in out.glob(f".{CHECKPOINT}.*.tmp"):  # left by a kill during a save: never a complete checkpoint
        stale.unlink(missing_ok=True)
    if overwrite:
        for name in held:
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _progress(config: TrainConfig, env: ProcessGroup, start: int) -> Any:
    show = (sys.stderr.isatty() if config.progress is None else config.progress) and env.is_main
    tqdm = optional("tqdm.auto") if show else None  # tqdm is optional: no bar without it
    if tqdm is None:
        return None
    return tqdm.tqdm(total=config.steps, initial=start, desc=config.out_dir.name, leave=False, dynamic_ncols=True)


def fit(config: TrainConfig, *, resume: bool = False, overwrite: bool = False) -> RunResult:
    """Train ``config``'s model on its data with its regularizer; log, checkpoint and evaluate as it says.

    The loop: for update ``t`` (from 0) set the rate :func:`~thomson.train.recipe.step_lr`, take the batch
    of :class:`~thomson.data.BatchOrder` (a function of seed and step), minimize
    ``smoothed_cross_entropy + regularizer()`` with SGD (momentum) or Adam, weight decay on every parameter. Every
    ``log_every`` steps a ``train`` record, every ``eval_every`` steps (and at 0 and the end) an ``eval``
    record with test accuracy and per-layer energies go to ``out/log.jsonl``; every ``checkpoint_every``
    steps, at the end and on SIGTERM or SIGINT, ``out/checkpoint.pt`` is written atomically. SIGTERM and SIGINT
    (Ctrl-C) make the loop save and return with ``completed=False``; ``resume=True`` continues from the
    checkpoint, and on CPU the result is bit-identical to an uninterrupted run (all random states and the step
    are saved; the batch order is a function of the step). At the end ``out/summary.json`` is written.

    Under ``torchrun`` every process runs ``fit``: the model is wrapped in DistributedDataParallel, each rank
    takes its share of each global batch, the regularizer is evaluated on every rank on the replicated
    weights (its gradient is the same everywhere), metrics are summed over ranks, and only rank 0 writes.

    Args:
        config: the run's settings.
        resume: continue from ``out/checkpoint.pt`` if it exists (else start fresh, unless the folder holds a
            finished run's ``summary.json``). Default False.
        overwrite: delete the results of an earlier run in ``out`` (its checkpoint, log, TensorBoard events and
            summary; nothing else) and start afresh. Default False: a folder holding any of them is refused with
            a ValueError naming it, so that no result is replaced silently.

    Example:
        >>> import tempfile
        >>> config = TrainConfig(data="synthetic", steps=20, batch_size=32, milestones=[], reg="mhe",
        ...                      model_options={"hidden": [16]}, out=tempfile.mkdtemp(), progress=False)
        >>> result = fit(config)
        >>> result.completed, 0 <= result.test_acc <= 1, sorted(result.energy_final)
        (True, True, ['classifier.weight', 'features.0.weight'])
    """
    env = join_process_group(config.device)
    try:
        return _fit(config, env, resume, overwrite)
    finally:
        env.close()


@dataclass
class _Parts:
    """What a run trains: its data, model (on the run's device), optimizer and regularizer."""

    dataset: Dataset
    model: nn.Module
    optimizer: torch.optim.Optimizer
    reg: Regularizer | None


@dataclass
class _Standing:
    """Where a run stands: its step, the wall time of its earlier sessions, the energies at initialization and
    the metrics of its last evaluation."""

    step: int = 0
    elapsed: float = 0.0
    energy_init: dict[str, float] | None = None
    metrics: dict[str, Any] = field(
        default_factory=lambda: {"test_acc": float("nan"), "test_loss": float("nan"), "energy": {}}
    )


def _build(config: TrainConfig, env: ProcessGroup) -> _Parts:
    """Seed every generator, then load the data and build the model, optimizer and regularizer (in this order, so
    a seed gives the same run)."""
    _seed_everything(config.seed)
    data_seed = config.seed if config.data_seed is None else config.data_seed
    dataset = load_dataset(
        config.data,
        data_dir=config.data_dir,
        train_size=config.train_size,
        train_fraction=config.train_fraction,
        seed=data_seed,
        **config.data_options,
    )
    model = build_model(config.model, dataset.num_classes, dataset.input_shape, **config.model_options)
    model = model.to(env.device)
    optimizer = build_optimizer(
        config.optimizer, model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
    objective = build_objective(config.reg, config.reg_options, lr=lambda: float(optimizer.param_groups[0]["lr"]))
    reg = None
    if objective is not None:
        reg = Regularizer(model, objective, coef=config.coef, classifier_coef=config.classifier_coef).to(env.device)
    return _Parts(dataset, model, optimizer, reg)


def _restore(parts: _Parts, config: TrainConfig, path: Path) -> _Standing:
    """Load the checkpoint at ``path`` into ``parts`` and the global generators, after checking that it is a run's
    checkpoint, of the same settings, not beyond ``config.steps``."""
    try:
        state = load_checkpoint(path, keys=RUN_KEYS)
    except ValueError as error:
        raise ValueError(f"{error}: start afresh with --overwrite, or choose another --out") from error
    _check_same_run(state["config"], config, str(path))
    if state["step"] > config.steps:
        raise ValueError(
            f"{path} is at step {state['step']}, beyond steps={config.steps}: resume with --steps "
            f"{state['step']} or more"
        )
    parts.model.load_state_dict(state["model"])
    parts.optimizer.load_state_dict(state["optimizer"])
    if parts.reg is not None:
        parts.reg.load_state_dict(state["regularizer"])
    restore_rng(state["rng"])
    return _Standing(state["step"], state["elapsed"], state["energy_init"], state["metrics"])


@dataclass
class _Update:
    """One optimizer update's numbers, for the log."""

    lr: float
    logits: Tensor
    y: Tensor
    ce: Tensor
    penalty: Tensor


def _update(
    parts: _Parts, net: nn.Module, order: BatchOrder, config: TrainConfig, env: ProcessGroup, step: int
) -> _Update:
    """Update ``step``: set the rate, take the step's batch, minimize cross-entropy + regularizer by one step."""
    lr = step_lr(step, config.lr, config.milestones, config.gamma)
    for group in parts.optimizer.param_groups:
        group["lr"] = lr
    dataset = parts.dataset
    x, y = dataset.train_batch(order.indices(step), order.generator(step) if dataset.augment else None)
    x, y = x.to(env.device), y.to(env.device)
    logits = net(x)
    ce = smoothed_cross_entropy(logits, y, config.label_smoothing, config.prob_eps)
    penalty: Tensor = parts.reg() if parts.reg is not None else torch.zeros((), device=env.device)
    loss = ce + penalty
    if not bool(torch.isfinite(loss)):
        raise FloatingPointError(
            f"the loss is not finite at step {step} (cross-entropy {float(ce.detach())}, regularizer "
            f"{float(penalty.detach())}): lower the learning rate or the regularizer's coefficient"
        )
    parts.optimizer.zero_grad(set_to_none=True)
    torch.autograd.backward(loss)
    parts.optimizer.step()
    return _Update(lr, logits, y, ce, penalty)


def _train_record(update: _Update, done: int, reg: Regularizer | None, env: ProcessGroup) -> dict[str, Any]:
    """The ``train`` record of the log after ``done`` updates (metrics summed over the processes)."""
    y, ce, penalty = update.y, float(update.ce.detach()), float(update.penalty.detach())
    correct = float((update.logits.argmax(1) == y).sum())
    ce_sum, correct, count = env.sum([ce * len(y), correct, float(len(y))])
    record: dict[str, Any] = {"step": done, "kind": "train", "lr": update.lr, "loss": ce_sum / count + penalty}
    record.update({"ce": ce_sum / count, "reg": penalty, "acc": correct / count})
    if reg is not None:
        record["reg_layers"] = reg.stats
    return record


def _eval_record(
    parts: _Parts, env: ProcessGroup, config: TrainConfig, standing: _Standing, done: int
) -> dict[str, Any]:
    """Evaluate, keep the metrics in ``standing``, and return the ``eval`` record of the log."""
    acc, test_loss, energy = _evaluate(parts.model, parts.dataset, env, config)
    standing.metrics = {"test_acc": acc, "test_loss": test_loss, "energy": energy}
    return {"step": done, "kind": "eval", **standing.metrics}


def _fit(config: TrainConfig, env: ProcessGroup, resume: bool, overwrite: bool) -> RunResult:
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    import_modules(config.imports)
    out = config.out_dir
    checkpoint_path = out / CHECKPOINT
    _claim_folder(out, resume=resume, overwrite=overwrite, writer=env.is_main)
    parts = _build(config, env)
    model, optimizer, reg = parts.model, parts.optimizer, parts.reg
    sizes = layer_sizes(model)
    bound = {name: simplex_bound(n) for name, (n, _) in sizes.items()}
    standing = _restore(parts, config, checkpoint_path) if resume and checkpoint_path.exists() else _Standing()
    start = standing.step
    energy_init = standing.energy_init if standing.energy_init is not None else layer_energies(model)

    net: nn.Module = model
    if env.world > 1:
        net = DistributedDataParallel(model, device_ids=[env.device] if env.device.type == "cuda" else None)
    order = BatchOrder(len(parts.dataset.train_y), config.batch_size, config.seed, rank=env.rank, world=env.world)
    log = RunLog(out, resume_step=start if start else None, enabled=env.is_main, tensorboard=config.tensorboard)
    bar = _progress(config, env, start)
    began = time.perf_counter()

    def save(step: int) -> None:
        if env.is_main:
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "regularizer": reg.state_dict() if reg is not None else {},
                "step": step,
                "rng": capture_rng(),
                "config": config.to_dict(),
                "elapsed": standing.elapsed + time.perf_counter() - began,
                "energy_init": energy_init,
                "metrics": standing.metrics,
            }
            save_checkpoint(checkpoint_path, state)

    step = start
    try:
        with StopSignal() as stop:
            if start == 0:
                log.write(_eval_record(parts, env, config, standing, 0))
            for step in range(start, config.steps):
                update = _update(parts, net, order, config, env, step)
                done = step + 1
                if done % config.log_every == 0 or done == config.steps:
                    record = _train_record(update, done, reg, env)
                    log.write(record)
                    if bar is not None:
                        bar.set_postfix(loss=f"{record['loss']:.4f}", acc=f"{record['acc']:.3f}", refresh=False)
                if done % config.eval_every == 0 or done == config.steps:
                    log.write(_eval_record(parts, env, config, standing, done))
                stopping = env.any(stop.requested)
                if done % config.checkpoint_every == 0 or done == config.steps or stopping:
                    save(done)
                if bar is not None:
                    bar.update(1)
                step = done
                if stopping:
                    break
    finally:
        log.close()
        if bar is not None:
            bar.close()

    metrics = standing.metrics
    result = RunResult(
        config=config,
        model=model,
        step=step,
        completed=step >= config.steps,
        test_acc=metrics["test_acc"],
        test_loss=metrics["test_loss"],
        wall_time=standing.elapsed + time.perf_counter() - began,
        energy_init=energy_init,
        energy_final=metrics["energy"],
        energy_bound=bound,
        sizes=sizes,
    )
    if result.completed and env.is_main:
        (out / SUMMARY).write_text(json.dumps(result.summary(), indent=1) + "\n")
    return result
