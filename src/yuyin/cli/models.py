"""`yuyin models`: every model name yuyin knows, and `yuyin models export` to other runtimes."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import click

from yuyin.cli._common import echo_json
from yuyin.engines import list_models

__all__ = ["models_command"]


def _size(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:.0f} MB"


@click.group("models", invoke_without_command=True)
@click.option("--json", "json_output", is_flag=True, help="Print a JSON list (for scripts).")
@click.pass_context
def models_command(ctx: click.Context, json_output: bool) -> None:
    """List known models: availability, languages, size on disk and where they come from.

    `yuyin models export` writes a model in another runtime's format; `yuyin models cache`
    lists the converted models kept in the cache and deletes the stale ones.
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = list_models()
    if json_output:
        echo_json([dataclasses.asdict(r) for r in rows])
        return
    header = f"{'NAME':<18} {'LANGUAGES':<13} {'HERE':<5} {'SIZE':>8}  SOURCE"
    click.echo(header)
    for r in rows:
        langs = "multilingual" if r.multilingual else "English only"
        here = "yes" if r.available else "no"
        line = f"{r.name:<18} {langs:<13} {here:<5} {_size(r.size_bytes):>8}  {r.source}"
        click.echo(line + (f"; {r.note}" if r.note else ""))


# --- cache -------------------------------------------------------------------------------------


@models_command.command("cache")
@click.option(
    "--prune", is_flag=True, help="Delete the stale conversions (no engine reads them again)."
)
@click.option("--json", "json_output", is_flag=True, help="Print a JSON report (for scripts).")
def cache_command(prune: bool, json_output: bool) -> None:
    """List the converted models in the cache, and which are stale; --prune deletes those.

    Engines other than faster-whisper convert a model once (a Hugging Face import in hf/,
    then ggml/, onnx/ or openai-whisper/), and faster-whisper converts a Hugging Face
    checkpoint to CTranslate2 once (converted/); each is reused. A conversion goes stale
    when what it was made from changes or goes away (a new yuyin, a fine-tuned model
    written again); it is never read again but keeps its space. The cache is $YUYIN_CACHE_DIR, else
    $XDG_CACHE_HOME/yuyin, else ~/.cache/yuyin; downloaded models (models/) are left alone.
    """
    from yuyin.engines.models import default_cache_dir
    from yuyin.train.cache import prune_conversions, scan_conversions

    root = default_cache_dir()
    entries = scan_conversions(root)
    freed = prune_conversions(entries) if prune else 0
    if json_output:
        rows = [dataclasses.asdict(e) | {"path": str(e.path)} for e in entries]
        echo_json({"cache_dir": str(root), "conversions": rows, "pruned_bytes": freed})
        return
    if not entries:
        click.echo(f"no converted models in {root}")
        return
    click.echo(f"{'KIND':<15} {'SIZE':>8}  {'STATE':<7} FOLDER")
    for e in entries:
        state = "stale" if e.stale else "current"
        note = f"  ({e.stale})" if e.stale else ""
        click.echo(f"{e.kind:<15} {_size(e.bytes):>8}  {state:<7} {e.path.name}{note}")
    stale = [e for e in entries if e.stale]
    total = sum(e.bytes for e in stale)
    if prune:
        click.echo(f"deleted {len(stale)} stale conversion(s), {_size(freed)} freed from {root}")
    elif stale:
        click.echo(f"{len(stale)} stale, {_size(total)}: `yuyin models cache --prune` frees it")


# --- export ------------------------------------------------------------------------------------

_FORMATS_HELP = """\b
Formats (and the engine that runs each):
  hf              Hugging Face checkpoint        --engine transformers
  ct2             CTranslate2                    --engine faster-whisper
  openai-whisper  openai-whisper model.pt        --engine openai-whisper
  ggml            whisper.cpp ggml file          --engine whisper.cpp
  onnx            sherpa-onnx encoder/decoder    --engine sherpa-onnx"""


def _is_hf_folder(path: Path) -> bool:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model_type") == "whisper"


def _checkpoint(model: str, cache_dir: Path | None) -> Path:
    """The Hugging Face checkpoint of a model name, CTranslate2 folder or HF folder."""
    from yuyin.engines.models import default_cache_dir, resolve_model
    from yuyin.train.importer import cached_import

    local = Path(model).expanduser()
    if local.is_dir() and _is_hf_folder(local) and not (local / "model.bin").is_file():
        return local
    resolved = resolve_model(model, cache_dir=cache_dir)
    return cached_import(resolved.path, cache_dir or default_cache_dir(), name=resolved.name)


def _files(path: Path) -> list[dict[str, Any]]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [{"path": str(p), "bytes": p.stat().st_size} for p in files]


def _verify_engine(fmt: str) -> str:
    """The engine that verifies a `fmt` export, checked before any export work is done.

    An export can take minutes and hundreds of MB; finding the verifying engine's extra
    missing only afterwards would waste both.
    """
    from yuyin.engines.registry import ENGINES
    from yuyin.errors import ConfigurationError
    from yuyin.train.exports import EXPORT_FORMATS

    engine_name = EXPORT_FORMATS[fmt].engine
    info = ENGINES.get(engine_name)
    if info is None:
        raise ConfigurationError(
            f"cannot verify: the {engine_name} engine is not part of this yuyin install",
            hint="export without --verify",
        )
    info.require(f"--verify (a transcription with --engine {engine_name})")
    return engine_name


