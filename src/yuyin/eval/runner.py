"""Run an evaluation: transcribe a manifest with one loaded model (or take given hypotheses)
and score the result; what was used is recorded so a report can be reproduced."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from yuyin.engines import Engine, load_engine, resolve_device
from yuyin.errors import InputError, YuyinError
from yuyin.eval.manifest import Manifest, Skipped, Utterance, read_manifest, read_pairs
from yuyin.eval.normalizers import Normalizer
from yuyin.eval.scoring import EvalResult, score_texts
from yuyin.languages import resolve_language
from yuyin.options import ModelOptions, TranscribeOptions
from yuyin.transcribe import transcribe, validate_options

__all__ = ["Recognition", "evaluate_manifest", "evaluate_pairs", "recognize_manifest"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Recognition:
    """The model's output for one manifest row.

    Attributes:
        utterance: the manifest row.
        text: the hypothesis.
        language: the language the model used or detected.
        duration: audio length in seconds.
        processing_time: seconds spent transcribing (decode + recognise).
    """

    utterance: Utterance
    text: str
    language: str
    duration: float
    processing_time: float


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _jsonable(value: Any) -> Any:
    """Option values as JSON: tuples as lists, infinities as strings."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def recognize_manifest(
    manifest: Manifest,
    *,
    options: TranscribeOptions,
    engine: Engine,
    on_done: Callable[[Utterance, Recognition | None, YuyinError | None], None] | None = None,
) -> tuple[list[Recognition], list[Skipped]]:
    """Transcribe every row; a row that fails is skipped with its reason, the rest go on.

    The language is `options.language` when set, else the row's own `language`, else
    detected.

    Args:
        manifest: rows with audio.
        options: decoding options.
        engine: a loaded engine (see `yuyin.engines.load_engine`).
        on_done: called after each row with its result or its error (for progress).
    """
    done: list[Recognition] = []
    skipped: list[Skipped] = []
    for utt in manifest.utterances:
        opts = options
        if options.language is None and utt.language:
            opts = dataclasses.replace(options, language=utt.language)
        started = time.perf_counter()
        try:
            if utt.audio is None:
                raise InputError("no audio path", hint="add an audio column")
            transcript = transcribe(utt.audio, options=opts, engine=engine)
        except YuyinError as exc:
            log.debug("%s failed", utt.audio, exc_info=True)
            skipped.append(Skipped(utt.source, utt.line, f"{type(exc).__name__}: {exc}", utt.id))
            if on_done is not None:
                on_done(utt, None, exc)
            continue
        spent = time.perf_counter() - started
        rec = Recognition(utt, transcript.text, transcript.language, transcript.duration, spent)
        done.append(rec)
        if on_done is not None:
            on_done(utt, rec, None)
    return done, skipped


def evaluate_manifest(
    manifest: str | Path | Manifest,
    *,
    options: TranscribeOptions | None = None,
    model_options: ModelOptions | None = None,
    engine: Engine | None = None,
    normalizer: str | Normalizer = "auto",
    metric: str = "auto",
    count_spaces: bool = False,
    on_done: Callable[[Utterance, Recognition | None, YuyinError | None], None] | None = None,
) -> EvalResult:
    """Transcribe a manifest and score it: the library side of `yuyin eval MANIFEST`.

    Args:
        manifest: a manifest path (see `yuyin.eval.manifest`) or one already read.
        options: decoding options (`language` also picks the default metric/normaliser).
        model_options: which model and hardware (ignored when `engine` is given).
        engine: an already loaded engine.
        normalizer: `auto`, a built-in name or a `Normalizer`.
        metric: `auto` or a metric name.
        count_spaces: count one space between words as a character in CER.
        on_done: called after each row (for progress).

    Raises:
        YuyinError: a bad manifest, options or model, or nothing left to score; a row that
            fails is skipped instead.
    """
    opts = options or TranscribeOptions()
    mopts = model_options or ModelOptions()
    validate_options(opts)
    m = manifest if isinstance(manifest, Manifest) else read_manifest(manifest)
    started = time.perf_counter()
    eng = engine or load_engine(mopts)
    load_seconds = time.perf_counter() - started
    check = getattr(eng, "check", None)
    if check is not None and opts.language is not None:
        # A model that cannot serve the language (tiny.en and zh-TW) fails every row alike:
        # say so once, before any decoding, rather than skip the whole manifest.
        check(resolve_language(opts.language).code, opts)
    done, failed = recognize_manifest(m, options=opts, engine=eng, on_done=on_done)
    local = engine is None and eng.name == "faster-whisper"
    device, compute_type = (
        resolve_device(mopts.device, mopts.compute_type) if local else (None, None)
    )
    model_settings = dataclasses.asdict(mopts)
    if model_settings.get("api_key"):
        model_settings["api_key"] = "<redacted>"  # a report is shared; a key must not be
    settings = {
        "mode": "asr",
        "manifest": m.path,
        "manifest_format": m.format,
        "model": eng.model_name,
        "engine": eng.name,
        "device": device,
        "compute_type": compute_type,
        "model_options": _jsonable(model_settings),
        "transcribe_options": _jsonable(dataclasses.asdict(opts)),
        "load_seconds": load_seconds,
        **_versions(),
    }
    result = score_texts(
        [r.utterance.text for r in done],
        [r.text for r in done],
        ids=[r.utterance.id for r in done],
        languages=[r.utterance.language or r.language for r in done],
        language=opts.language,
        normalizer=normalizer,
        metric=metric,
        count_spaces=count_spaces,
        skipped=[*m.skipped, *failed],
        settings=settings,
    )
    extras = {
        r.utterance.id: {
            "audio": r.utterance.audio,
            "line": r.utterance.line,
            "duration": r.duration,
            "processing_time": r.processing_time,
        }
        for r in done
    }
    return _with(result, extras)


def evaluate_pairs(
    hypotheses: str | Path,
    references: str | Path,
    *,
    language: str | None = None,
    normalizer: str | Normalizer = "auto",
    metric: str = "auto",
    count_spaces: bool = False,
) -> EvalResult:
    """Score existing output: the library side of `yuyin eval --hyp H --ref R`.

    Args:
        hypotheses: plain text (one utterance per line) or a manifest with ids.
        references: the same kind of file as `hypotheses`.
        language: the language of the set (picks the default metric and normaliser).
        normalizer: `auto`, a built-in name or a `Normalizer`.
        metric: `auto` or a metric name.
        count_spaces: count one space between words as a character in CER.

    Raises:
        YuyinError: unreadable or mismatched files, or nothing left to score.
    """
    pairs, skipped = read_pairs(hypotheses, references)
    settings = {
        "mode": "pairs",
        "hypotheses": str(hypotheses),
        "references": str(references),
        **_versions(),
    }
    result = score_texts(
        [p.reference for p in pairs],
        [p.hypothesis for p in pairs],
        ids=[p.id for p in pairs],
        languages=[p.language for p in pairs],
        language=language,
        normalizer=normalizer,
        metric=metric,
        count_spaces=count_spaces,
        skipped=skipped,
        settings=settings,
    )
    return _with(result, {p.id: {"line": p.line} for p in pairs})


def _versions() -> dict[str, Any]:
    return {"yuyin_version": _version("yuyin"), "jiwer_version": _version("jiwer")}


def _with(result: EvalResult, extras: Mapping[str, Mapping[str, Any]]) -> EvalResult:
    """The result with per-utterance facts (audio, line, timings) filled in by id."""
    utterances = tuple(dataclasses.replace(u, **extras.get(u.id, {})) for u in result.utterances)
    return dataclasses.replace(result, utterances=utterances)
