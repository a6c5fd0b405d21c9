"""`yuyin finetune`: adapt Whisper to a manifest; `yuyin finetune export`: checkpoint -> CT2."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource
from tqdm import tqdm

from yuyin.cli._common import EXIT_CODES_HELP, EXIT_INTERRUPTED, echo_json
from yuyin.finetune import (
    PRECISIONS,
    FinetuneOptions,
    FinetuneResult,
    Progress,
    RunDir,
    finetune,
)
from yuyin.train.export_ct2 import QUANTIZATIONS, export_ctranslate2

__all__ = ["CLI_ONLY_PARAMS", "export_command", "finetune_command"]

#: Parameters of `yuyin finetune` that are not `FinetuneOptions` fields.
CLI_ONLY_PARAMS = frozenset(
    {
        "manifest",
        "output_dir",
        "validation_manifest",
        "test_manifest",
        "check",
        "resume",
        "overwrite",
        "json_output",
        "quiet",
    }
)

_DEFAULTS = FinetuneOptions()

_EXAMPLES = """\b
Examples:
  yuyin finetune train.jsonl -m tiny.en -o runs/names --max-steps 60 --freeze-encoder
  yuyin finetune cv/ -m base -l zh-TW -o runs/zh --lora --test test.tsv
  yuyin finetune train.jsonl -o runs/names --resume     # after Ctrl-C: same settings
  yuyin transcribe --model runs/names/ct2 meeting.wav   # use the result
  yuyin finetune export runs/names/best -o names-fp16 --quantization float16"""


def _first_run_settings(
    ctx: click.Context, output_dir: Path, params: dict[str, Any]
) -> dict[str, Any]:
    """With --resume, the options not given on the command line are the first run's.

    Resuming is "carry on": retyping every flag of the interrupted run is a chore and a
    source of mismatches. Flags that are given still go through the resumable check.
    """
    before = RunDir(output_dir).read_settings().get("options")
    if not isinstance(before, dict):
        return params
    return {
        name: before[name]
        if name in before and ctx.get_parameter_source(name) is ParameterSource.DEFAULT
        else value
        for name, value in params.items()
    }


class _FinetuneCommand(click.Command):
    """A command with one subcommand, `export`, beside its MANIFEST argument."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if args[:1] == ["export"]:
            # A bare stand-in, so usage reads `yuyin finetune export` without MANIFEST.
            ctx = click.Context(click.Command(self.name), info_name=info_name, parent=parent)
            return export_command.make_context("export", args[1:], parent=ctx, **extra)
        return super().make_context(info_name, args, parent, **extra)


_UNITS = {"scan": "clip", "encode": "clip", "train": "step", "report": "set"}


def _postfix(event: Progress, sep: str) -> str:
    """Loss, learning rate and the latest validation scores of a training event."""
    parts = []
    if event.loss is not None:
        parts.append(f"loss={event.loss:.4g}")
    if event.learning_rate is not None:
        parts.append(f"lr={event.learning_rate:.2e}")
    parts += [f"{k}={v:.3f}" for k, v in event.metrics.items() if k != "loss"]
    return (sep if sep == " " and parts else "") + sep.join(parts)


