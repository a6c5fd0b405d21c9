"""The settings of a fine-tuning run, one frozen dataclass whose fields are the CLI flags."""

from __future__ import annotations

from dataclasses import dataclass

from yuyin.errors import ConfigurationError
from yuyin.languages import resolve_language
from yuyin.train.export_ct2 import QUANTIZATIONS

__all__ = ["PRECISIONS", "FinetuneOptions", "validate_finetune_options"]

#: `auto` picks bf16 on GPUs that have it, else fp16 on CUDA, else fp32 (CPUs).
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


@dataclass(frozen=True, slots=True)
class FinetuneOptions:
    """How to fine-tune: base model, data split, optimiser schedule, evaluation, export.

    The defaults are the seed recipe's (Hugging Face's Whisper fine-tuning blog post):
    learning rate 1e-5 with `constant_with_warmup` and 50 warm-up steps, batch size 16,
    gradient checkpointing, evaluation and a checkpoint every `eval_steps`.

    Attributes:
        model: the base model: a Hugging Face Whisper checkpoint folder or hub id, a
            CTranslate2 Whisper folder, or a yuyin model name (`tiny.en`, `base`), which is
            imported into a Hugging Face checkpoint first.
        language: the language trained and scored (`en`, `zh-TW`...); None takes the
            manifest's `language` column when all rows agree. English-only models need none.
        task: `transcribe`, or `translate` (to English).
        max_steps: optimiser steps to train.
        batch_size: clips per step and device (before gradient accumulation).
        gradient_accumulation_steps: batches summed into one optimiser step.
        learning_rate: peak learning rate.
        lr_scheduler: a transformers scheduler name (`constant_with_warmup`, `linear`...).
        warmup_steps: steps of linear warm-up from 0 to `learning_rate`.
        weight_decay: AdamW weight decay.
        gradient_checkpointing: recompute activations in the backward pass (less memory,
            about 30 % slower).
        precision: `auto`, `fp32`, `fp16` or `bf16` (mixed precision needs a GPU that has it).
        eval_steps: evaluate on the validation split, and save a checkpoint, every N steps.
        eval_batch_size: clips per evaluation batch.
        logging_steps: log loss and learning rate every N steps (TensorBoard, progress).
        save_total_limit: checkpoints kept on disk (the best one is always kept).
        generation_max_length: token limit when decoding for evaluation.
        freeze_encoder: train only the decoder (much faster on CPUs; vocabulary and names
            are learnt in the decoder).
        encoder_cache_mb: with `freeze_encoder`, the encoder's output for each training clip
            is computed once and kept in memory when all of them fit in this many MB (0:
            never; the encoder then runs every step).
        lora: train low-rank adapters (peft) instead of all weights; merged before export.
        lora_rank: the adapters' rank r.
        lora_alpha: the adapters' scaling alpha.
        lora_dropout: dropout on the adapters' input.
        validation_fraction: share of the data held out for validation when the manifest
            has no `split` column.
        test_fraction: share held out for the final test when the manifest has no `split`.
        seed: the seed of the split, the data order and the weights' initialisation.
        max_duration: clips longer than this many seconds are skipped (Whisper's window is
            30 s).
        report: score the base and the fine-tuned model on the test split at the end.
        report_beam_size: beam width of the before/after decoding (1: greedy).
        quantization: weight type of the CTranslate2 export in OUT/ct2 (`int8`, `float16`).
        push_to_hub: a Hugging Face repository id to upload the best checkpoint to (only
            when a token is configured); None uploads nothing.
    """

    model: str = "base"
    language: str | None = None
    task: str = "transcribe"
    max_steps: int = 1000
    batch_size: int = 16
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1e-5
    lr_scheduler: str = "constant_with_warmup"
    warmup_steps: int = 50
    weight_decay: float = 0.0
    gradient_checkpointing: bool = True
    precision: str = "auto"
    eval_steps: int = 100
    eval_batch_size: int = 8
    logging_steps: int = 25
    save_total_limit: int = 2
    generation_max_length: int = 225
    freeze_encoder: bool = False
    encoder_cache_mb: int = 2048
    lora: bool = False
    lora_rank: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.05
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 42
    max_duration: float = 30.0
    report: bool = True
    report_beam_size: int = 1
    quantization: str = "int8"
    push_to_hub: str | None = None


def validate_finetune_options(options: FinetuneOptions) -> None:
    """Check values that cannot work, before any model or data is loaded.

    Raises:
        ConfigurationError: a value out of range or an unknown name.
    """
    positive = {
        "max_steps": options.max_steps,
        "batch_size": options.batch_size,
        "gradient_accumulation_steps": options.gradient_accumulation_steps,
        "eval_steps": options.eval_steps,
        "eval_batch_size": options.eval_batch_size,
        "logging_steps": options.logging_steps,
        "save_total_limit": options.save_total_limit,
        "generation_max_length": options.generation_max_length,
        "lora_rank": options.lora_rank,
        "report_beam_size": options.report_beam_size,
    }
    for name, value in positive.items():
        if value < 1:
            flag = "--" + name.replace("_", "-")
            raise ConfigurationError(f"{flag} must be at least 1, not {value}")
    if not options.learning_rate > 0:
        raise ConfigurationError(f"--learning-rate must be positive, not {options.learning_rate}")
    if options.warmup_steps < 0 or options.encoder_cache_mb < 0:
        raise ConfigurationError("--warmup-steps and --encoder-cache-mb cannot be negative")
    if not 0 < options.max_duration <= 30:
        raise ConfigurationError(
            f"--max-duration must be in (0, 30] seconds, not {options.max_duration}",
            hint="Whisper sees 30 s at a time; split longer recordings first",
        )
    for name in ("validation_fraction", "test_fraction"):
        value = getattr(options, name)
        if not 0 <= value < 1:
            raise ConfigurationError(f"--{name.replace('_', '-')} must be in [0, 1), not {value}")
    if options.validation_fraction + options.test_fraction >= 1:
        raise ConfigurationError(
            "--validation-fraction and --test-fraction leave nothing to train on",
            hint="keep their sum below 1 (e.g. 0.1 each)",
        )
    if not 0 <= options.lora_dropout < 1:
        raise ConfigurationError(f"--lora-dropout must be in [0, 1), not {options.lora_dropout}")
    if options.precision not in PRECISIONS:
        raise ConfigurationError(
            f"unknown precision {options.precision!r}", hint="use one of: " + ", ".join(PRECISIONS)
        )
    if options.task not in ("transcribe", "translate"):
        raise ConfigurationError(
            f"unknown task {options.task!r}", hint="use transcribe or translate"
        )
    if options.quantization not in QUANTIZATIONS:
        raise ConfigurationError(
            f"unknown quantization {options.quantization!r}",
            hint="use one of: " + ", ".join(QUANTIZATIONS),
        )
    if options.language is not None:
        resolve_language(options.language)  # an unknown language is a ConfigurationError
