"""thomson.integrations.hf against the real transformers Trainer on CPU with a tiny random GPT-2 built from its
config: the gradient of an accumulated step equals an unaccumulated step's (fp16 loss scaling included), the
values join the logs, every checkpoint holds the state and a resumed run continues exactly."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

import thomson
from thomson.functional import hyperspherical_energy

TOKENS = torch.randint(0, 64, (8, 12), generator=torch.Generator().manual_seed(3))


class Samples(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    def __len__(self) -> int:
        return TOKENS.shape[0]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": TOKENS[i], "labels": TOKENS[i]}


def gpt2(transformers: ModuleType) -> Any:
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=64, n_positions=16, n_embd=16, n_layer=2, n_head=2, resid_pdrop=0, embd_pdrop=0, attn_pdrop=0
    )
    return transformers.GPT2LMHeadModel(config)


def recorder(transformers: ModuleType) -> Any:
    """A callback, placed after the regularizer's, that keeps the gradients right before each optimizer step and
    the weights the step started from."""

    class Recorder(transformers.TrainerCallback):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self.grads: list[dict[str, torch.Tensor]] = []
            self.weights: list[dict[str, torch.Tensor]] = []

        def on_step_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
            self.weights.append({n: p.detach().clone() for n, p in model.named_parameters()})

        def on_pre_optimizer_step(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
            self.grads.append({n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None})

    return Recorder()


def train(
    transformers: ModuleType, out: Path, model: Any, callbacks: list[Any], *, resume: bool = False, **options: Any
) -> Any:
    settings = {"max_steps": 2, "per_device_train_batch_size": 8, "learning_rate": 0.05, **options}
    args = transformers.TrainingArguments(
        str(out),
        use_cpu=True,
        report_to="none",
        logging_steps=1,
        save_strategy="steps",
        save_steps=2,
        max_grad_norm=0.0,
        lr_scheduler_type="constant",
        optim="sgd",
        seed=0,
        disable_tqdm=True,
        **settings,
    )
    trainer = transformers.Trainer(model=model, args=args, train_dataset=Samples(), callbacks=callbacks)
    trainer.train(resume_from_checkpoint=True if resume else None)
    return trainer


def test_gpt2_conv1d_layers_are_regularized_by_output_neurons(transformers: ModuleType) -> None:
    model = gpt2(transformers)
    reg = thomson.Regularizer(model, thomson.MHE(), coef=1.0)
    blocks = [f"transformer.h.{i}.{n}.weight" for i in range(2) for n in ("attn.c_attn", "attn.c_proj")]
    blocks += [f"transformer.h.{i}.mlp.{n}.weight" for i in range(2) for n in ("c_fc", "c_proj")]
    assert sorted(reg.layers) == sorted(blocks) and reg.classifier is None  # lm_head is tied to the embedding
    c_attn = model.transformer.h[0].attn.c_attn.weight  # stored [in 16, out 48]
    rows = {t.name: t.rows() for t in reg.targets}
    assert rows["transformer.h.0.attn.c_attn.weight"].shape == (48, 16)
    reg()
    expected = float(hyperspherical_energy(c_attn.detach().T.double(), 2))
    assert reg.stats["transformer.h.0.attn.c_attn.weight"] == pytest.approx(expected, rel=1e-6)
    split = thomson.Regularizer(model, thomson.MHE(), split_qkv=True)
    assert [n for n in split.layers if "h.0.attn.c_attn" in n] == [
        f"transformer.h.0.attn.c_attn.weight[{p}]" for p in "qkv"
    ]
    split()
    key = float(hyperspherical_energy(c_attn.detach().T[16:32].double(), 2))  # GPT-2 splits its output q | k | v
    assert split.stats["transformer.h.0.attn.c_attn.weight[k]"] == pytest.approx(key, rel=1e-6)


def test_a_tied_masked_lm_head_is_not_the_classifier_and_is_counted_once(transformers: ModuleType) -> None:
    config = transformers.BertConfig(
        vocab_size=300, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    model = transformers.BertForMaskedLM(config)
    decoder = model.cls.predictions.decoder
    assert decoder.weight is model.bert.embeddings.word_embeddings.weight
    reg = thomson.Regularizer(model, thomson.MHE())
    assert reg.classifier is None and "cls.predictions.decoder.weight" not in reg.layers
    assert "cls.predictions.transform.dense.weight" in reg.layers  # a hidden layer, not promoted to classifier
    with_embeddings = thomson.Regularizer(model, thomson.MHE(), include=[torch.nn.Embedding, torch.nn.Linear])
    tables = [n for n in with_embeddings.layers if "word_embeddings" in n or "decoder" in n]
    assert tables == ["bert.embeddings.word_embeddings.weight"]


def test_accumulated_steps_get_the_unaccumulated_gradient(transformers: ModuleType, tmp_path: Path) -> None:
    from thomson.integrations.hf import RegularizerCallback

    grads = {}
    for batch, accumulate, regularized in ((8, 1, True), (4, 2, True), (4, 2, False)):
        model = gpt2(transformers)
        reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True))
        record = recorder(transformers)
        callbacks = [RegularizerCallback(reg), record] if regularized else [record]
        trainer = train(
            transformers,
            tmp_path / f"run{accumulate}{regularized}",
            model,
            callbacks,
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=accumulate,
        )
        assert trainer.state.global_step == 2 and int(reg.step) == (2 if regularized else 0)
        grads[accumulate, regularized] = record.grads
    for plain, accumulated in zip(grads[1, True], grads[2, True], strict=True):
        for name in plain:
            torch.testing.assert_close(accumulated[name], plain[name], rtol=1e-5, atol=1e-6)
    # What the callback added to the first step is the gradient of the regularizer, once.
    reference = gpt2(transformers)
    thomson.Regularizer(reference, thomson.MHE(s=2, half_space=True))().backward()
    for name, parameter in reference.named_parameters():
        added = grads[2, True][0][name] - grads[2, False][0][name]
        expected = parameter.grad if parameter.grad is not None else torch.zeros_like(parameter)
        torch.testing.assert_close(added, expected, rtol=1e-4, atol=1e-6)


def test_values_join_the_training_logs(transformers: ModuleType, tmp_path: Path) -> None:
    from thomson.integrations.hf import RegularizerCallback

    model = gpt2(transformers)
    reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True), coef=0.5)
    record = recorder(transformers)
    trainer = train(transformers, tmp_path, model, [RegularizerCallback(reg), record])
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert [entry["step"] for entry in logs] == [1, 2]
    for entry, weights in zip(logs, record.weights, strict=True):
        values = {
            name: float(hyperspherical_energy(weights[name].T.double(), 2, half_space=True)) for name in reg.layers
        }
        for name, value in values.items():
            assert entry[f"reg/{name}"] == pytest.approx(value, rel=1e-5)
        assert entry["reg/total"] == pytest.approx(0.5 * sum(values.values()), rel=1e-5)


def test_the_mixin_hands_the_values_to_every_callback(transformers: ModuleType, tmp_path: Path) -> None:
    from thomson.integrations.hf import RegularizerCallback, RegularizerTrainerMixin

    seen: list[dict[str, float]] = []

    class Reporter(transformers.TrainerCallback):  # type: ignore[misc,name-defined]
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            seen.append(dict(logs))

    class RegularizedTrainer(RegularizerTrainerMixin, transformers.Trainer):  # type: ignore[misc,name-defined]
        pass

    model = gpt2(transformers)
    reg = thomson.Regularizer(model, thomson.MHE())
    args = transformers.TrainingArguments(
        str(tmp_path), use_cpu=True, report_to="none", logging_steps=1, max_steps=1, save_strategy="no"
    )
    trainer = RegularizedTrainer(model=model, args=args, train_dataset=Samples(), callbacks=[RegularizerCallback(reg)])
    trainer.callback_handler.callbacks.insert(0, Reporter())  # where report_to loggers sit: before user callbacks
    trainer.train()
    assert "reg/total" in seen[0] and "reg/total" in trainer.state.log_history[0]


OBJECTIVES = {
    "comhe-angle": lambda: thomson.CoMHE("angle", dim=4, seed=0, inner_lr=0.05),
    "mhp": lambda: thomson.MHP(),
}


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_checkpoints_hold_the_state_and_a_resumed_run_continues_exactly(
    transformers: ModuleType, tmp_path: Path, objective: str
) -> None:
    from thomson.integrations.hf import STATE_FILE, RegularizerCallback

    def run(out: Path, steps: int, resume: bool = False) -> tuple[Any, thomson.Regularizer]:
        model = gpt2(transformers)
        reg = thomson.Regularizer(model, OBJECTIVES[objective]())
        train(transformers, out, model, [RegularizerCallback(reg)], max_steps=steps, resume=resume)
        return model, reg

    straight, straight_reg = run(tmp_path / "straight", 6)
    run(tmp_path / "parts", 4)
    saved = torch.load(tmp_path / "parts" / "checkpoint-4" / STATE_FILE, weights_only=True)
    assert int(saved["step"]) == 4 and (tmp_path / "parts" / "checkpoint-2" / STATE_FILE).is_file()
    assert any(":" in key for key in saved)  # projections or poles
    resumed, resumed_reg = run(tmp_path / "parts", 6, resume=True)
    assert int(resumed_reg.step) == int(straight_reg.step) == 6
    state, expected = resumed_reg.state_dict(), straight_reg.state_dict()
    assert sorted(state) == sorted(expected)
    for key in expected:
        torch.testing.assert_close(state[key], expected[key], rtol=1e-5, atol=1e-6)
    for name, parameter in straight.named_parameters():
        torch.testing.assert_close(resumed.get_parameter(name), parameter, rtol=1e-5, atol=1e-6)


def test_a_resumed_run_without_saved_state_stops_naming_the_file(transformers: ModuleType, tmp_path: Path) -> None:
    from thomson.integrations.hf import RegularizerCallback

    train(transformers, tmp_path, gpt2(transformers), [], max_steps=2)
    model = gpt2(transformers)
    reg = thomson.Regularizer(model, thomson.MHE())
    with pytest.raises(FileNotFoundError, match=r"checkpoint-2.*thomson_regularizer\.pt.*resume_from"):
        train(transformers, tmp_path, model, [RegularizerCallback(reg)], max_steps=3, resume=True)
    model = gpt2(transformers)
    reg = thomson.Regularizer(model, thomson.MHE())
    train(transformers, tmp_path, model, [RegularizerCallback(reg, resume_from=False)], max_steps=3, resume=True)
    assert int(reg.step) == 3