def _verify(
    fmt: str, exported: Path, audio: Path, text: str, language: str, max_wer: float
) -> dict[str, Any]:
    """Transcribe `audio` with the format's engine on the exported model; score it."""
    import yuyin
    from yuyin.engines import load_engine
    from yuyin.errors import ModelError
    from yuyin.eval.scoring import score_texts

    engine_name = _verify_engine(fmt)
    options = yuyin.ModelOptions(model=str(exported), engine=engine_name)
    engine = load_engine(options, shared=False)
    started = time.perf_counter()
    transcript = yuyin.transcribe(
        audio, engine=engine, language=language, beam_size=1, temperature=(0.0,)
    )
    seconds = time.perf_counter() - started
    result = score_texts([text], [transcript.text], language=language)
    error_rate = result.score()
    report = {
        "engine": engine_name,
        "audio": str(audio),
        "reference": text,
        "text": transcript.text,
        "metric": result.metric,
        "error_rate": round(error_rate, 4),
        "max_error_rate": max_wer,
        "seconds": round(seconds, 3),
        "passed": error_rate <= max_wer,
    }
    if not report["passed"]:
        raise ModelError(
            f"the {fmt} export transcribes the sample badly: {result.metric.upper()} "
            f"{error_rate:.2f} > {max_wer:.2f} (got {transcript.text!r})",
            hint="the export is in place but suspect; report it with the model name",
        )
    return report


@models_command.command("export", epilog=_FORMATS_HELP)
@click.argument("model")
@click.option(
    "-f",
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["hf", "ct2", "openai-whisper", "ggml", "onnx"]),
    help="The format to write.",
)
@click.option(
    "-o",
    "--output-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A new (or empty) folder for the exported files; a non-empty one is refused.",
)
@click.option("--dtype", default=None, help="ggml only: f16 (default), f32, q8_0 or q4_0.")
@click.option(
    "--quantization",
    default=None,
    help="ct2 only: CTranslate2 weight type, e.g. int8 (default), float16, float32.",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Afterwards, transcribe a sample with the format's engine and check its error rate.",
)
@click.option(
    "--verify-audio",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The sample to verify with  [default: a built-in 5 s English sentence]",
)
@click.option(
    "--verify-text",
    default=None,
    help="The known text of --verify-audio (required with it).",
)
@click.option("--verify-language", default="en", help="The language of the verification sample.")
@click.option(
    "--max-error-rate",
    type=click.FloatRange(0.0),
    default=0.3,
    help="--verify fails above this word (or, for Chinese, character) error rate.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Model cache (default $YUYIN_CACHE_DIR or ~/.cache/yuyin).",
)
@click.option("--json", "json_output", is_flag=True, help="Print a JSON report (for scripts).")
def export_command(
    model: str,
    fmt: str,
    output_dir: Path,
    dtype: str | None,
    quantization: str | None,
    verify: bool,
    verify_audio: Path | None,
    verify_text: str | None,
    verify_language: str,
    max_error_rate: float,
    cache_dir: Path | None,
    json_output: bool,
) -> None:
    """Export MODEL to another runtime's format.

    MODEL is an embedded name (tiny.en, base), a CTranslate2 Whisper folder or a Hugging
    Face Whisper folder. Every format is written from the Hugging Face checkpoint; a name or
    a CTranslate2 folder is first imported into one, once, in the cache. Example:

    \b
      yuyin models export tiny.en --format onnx --output-dir tiny-onnx --verify
      yuyin transcribe talk.wav --engine sherpa-onnx --model tiny-onnx
    """
    from yuyin.errors import ConfigurationError, OutputError
    from yuyin.train.exports import (
        VERIFY_SAMPLE,
        VERIFY_TEXT,
        check_export_options,
        export_checkpoint,
    )

    if verify_audio is not None and verify_text is None:
        raise ConfigurationError(
            "--verify-audio needs --verify-text (what the sample says)",
            hint="give both, or neither for the built-in sample",
        )
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise OutputError(
            f"{output_dir} already exists and is not empty",
            hint="choose a new --output-dir, or delete the folder first",
        )

    # Everything that can be refused is refused before the (slow) import and export.
    check_export_options(fmt, dtype=dtype, quantization=quantization)
    if verify:
        _verify_engine(fmt)

    def status(message: str) -> None:
        if not json_output:
            click.echo(message, err=True)

    started = time.perf_counter()
    status(f"preparing {model} ...")
    checkpoint = _checkpoint(model, cache_dir)
    status(f"exporting to {fmt} ...")
    exported = export_checkpoint(
        checkpoint, fmt, output_dir, dtype=dtype, quantization=quantization
    )
    report: dict[str, Any] = {
        "model": model,
        "format": fmt,
        "checkpoint": str(checkpoint),
        "output": str(exported),
        "files": _files(exported),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if verify:
        status(f"verifying with the {fmt} export ...")
        report["verify"] = _verify(
            fmt,
            exported,
            verify_audio or VERIFY_SAMPLE,
            verify_text or VERIFY_TEXT,
            verify_language,
            max_error_rate,
        )
    if json_output:
        echo_json(report)
        return
    total = sum(f["bytes"] for f in report["files"])
    click.echo(f"exported {model} as {fmt} to {exported} ({_size(total)})")
    for f in report["files"]:
        click.echo(f"  {f['path']}  {_size(f['bytes'])}")
    if verify:
        v = report["verify"]
        click.echo(
            f"verified with --engine {v['engine']}: {v['metric'].upper()} {v['error_rate']:.2f} "
            f"(at most {v['max_error_rate']:.2f}) in {v['seconds']:.1f} s"
        )
        click.echo(f"  {v['text']}")
