"""The Trainer's settings: the seed recipe's schedule, mixed precision only where it works."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from yuyin.errors import ConfigurationError  # noqa: E402
from yuyin.finetune import FinetuneOptions, RunDir  # noqa: E402
from yuyin.finetune import trainer as trainer_module  # noqa: E402


def hardware(monkeypatch, *, cuda: bool, bf16: bool = False) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)


@pytest.mark.parametrize(
    ("cuda", "bf16", "expected"),
    [(False, False, "fp32"), (True, False, "fp16"), (True, True, "bf16")],
)
def test_auto_precision_follows_the_hardware(monkeypatch, cuda, bf16, expected):
    hardware(monkeypatch, cuda=cuda, bf16=bf16)
    chosen = trainer_module._precision(FinetuneOptions(precision="auto"))
    assert chosen == {"fp16": expected == "fp16", "bf16": expected == "bf16"}


@pytest.mark.parametrize(
    ("cuda", "wanted", "message"),
    [(False, "fp16", "needs a CUDA GPU"), (False, "bf16", "bfloat16"), (True, "bf16", "Ampere")],
)
def test_mixed_precision_the_hardware_lacks_is_refused(monkeypatch, cuda, wanted, message):
    hardware(monkeypatch, cuda=cuda, bf16=False)
    with pytest.raises(ConfigurationError, match=message) as info:
        trainer_module._precision(FinetuneOptions(precision=wanted))
    assert "--precision" in info.value.hint


def test_the_trainer_gets_the_seed_schedule_and_keeps_the_best_by_the_metric(monkeypatch, tmp_path):
    hardware(monkeypatch, cuda=False)
    args = trainer_module._arguments(FinetuneOptions(), RunDir(tmp_path), True, "cer")
    assert args.learning_rate == 1e-5
    assert str(getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type)) == (
        "constant_with_warmup"
    )
    assert args.warmup_steps == 50
    assert (args.fp16, args.bf16) == (False, False)
    assert str(getattr(args.eval_strategy, "value", args.eval_strategy)) == "steps"
    assert args.eval_steps == args.save_steps == 100
    assert args.load_best_model_at_end
    assert (args.metric_for_best_model, args.greater_is_better) == ("cer", False)
    assert args.predict_with_generate
    no_validation = trainer_module._arguments(FinetuneOptions(), RunDir(tmp_path), False, "wer")
    assert str(getattr(no_validation.eval_strategy, "value", no_validation.eval_strategy)) == "no"
    assert not no_validation.load_best_model_at_end


def test_a_run_shorter_than_one_logging_interval_logs_its_last_step(monkeypatch, tmp_path):
    hardware(monkeypatch, cuda=False)
    short = FinetuneOptions(max_steps=4, logging_steps=25)
    args = trainer_module._arguments(short, RunDir(tmp_path), False, "wer")
    assert (args.logging_steps, args.logging_first_step) == (4, True)
    assert (
        trainer_module._arguments(FinetuneOptions(), RunDir(tmp_path), False, "wer").logging_steps
        == 25
    )