class _Bars:
    """One tqdm bar per stage on a terminal; plain lines for messages and evaluations."""

    def __init__(self, show: bool) -> None:
        self.show = show
        self.bars: dict[str, tqdm[Any]] = {}
        self.tty = sys.stderr.isatty()
        # (time, step) of the first train event: the ETA of plain lines counts from there.
        self.train_start: tuple[float, int] | None = None

    def _eta(self, event: Progress) -> str:
        """Time left in training, from the pace since the first step seen (this session)."""
        now = time.monotonic()
        if self.train_start is None:
            self.train_start = (now, event.done)
        began, first = self.train_start
        if event.done <= first:
            return ""
        left = (now - began) / (event.done - first) * max(0, event.total - event.done)
        return f" eta {tqdm.format_interval(left)}"

    def __call__(self, event: Progress) -> None:
        if not self.show:
            return
        if event.message:
            self.write(event.message)
        if event.stage not in _UNITS or not event.total:
            return
        if not self.tty:
            # Logs and pipes get a line per logged step instead of a redrawn bar.
            if event.stage == "train":
                eta = self._eta(event)
                if event.logged:
                    self.write(f"step {event.done}/{event.total}" + _postfix(event, " ") + eta)
            return
        bar = self.bars.get(event.stage)
        if bar is None:
            bar = tqdm(
                total=event.total,
                desc=event.stage,
                unit=_UNITS[event.stage],
                file=sys.stderr,
                dynamic_ncols=True,
                initial=event.done - 1 if event.stage == "train" else 0,
            )
            self.bars[event.stage] = bar
        bar.total = event.total
        bar.update(max(0, event.done - bar.n))
        if event.stage == "train":
            bar.set_postfix_str(_postfix(event, ", "), refresh=False)
        if event.done >= event.total:
            bar.close()

    def write(self, line: str) -> None:
        if self.bars and self.tty:
            tqdm.write(line, file=sys.stderr)
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _summary(result: FinetuneResult) -> list[str]:
    data, training = result.data, result.training
    reasons = data.get("skipped_by_reason") or {}
    why = " (" + ", ".join(f"{n} {r}" for r, n in reasons.items()) + ")" if reasons else ""
    lines = [
        "data: "
        + ", ".join(f"{data[s]['clips']} {s}" for s in ("train", "validation", "test"))
        + f" clips ({data['method']} split), {data['skipped']} skipped{why}",
    ]
    if data.get("dropped_by_trainer"):
        lines.append(
            f"left out of training: {len(data['dropped_by_trainer'])} clips whose text is "
            "longer than the decoder's token limit"
        )
    first, last = training.get("first_loss"), training.get("last_loss")
    logged = sum("loss" in h for h in training.get("history", ()))
    loss = ""
    if first is not None and last is not None:
        loss = f", loss {first:.3f} -> {last:.3f}" if logged > 1 else f", loss {last:.3f}"
    best = training.get("best_metric")
    metric = training.get("metric", "wer")
    chosen = (
        f", best validation {metric} {best:.3f} at step {training['best_step']}"
        if best is not None
        else ""
    )
    lines.append(f"training: {training['global_step']} steps{loss}{chosen}")
    for c in result.comparisons:
        before, after = c["before"]["score"], c["after"]["score"]
        change = c.get("relative_change")
        rel = f" ({change:+.0%})" if change is not None else ""
        lines.append(f"{c['name']} {c['metric']}: {before:.3f} -> {after:.3f}{rel}")
    lines.append(f"checkpoint: {result.checkpoint}")
    lines.append(f"CTranslate2: {result.ct2}   (yuyin transcribe --model {result.ct2} FILE)")
    if result.hub_url:
        lines.append(f"uploaded: {result.hub_url}")
    return lines


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


