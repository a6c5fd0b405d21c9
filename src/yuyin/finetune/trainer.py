"""The training loop: transformers' Seq2SeqTrainer with Whisper's data plumbing (issue 7).

Imported only when a run starts (it needs torch and transformers, the `train` extra).

What the seed recipe got wrong and this gets right:

- labels carry the language and task tokens the model will be prompted with, padded with
  -100 so padding never counts in the loss, and without the start token the model
  prepends itself;
- evaluation decodes with the same language/task (not `forced_decoder_ids`, which current
  transformers rejects) and scores with `yuyin.eval`: orthographic and normalised WER, and
  CER for Chinese, Japanese, Korean and Thai; the best checkpoint is kept by the
  language's primary metric;
- fp16/bf16 only where the hardware has it; TensorBoard logs; resumable checkpoints.

With a frozen encoder whose output is deterministic (no dropout, no SpecAugment), each
training clip's encoder output is computed once and reused every epoch: on a CPU the
encoder is most of the cost of a step, so this makes small runs several times faster.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import (
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
    TrainerCallback,
    WhisperForConditionalGeneration,
    WhisperProcessor,
)
from transformers.integrations import TensorBoardCallback
from transformers.trainer_callback import PrinterCallback

from yuyin.audio import SAMPLE_RATE, decode_audio
from yuyin.errors import ConfigurationError, InputError, ModelError, ModelNotFoundError
from yuyin.eval.metrics import default_metric
from yuyin.eval.scoring import score_texts
from yuyin.finetune.base_model import BaseModel, missing_language
from yuyin.finetune.batching import Collator
from yuyin.finetune.data import Example, Splits
from yuyin.finetune.options import FinetuneOptions
from yuyin.finetune.progress import Progress, ProgressCallback
from yuyin.finetune.rundir import RunDir, disk_error
from yuyin.languages import MULTILINGUAL_VOCAB_SIZE, resolve_language
from yuyin.train.staging import write_failure

__all__ = ["TrainOutcome", "train"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainOutcome:
    """What training produced.

    Attributes:
        global_step: optimiser steps done (including those before a resume).
        resumed_from: the checkpoint training continued from, if any.
        first_loss: the first logged training loss.
        last_loss: the last logged training loss.
        best_metric: the best validation score (the primary metric), if evaluated.
        best_step: the step of the best checkpoint (the last step when not evaluated).
        metric: the primary metric's name (`wer` or `cer`).
        history: every logged loss and validation score, by step.
        skipped: clips left out by the trainer (text too long for the decoder).
    """

    global_step: int
    resumed_from: str | None
    first_loss: float | None
    last_loss: float | None
    best_metric: float | None
    best_step: int
    metric: str
    history: tuple[dict[str, float], ...]
    skipped: tuple[str, ...] = ()


# --- data ----------------------------------------------------------------------------------


class ClipDataset(torch.utils.data.Dataset[dict[str, Any]]):
    """Clips as model inputs: log-Mel features decoded on the fly (or a cached encoder
    output) and label token ids."""

    def __init__(
        self,
        examples: Sequence[Example],
        labels: Sequence[list[int]],
        processor: Any,
        encoded: list[torch.Tensor] | None = None,
    ) -> None:
        self.examples = list(examples)
        self.labels = list(labels)
        self.processor = processor
        self.encoded = encoded

    def __len__(self) -> int:
        return len(self.examples)

    def features(self, index: int) -> torch.Tensor:
        """The clip's log-Mel features, (mel bins, 3000)."""
        example = self.examples[index]
        try:
            samples, _ = decode_audio(example.audio)
        except InputError as exc:  # the file changed or vanished since it was checked
            raise InputError(
                f"training clip {example.id!r} cannot be read any more: {exc.message}",
                hint="fix or remove it from the manifest, then run again with --resume",
            ) from exc
        extracted = self.processor.feature_extractor(
            samples, sampling_rate=SAMPLE_RATE, return_tensors="np"
        )
        return torch.from_numpy(np.asarray(extracted.input_features[0], dtype=np.float32))

    def __getitem__(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = {"labels": self.labels[index]}
        if self.encoded is not None:
            item["encoder_hidden"] = self.encoded[index]
        else:
            item["input_features"] = self.features(index)
        return item


# --- model ---------------------------------------------------------------------------------


def _load(base: BaseModel) -> tuple[Any, Any]:
    try:
        processor = WhisperProcessor.from_pretrained(base.checkpoint, local_files_only=base.local)
        model = WhisperForConditionalGeneration.from_pretrained(
            base.checkpoint, local_files_only=base.local
        )
    except OSError as exc:
        if base.local:
            raise ModelError(
                f"cannot load the checkpoint {base.checkpoint}: {exc}",
                hint="check it is a complete Whisper checkpoint (config, weights, tokenizer)",
            ) from exc
        raise ModelNotFoundError(
            f"cannot load {base.name!r} from the Hugging Face hub: {exc}",
            hint="offline? download it once on a connected machine, or use a local folder "
            "or an embedded model (--model tiny.en, --model base)",
        ) from exc
    return processor, model


def _multilingual(model: Any) -> bool:
    flag = getattr(model.generation_config, "is_multilingual", None)
    return (
        bool(flag) if flag is not None else int(model.config.vocab_size) >= MULTILINGUAL_VOCAB_SIZE
    )


def _set_language(model: Any, processor: Any, language: str | None, task: str) -> None:
    """Put the language and task tokens into the labels and into generation."""
    generation = model.generation_config
    if not _multilingual(model):
        code = resolve_language(language).code if language else "en"
        if code != "en" or task != "transcribe":
            raise ConfigurationError(
                f"{model.name_or_path} is an English-only model: it cannot learn "
                f"{'translation' if task != 'transcribe' else code}",
                hint="use a multilingual base model (--model base)",
            )
        processor.tokenizer.set_prefix_tokens(predict_timestamps=False)
        return
    if language is None:
        raise missing_language(str(model.name_or_path))
    code = resolve_language(language).code
    processor.tokenizer.set_prefix_tokens(language=code, task=task, predict_timestamps=False)
    generation.language = code
    generation.task = task
    generation.forced_decoder_ids = None
    model.config.forced_decoder_ids = None


def _apply_lora(model: Any, options: FinetuneOptions) -> Any:
    from peft import LoraConfig, get_peft_model

    # The attention projections of the decoder (and of the encoder unless it is frozen).
    pattern = r".*decoder.*\.(q_proj|v_proj)$" if options.freeze_encoder else [
        "q_proj", "v_proj"
    ]  # fmt: skip
    config = LoraConfig(
        r=options.lora_rank,
        lora_alpha=options.lora_alpha,
        lora_dropout=options.lora_dropout,
        target_modules=pattern,
        bias="none",
    )
    with warnings.catch_warnings():
        # peft 0.21 reads transformers' deprecated `is_gradient_checkpointing`; harmless.
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
        return get_peft_model(model, config)


def _precision(options: FinetuneOptions) -> dict[str, bool]:
    cuda = torch.cuda.is_available()
    bf16_ok = cuda and torch.cuda.is_bf16_supported()
    wanted = options.precision
    if wanted == "auto":
        wanted = "bf16" if bf16_ok else "fp16" if cuda else "fp32"
    if wanted == "fp16" and not cuda:
        raise ConfigurationError("fp16 training needs a CUDA GPU", hint="use --precision fp32")
    if wanted == "bf16" and not bf16_ok:
        raise ConfigurationError(
            "bf16 training needs a GPU that supports bfloat16 (Ampere or newer)",
            hint="use --precision fp16 on older GPUs, fp32 on CPUs",
        )
    return {"fp16": wanted == "fp16", "bf16": wanted == "bf16"}


def _encoder_is_deterministic(model: Any) -> bool:
    config = model.config
    drops = (config.dropout, config.attention_dropout, config.activation_dropout)
    return all(float(d or 0) == 0 for d in drops) and not getattr(
        config, "apply_spec_augment", False
    )


def _encode(
    model: Any,
    dataset: ClipDataset,
    options: FinetuneOptions,
    on_progress: ProgressCallback | None,
) -> list[torch.Tensor] | None:
    """The frozen encoder's output for every training clip, or None when it does not pay."""
    if not options.freeze_encoder or options.encoder_cache_mb <= 0:
        return None
    if not _encoder_is_deterministic(model):
        log.info("encoder has dropout or SpecAugment: its output is not cached")
        return None
    config = model.config
    per_clip = config.max_source_positions * config.d_model * 4
    if per_clip * len(dataset) > options.encoder_cache_mb * 2**20:
        log.info("encoder outputs would exceed --encoder-cache-mb: computed every step")
        return None
    device = "cuda" if torch.cuda.is_available() else "cpu"
    encoder = model.get_encoder().to(device).eval()
    out: list[torch.Tensor] = []
    total = len(dataset)
    with torch.inference_mode():
        for start in range(0, total, options.eval_batch_size):
            indices = range(start, min(total, start + options.eval_batch_size))
            features = torch.stack([dataset.features(i) for i in indices]).to(device)
            hidden = encoder(features).last_hidden_state.float().cpu()
            out.extend(h.clone() for h in hidden)
            if on_progress is not None:
                on_progress(Progress("encode", len(out), total))
    return out


def _labels(
    examples: Sequence[Example], tokenizer: Any, limit: int
) -> tuple[list[Example], list[list[int]], list[str]]:
    kept: list[Example] = []
    labels: list[list[int]] = []
    dropped: list[str] = []
    for example in examples:
        ids = list(tokenizer(example.text).input_ids)
        if len(ids) > limit:
            dropped.append(f"{example.id}: text longer than the decoder's {limit} tokens")
            continue
        kept.append(example)
        labels.append(ids)
    return kept, labels, dropped


# --- callbacks -----------------------------------------------------------------------------


class _Reporter(TrainerCallback):  # type: ignore[misc]
    """Turns the Trainer's events into `Progress` for the caller (who draws the bar)."""

    def __init__(self, on_progress: ProgressCallback | None, primary: str) -> None:
        self.on_progress = on_progress
        self.primary = primary
        self.loss: float | None = None
        self.learning_rate: float | None = None
        self.metrics: dict[str, float] = {}
        self.history: list[dict[str, float]] = []

    def _emit(self, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        logs = logs or {}
        entry = {"step": float(state.global_step)}
        if "loss" in logs:
            self.loss = float(logs["loss"])
            entry["loss"] = self.loss
        if "learning_rate" in logs:
            self.learning_rate = float(logs["learning_rate"])
            entry["learning_rate"] = self.learning_rate
        scores = {k[5:]: float(v) for k, v in logs.items() if k.startswith("eval_")}
        entry.update({f"eval_{k}": v for k, v in scores.items()})
        if len(entry) > 1:
            self.history.append(entry)
        if "loss" in logs:
            self._step(state, logged=True)

    def _step(self, state: Any, *, logged: bool) -> None:
        self._emit(
            Progress(
                "train",
                state.global_step,
                state.max_steps,
                loss=self.loss,
                learning_rate=self.learning_rate,
                metrics=dict(self.metrics),
                logged=logged,
            )
        )

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # A step that logs is reported by on_log, which the Trainer calls right after this.
        step = state.global_step
        logs = step % args.logging_steps == 0 or (args.logging_first_step and step == 1)
        if not logs:
            self._step(state, logged=False)

    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any
    ) -> None:
        found = {k[5:]: float(v) for k, v in (metrics or {}).items() if k.startswith("eval_")}
        keep = (self.primary, f"{self.primary}_orthographic", "cer", "loss")
        self.metrics = {k: v for k, v in found.items() if k in keep}
        self._emit(
            Progress(
                "evaluate",
                state.global_step,
                state.max_steps,
                metrics=dict(self.metrics),
                message=f"step {state.global_step}: "
                + ", ".join(f"{k} {v:.3f}" for k, v in self.metrics.items()),
            )
        )


# --- training ------------------------------------------------------------------------------


def _metrics_function(tokenizer: Any, language: str | None, validation: Sequence[Example]) -> Any:
    def compute(prediction: Any) -> dict[str, float]:
        predictions = np.asarray(prediction.predictions)
        if predictions.ndim == 3:  # logits, when not generating
            predictions = predictions.argmax(-1)
        predictions = np.where(predictions < 0, tokenizer.pad_token_id, predictions)
        hypotheses = tokenizer.batch_decode(predictions, skip_special_tokens=True)
        references = [e.text for e in validation][: len(hypotheses)]
        result = score_texts(
            references,
            [h.strip() for h in hypotheses],
            languages=[language or e.language for e in validation][: len(hypotheses)],
            language=language,
        )
        scores = {
            "wer": result.score("wer"),
            "wer_orthographic": result.score("wer", normalized=False),
            "cer": result.score("cer"),
            "cer_orthographic": result.score("cer", normalized=False),
        }
        return {k: v if math.isfinite(v) else 1e9 for k, v in scores.items()}

    return compute


def _arguments(options: FinetuneOptions, run: RunDir, has_validation: bool, primary: str) -> Any:
    return Seq2SeqTrainingArguments(
        output_dir=str(run.checkpoints),
        max_steps=options.max_steps,
        per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=options.eval_batch_size,
        gradient_accumulation_steps=options.gradient_accumulation_steps,
        learning_rate=options.learning_rate,
        lr_scheduler_type=options.lr_scheduler,
        warmup_steps=options.warmup_steps,
        weight_decay=options.weight_decay,
        # transformers 5.24 renamed gradient checkpointing; the old name warns.
        activation_checkpointing=options.gradient_checkpointing,
        # Non-reentrant checkpointing works with frozen inputs (a frozen encoder, LoRA).
        activation_checkpointing_kwargs={"use_reentrant": False},
        eval_strategy="steps" if has_validation else "no",
        eval_steps=options.eval_steps,
        save_strategy="steps",
        save_steps=options.eval_steps,
        save_total_limit=options.save_total_limit,
        load_best_model_at_end=has_validation,
        metric_for_best_model=primary if has_validation else None,
        greater_is_better=False if has_validation else None,
        predict_with_generate=True,
        generation_max_length=options.generation_max_length,
        # A run shorter than one logging interval still logs its last step, so the loss
        # has a start and an end to compare.
        logging_steps=min(options.logging_steps, options.max_steps),
        logging_first_step=True,
        report_to="none",  # TensorBoard is added below with our own folder
        disable_tqdm=True,  # the caller draws progress from our events
        seed=options.seed,
        data_seed=options.seed,
        remove_unused_columns=False,
        label_names=["labels"],
        dataloader_num_workers=0,
        use_cpu=not torch.cuda.is_available(),
        **_precision(options),
    )


def train(
    base: BaseModel,
    splits: Splits,
    options: FinetuneOptions,
    language: str | None,
    run: RunDir,
    *,
    resume: bool,
    on_progress: ProgressCallback | None = None,
) -> TrainOutcome:
    """Fine-tune `base` on `splits.train`, keep the best checkpoint in `run.best`.

    Args:
        base: the base model's checkpoint.
        splits: the data (validation may be empty: then the last step is kept).
        options: the run's settings.
        language: the language trained (None: English-only models, or detect).
        run: the output folder.
        resume: continue from the newest checkpoint in `run.checkpoints`.
        on_progress: called on each step, evaluation and stage.

    Raises:
        ConfigurationError: settings the model or hardware cannot follow.
        ModelError: the base model cannot be loaded.
        OutputError: a checkpoint cannot be written (a full disk).
        InputError: a clip became unreadable during training.
    """
    with _quiet_transformers():
        return _train(base, splits, options, language, run, resume, on_progress)


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No transformers progress bars or advice on the caller's terminal (unless -vv)."""
    from transformers.utils import logging as hf_logging

    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    bars, level = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def _train(
    base: BaseModel,
    splits: Splits,
    options: FinetuneOptions,
    language: str | None,
    run: RunDir,
    resume: bool,
    on_progress: ProgressCallback | None,
) -> TrainOutcome:
    processor, model = _load(base)
    _set_language(model, processor, language, options.task)
    tokenizer = processor.tokenizer
    limit = int(model.config.max_target_positions)
    train_examples, train_labels, dropped = _labels(splits.train, tokenizer, limit)
    val_examples, val_labels, val_dropped = _labels(splits.validation, tokenizer, limit)
    dropped += val_dropped
    if not train_examples:
        raise InputError("every training text is too long for the decoder", hint=dropped[0])
    if options.freeze_encoder:
        model.freeze_encoder()
    if options.gradient_checkpointing:
        model.config.use_cache = False
    train_set = ClipDataset(train_examples, train_labels, processor)
    train_set.encoded = _encode(model, train_set, options, on_progress)
    val_set = ClipDataset(val_examples, val_labels, processor) if val_examples else None
    if options.lora:
        model = _apply_lora(model, options)
    primary = default_metric(language, [e.text for e in splits.train])
    run.tensorboard.mkdir(parents=True, exist_ok=True)
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(run.tensorboard))
    reporter = _Reporter(on_progress, primary)
    trainer = Seq2SeqTrainer(
        model=model,
        args=_arguments(options, run, val_set is not None, primary),
        train_dataset=train_set,
        eval_dataset=val_set,
        data_collator=Collator(int(model.config.decoder_start_token_id)),
        processing_class=processor,
        compute_metrics=_metrics_function(tokenizer, language, val_examples),
        callbacks=[reporter, TensorBoardCallback(tb_writer=writer)],
    )
    trainer.remove_callback(PrinterCallback)
    checkpoint = run.last_checkpoint() if resume else None
    if checkpoint is not None and on_progress is not None:
        on_progress(Progress("train", message=f"resuming from {checkpoint.name}"))
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    except Exception as exc:
        failure = write_failure(exc)
        if failure is None:
            raise
        raise disk_error("save a checkpoint in", run.checkpoints, failure) from exc
    finally:
        writer.close()
    best = trainer.model
    if options.lora:
        best = best.merge_and_unload()
    _save_best(best, processor, run, on_progress)
    losses = [h["loss"] for h in reporter.history if "loss" in h]
    state = trainer.state
    best_step = state.global_step
    if state.best_model_checkpoint:
        best_step = int(str(state.best_model_checkpoint).rpartition("-")[2])
    return TrainOutcome(
        global_step=int(state.global_step),
        resumed_from=str(checkpoint) if checkpoint else None,
        first_loss=losses[0] if losses else None,
        last_loss=losses[-1] if losses else None,
        best_metric=float(state.best_metric) if state.best_metric is not None else None,
        best_step=best_step,
        metric=primary,
        history=tuple(reporter.history),
        skipped=tuple(dropped),
    )


def _save_best(
    model: Any, processor: Any, run: RunDir, on_progress: ProgressCallback | None
) -> None:
    """Save the model and processor into `run.best` through a staging folder."""
    if on_progress is not None:
        on_progress(Progress("save", 0, 1))
    model.config.use_cache = True
    try:
        # Not mkdtemp: its folder is private (0700), and best/ is as readable as the rest.
        staging = run.root / f".best-{uuid.uuid4().hex[:12]}"
        staging.mkdir()
    except OSError as exc:
        raise disk_error("write to", run.root, exc) from exc
    try:
        model.save_pretrained(str(staging))
        processor.save_pretrained(str(staging))
        run.replace_dir(staging, run.best)
    except Exception as exc:
        failure = write_failure(exc)
        if failure is None:
            raise
        raise disk_error("save the best checkpoint to", run.best, failure) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if on_progress is not None:
        on_progress(Progress("save", 1, 1, message=f"best checkpoint saved to {run.best}"))