@click.command(
    "finetune",
    cls=_FinetuneCommand,
    epilog=_EXAMPLES + "\n\n" + EXIT_CODES_HELP,
    short_help="Fine-tune Whisper on your data; export it for yuyin transcribe.",
)
@click.argument("manifest", type=click.Path())
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    required=True,
    help="The run's folder: checkpoints/, tensorboard/, best/ (Hugging Face), ct2/ "
    "(CTranslate2), report.json. Must be new or empty unless --resume/--overwrite.",
)
@click.option(
    "-m",
    "--model",
    default=_DEFAULTS.model,
    help="Base model: a yuyin name (tiny.en, base), a CTranslate2 or Hugging Face "
    "Whisper folder, or a hub id such as openai/whisper-small.",
)
@click.option(
    "-l",
    "--language",
    default=None,
    help="Language to train and score (en, zh-TW...). Default: the manifest's language "
    "column; English-only models need none.",
)
@click.option(
    "--task",
    type=click.Choice(["transcribe", "translate"]),
    default=_DEFAULTS.task,
    help="translate trains speech -> English text.",
)
@click.option(
    "--validation",
    "validation_manifest",
    type=click.Path(),
    default=None,
    help="A separate validation manifest (default: the `split` column, else a seeded "
    "split of MANIFEST).",
)
@click.option(
    "--test",
    "test_manifest",
    type=click.Path(),
    default=None,
    help="A separate test manifest for the before/after report.",
)
@click.option(
    "--check",
    type=click.Path(),
    multiple=True,
    help="Another manifest scored before and after, e.g. general speech, to see what the "
    "adaptation costs elsewhere. Repeatable.",
)
@click.option("--max-steps", type=int, default=_DEFAULTS.max_steps, help="Optimiser steps.")
@click.option(
    "--batch-size", type=int, default=_DEFAULTS.batch_size, help="Clips per step and device."
)
@click.option(
    "--gradient-accumulation-steps",
    type=int,
    default=_DEFAULTS.gradient_accumulation_steps,
    help="Batches summed per optimiser step (effective batch = batch size x this).",
)
@click.option(
    "--learning-rate", type=float, default=_DEFAULTS.learning_rate, help="Peak learning rate."
)
@click.option(
    "--lr-scheduler",
    default=_DEFAULTS.lr_scheduler,
    help="A transformers scheduler: constant_with_warmup, linear, cosine...",
)
@click.option(
    "--warmup-steps", type=int, default=_DEFAULTS.warmup_steps, help="Linear warm-up steps."
)
@click.option(
    "--weight-decay", type=float, default=_DEFAULTS.weight_decay, help="AdamW weight decay."
)
@click.option(
    "--gradient-checkpointing/--no-gradient-checkpointing",
    default=_DEFAULTS.gradient_checkpointing,
    help="Recompute activations in the backward pass: less memory, about 30% slower.",
)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default=_DEFAULTS.precision,
    help="auto: bf16 on GPUs that have it, fp16 on other CUDA GPUs, fp32 on CPUs.",
)
@click.option(
    "--eval-steps",
    type=int,
    default=_DEFAULTS.eval_steps,
    help="Score the validation split and save a checkpoint every N steps.",
)
@click.option(
    "--eval-batch-size", type=int, default=_DEFAULTS.eval_batch_size, help="Clips per eval batch."
)
@click.option(
    "--logging-steps",
    type=int,
    default=_DEFAULTS.logging_steps,
    help="Log loss and learning rate (TensorBoard) every N steps.",
)
@click.option(
    "--save-total-limit",
    type=int,
    default=_DEFAULTS.save_total_limit,
    help="Checkpoints kept on disk (the best is always kept).",
)
@click.option(
    "--generation-max-length",
    type=int,
    default=_DEFAULTS.generation_max_length,
    help="Token limit when decoding for validation.",
)
@click.option(
    "--freeze-encoder",
    is_flag=True,
    default=_DEFAULTS.freeze_encoder,
    help="Train only the decoder: several times faster on a CPU, and enough to learn "
    "new words and names.",
)
@click.option(
    "--encoder-cache-mb",
    type=int,
    default=_DEFAULTS.encoder_cache_mb,
    help="With --freeze-encoder, keep each training clip's encoder output in memory when "
    "all fit in this many MB, so the encoder runs once per clip, not once per step (0: off).",
)
@click.option(
    "--lora",
    is_flag=True,
    default=_DEFAULTS.lora,
    help="Train low-rank adapters (peft) instead of all weights; merged before export.",
)
@click.option("--lora-rank", type=int, default=_DEFAULTS.lora_rank, help="LoRA rank r.")
@click.option("--lora-alpha", type=int, default=_DEFAULTS.lora_alpha, help="LoRA alpha.")
@click.option("--lora-dropout", type=float, default=_DEFAULTS.lora_dropout, help="LoRA dropout.")
@click.option(
    "--validation-fraction",
    type=float,
    default=_DEFAULTS.validation_fraction,
    help="Share held out for validation when MANIFEST has no split column.",
)
@click.option(
    "--test-fraction",
    type=float,
    default=_DEFAULTS.test_fraction,
    help="Share held out for the test when MANIFEST has no split column. With a speaker "
    "column, whole speakers are held out.",
)
@click.option(
    "--seed", type=int, default=_DEFAULTS.seed, help="Seed of the split, data order and init."
)
@click.option(
    "--max-duration",
    type=float,
    default=_DEFAULTS.max_duration,
    help="Skip (and count) clips longer than this many seconds.",
)
@click.option(
    "--report/--no-report",
    default=_DEFAULTS.report,
    help="Score the base and the fine-tuned model on the test split (and --check sets).",
)
@click.option(
    "--report-beam-size",
    type=int,
    default=_DEFAULTS.report_beam_size,
    help="Beam width of the before/after decoding (1: greedy).",
)
@click.option(
    "--quantization",
    type=click.Choice(QUANTIZATIONS),
    default=_DEFAULTS.quantization,
    help="Weights of the CTranslate2 export in OUTPUT_DIR/ct2 (float16 for GPUs).",
)
@click.option(
    "--push-to-hub",
    metavar="REPO_ID",
    default=None,
    help="Upload the best checkpoint to this Hugging Face repository (private) when a "
    "token is configured (HF_TOKEN or `hf auth login`); skipped otherwise.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the interrupted run in OUTPUT_DIR; options not given are that run's.",
)
@click.option("--overwrite", is_flag=True, help="Delete the run in OUTPUT_DIR and start again.")
@click.option(
    "--json", "json_output", is_flag=True, help="Print the final report as JSON on stdout."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary.")
def finetune_command(
    manifest: str,
    output_dir: str,
    validation_manifest: str | None,
    test_manifest: str | None,
    check: tuple[str, ...],
    resume: bool,
    overwrite: bool,
    json_output: bool,
    quiet: bool,
    **params: Any,
) -> None:
    """Fine-tune a Whisper model on MANIFEST, then export it for `yuyin transcribe`.

    MANIFEST is anything `yuyin eval` reads (.jsonl, .csv/.tsv, a Kaldi folder, an
    audiofolder), with optional `split` (train/validation/test) and `speaker` columns.
    Clips are decoded at 16 kHz whatever their rate; clips over 30 s, with empty text,
    missing or unreadable audio are skipped and counted. Without a split column a seeded
    split is made, by speaker when there is a speaker column.

    Training uses transformers' Seq2SeqTrainer with the seed recipe's defaults
    (learning rate 1e-5, constant_with_warmup, 50 warm-up steps), scores the validation
    split every --eval-steps with normalised and orthographic WER and CER, keeps the best
    checkpoint by WER (by CER for Chinese, Japanese, Korean, Thai) and logs to
    OUTPUT_DIR/tensorboard. A multilingual base model needs --language (or a `language`
    column). At the end the best checkpoint is
    exported to OUTPUT_DIR/ct2 and the base and fine-tuned models are compared on the test
    split. Ctrl-C stops it; --resume continues from the last checkpoint.

    Needs the train extra: pip install 'yuyin[train]'. Small CPUs: --freeze-encoder
    (or --lora) and a small --batch-size. `yuyin finetune export --help` converts any
    Whisper checkpoint to CTranslate2.
    """
    if resume:
        params = _first_run_settings(click.get_current_context(), Path(output_dir), params)
    options = FinetuneOptions(**params)
    show = not quiet and not json_output
    bars = _Bars(show)
    try:
        result = finetune(
            manifest,
            output_dir,
            options=options,
            validation=validation_manifest,
            test=test_manifest,
            checks=check,
            resume=resume,
            overwrite=overwrite,
            on_progress=bars,
        )
    except KeyboardInterrupt:
        bars.close()
        click.echo(
            f"interrupted: continue with `yuyin finetune {manifest} -o {output_dir} --resume`",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    finally:
        bars.close()
    if json_output:
        echo_json(result.to_dict())
    elif not quiet:
        for line in _summary(result):
            click.echo(line)


@click.command("export", short_help="Export a Whisper checkpoint to CTranslate2.")
@click.argument("checkpoint", type=click.Path(file_okay=False))
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    required=True,
    help="The CTranslate2 folder to write (new or empty unless --overwrite).",
)
@click.option(
    "--quantization",
    type=click.Choice(QUANTIZATIONS),
    default="int8",
    show_default=True,
    help="Stored weights: int8 (smallest, fastest on CPUs) or float16 (GPUs).",
)
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT_DIR if it holds a model.")
@click.option("--json", "json_output", is_flag=True, help="Print one JSON object on stdout.")
def export_command(
    checkpoint: str, output_dir: str, quantization: str, overwrite: bool, json_output: bool
) -> None:
    """Convert the Hugging Face Whisper CHECKPOINT (e.g. OUT/best) to CTranslate2.

    Uses CTranslate2's own converter. The result loads with
    `yuyin transcribe --model OUTPUT_DIR` and in `yuyin serve`; it is written to a staging
    folder and renamed into place, so a failed export never leaves a partial model.
    """
    written = export_ctranslate2(
        Path(checkpoint), Path(output_dir), quantization=quantization, overwrite=overwrite
    )
    size = sum(f.stat().st_size for f in written.iterdir() if f.is_file())
    if json_output:
        echo_json({"output_dir": str(written), "quantization": quantization, "bytes": size})
    else:
        click.echo(f"exported {checkpoint} to {written} ({quantization}, {size / 1e6:.1f} MB)")
