"""The offline pipeline: decode → (VAD) → engine → phantom filter → script → files.

`transcribe()` returns a `Transcript` for one input; `transcribe_files()` runs many inputs,
writes the requested formats atomically, and never lets one bad file cost the others.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import sys
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from yuyin.audio import SAMPLE_RATE, AudioSource, decode_audio
from yuyin.engines import Engine, load_engine
from yuyin.engines.vad import detect_speech
from yuyin.errors import ConfigurationError, YuyinError
from yuyin.fileio import atomic_write_text, find_media
from yuyin.formats import FORMATS, render
from yuyin.languages import resolve_language
from yuyin.options import ModelOptions, OutputOptions, TranscribeOptions
from yuyin.text import convert_segments, is_phantom
from yuyin.types import Segment, Transcript

__all__ = ["FileResult", "transcribe", "transcribe_files", "validate_options", "write_outputs"]

log = logging.getLogger(__name__)

SegmentCallback = Callable[[Segment], None]

_TRANSCRIBE_FIELDS = frozenset(f.name for f in fields(TranscribeOptions))
_MODEL_FIELDS = frozenset(f.name for f in fields(ModelOptions))


def _split_overrides(
    options: TranscribeOptions | None,
    model_options: ModelOptions | None,
    overrides: dict[str, Any],
) -> tuple[TranscribeOptions, ModelOptions]:
    unknown = set(overrides) - _TRANSCRIBE_FIELDS - _MODEL_FIELDS
    if unknown:
        raise ConfigurationError(
            "unknown option(s): " + ", ".join(sorted(unknown)),
            hint="see the fields of TranscribeOptions and ModelOptions",
        )
    opts = dataclasses.replace(
        options or TranscribeOptions(),
        **{k: v for k, v in overrides.items() if k in _TRANSCRIBE_FIELDS},
    )
    mopts = dataclasses.replace(
        model_options or ModelOptions(),
        **{k: v for k, v in overrides.items() if k in _MODEL_FIELDS},
    )
    return opts, mopts


def validate_options(options: TranscribeOptions) -> None:
    """Reject impossible settings with a message naming the flag.

    Raises:
        ConfigurationError: for the first bad value found.
    """
    if options.task not in ("transcribe", "translate"):
        raise ConfigurationError(
            f"unknown task {options.task!r}", hint="use --task transcribe or --task translate"
        )
    if options.beam_size < 1 or options.best_of < 1:
        raise ConfigurationError(
            "--beam-size and --best-of must be at least 1", hint="use --beam-size 1 for greedy"
        )
    if options.batch_size < 0:
        raise ConfigurationError(
            "--batch-size must be 0 or more", hint="0 decodes sequentially; try 8 for batching"
        )
    if not options.temperature or any(not 0.0 <= t <= 1.0 for t in options.temperature):
        raise ConfigurationError(
            "--temperature must be one or more values between 0 and 1",
            hint="e.g. --temperature 0 or --temperature 0,0.2,0.4,0.6,0.8,1",
        )
    if options.batch_size > 0 and options.vad is False:
        raise ConfigurationError(
            "batched inference (--batch-size) cuts audio at voice-activity boundaries",
            hint="drop --no-vad, or use --batch-size 0",
        )
    resolve_language(options.language, options.zh_script)


def transcribe(
    audio: AudioSource | NDArray[np.float32],
    *,
    options: TranscribeOptions | None = None,
    model_options: ModelOptions | None = None,
    engine: Engine | None = None,
    on_segment: SegmentCallback | None = None,
    cache_dir: Path | None = None,
    **overrides: Any,
) -> Transcript:
    """Transcribe one input (path, file object or 16 kHz float32 array) into a Transcript.

    Any field of `TranscribeOptions` or `ModelOptions` may be given as a keyword
    (`yuyin.transcribe("talk.mp3", model="tiny.en", language="en", beam_size=1)`).

    Args:
        audio: a media path, a binary file object, or 16 kHz mono float32 samples.
        options: decoding options; keywords override single fields.
        model_options: which model and hardware; keywords override single fields.
        engine: an already loaded engine (then `model_options` is ignored).
        on_segment: called with each segment as soon as it is decoded (for progress).
        cache_dir: model cache folder (default `default_cache_dir()`).

    Raises:
        YuyinError: any subclass, with a message and a hint; nothing else on bad input.
    """
    opts, mopts = _split_overrides(options, model_options, overrides)
    validate_options(opts)
    choice = resolve_language(opts.language, opts.zh_script)
    if isinstance(audio, np.ndarray):
        samples = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        source = "<array>"
    else:
        samples, info = decode_audio(audio)
        source = info.path
    duration = samples.size / SAMPLE_RATE
    eng: Engine = engine or load_engine(mopts, cache_dir=cache_dir)
    check = getattr(eng, "check", None)
    if check is not None:
        check(choice.code, opts)

    vad_filter = bool(opts.vad) or (
        opts.vad is None and (duration >= opts.vad_min_duration or opts.batch_size > 0)
    )
    speech: list[tuple[float, float]] | None = None
    if opts.vad is None and not vad_filter:
        # Short input, not gated: one cheap VAD pass lets pure silence or noise end here
        # instead of giving Whisper a chance to invent text.
        speech = detect_speech(samples, opts.vad_options)
        if not speech:
            log.info("%s: no speech detected; empty transcript", source)
            return Transcript((), choice.code or "", duration, 0.0, source, eng.model_name)

    run = eng.run(samples, language=choice.code, options=opts, vad_filter=vad_filter)
    segments = tuple(
        _postprocess(run.segments, opts, speech, duration, on_segment, choice.zh_script)
    )
    return Transcript(
        segments=segments,
        language=run.language,
        duration=duration,
        language_probability=run.language_probability,
        source=source,
        model=eng.model_name,
    )


def _speech_overlap(start: float, end: float, speech: list[tuple[float, float]]) -> float:
    covered = sum(max(0.0, min(end, b) - max(start, a)) for a, b in speech)
    return covered / max(end - start, 1e-6)


def _clamp(segment: Segment, duration: float) -> Segment:
    # Whisper's timestamp tokens and word alignment can overshoot the audio by a few frames;
    # keep the invariants every writer relies on: 0 ≤ start ≤ end ≤ duration, words inside.
    start = min(max(segment.start, 0.0), duration)
    end = min(max(segment.end, start), duration)
    words = tuple(
        dataclasses.replace(
            w,
            start=min(max(w.start, start), end),
            end=min(max(w.end, w.start, start), end),
        )
        for w in segment.words
    )
    return dataclasses.replace(segment, start=start, end=end, words=words)


def _postprocess(
    segments: Iterator[Segment],
    opts: TranscribeOptions,
    speech: list[tuple[float, float]] | None,
    duration: float,
    on_segment: SegmentCallback | None,
    zh_script: str | None,
) -> Iterator[Segment]:
    kept = 0
    for raw in segments:
        seg = _clamp(raw, duration)
        if not seg.text.strip():
            continue
        if not opts.keep_hallucinations:
            evidence = speech is None or _speech_overlap(seg.start, seg.end, speech) >= 0.3
            if is_phantom(seg.text, no_speech_prob=seg.no_speech_prob, speech_evidence=evidence):
                log.info("dropped phantom line %r at %.2f s", seg.text.strip(), seg.start)
                continue
        if zh_script is not None:
            (seg,) = convert_segments((seg,), zh_script)
        seg = dataclasses.replace(seg, id=kept)
        kept += 1
        if on_segment is not None:
            on_segment(seg)
        yield seg


# --- many files ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileResult:
    """The outcome for one input of a multi-file run: its outputs, or the error it hit."""

    input: str
    transcript: Transcript | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    error: YuyinError | None = None

    @property
    def ok(self) -> bool:
        """Whether this input was transcribed and all its files written."""
        return self.error is None


def _output_stems(inputs: list[str], output_dir: str | None) -> dict[str, Path]:
    """Choose `<dir>/<stem>` for each input so no two inputs write the same file."""
    stems: dict[str, Path] = {}
    taken: set[Path] = set()
    for item in inputs:
        if item == "-":
            base_dir, stem = Path(output_dir or "."), "stdin"
        elif "://" in item:
            # A URL's folder is not ours to write to; its last path part names the files.
            tail = urllib.parse.urlsplit(item).path.rstrip("/").rsplit("/", 1)[-1]
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(tail).stem)
            base_dir, stem = Path(output_dir or "."), safe or "download"
        else:
            path = Path(item)
            base_dir, stem = (Path(output_dir) if output_dir else path.parent), path.stem
        candidate, n = base_dir / stem, 1
        while candidate in taken:
            n += 1
            candidate = base_dir / f"{stem}-{n}"
        taken.add(candidate)
        stems[item] = candidate
    return stems


def write_outputs(transcript: Transcript, stem: Path, output: OutputOptions) -> dict[str, str]:
    """Write each requested format to `<stem>.<format>` atomically; return format → path.

    Raises:
        ConfigurationError: an unknown format.
        OutputError: a file cannot be written.
    """
    written: dict[str, str] = {}
    for fmt in output.output_format:
        text = render(transcript, fmt, output)
        written[fmt] = str(atomic_write_text(stem.parent / f"{stem.name}.{fmt}", text))
    return written


def transcribe_files(
    inputs: Iterable[str],
    *,
    options: TranscribeOptions | None = None,
    model_options: ModelOptions | None = None,
    output: OutputOptions | None = None,
    engine: Engine | None = None,
    on_start: Callable[[str], None] | None = None,
    on_segment: SegmentCallback | None = None,
    on_done: Callable[[FileResult], None] | None = None,
    cache_dir: Path | None = None,
) -> list[FileResult]:
    """Transcribe files, folders and globs (`-` is standard input), writing the outputs.

    A bad input is reported in its `FileResult` and skipped; the others complete.

    Raises:
        YuyinError: only for problems that affect every input (bad options, no model,
            nothing found), before any work starts.
    """
    opts = options or TranscribeOptions()
    out = output or OutputOptions()
    validate_options(opts)
    for fmt in out.output_format:
        if fmt not in FORMATS:
            render(Transcript((), "", 0.0), fmt, out)  # raises the formats' own error
    items = find_media(inputs)
    eng = engine or load_engine(model_options or ModelOptions(), cache_dir=cache_dir)
    stems = _output_stems(items, out.output_dir)
    results: list[FileResult] = []
    for item in items:
        if on_start is not None:
            on_start(item)
        try:
            source: AudioSource = item
            if item == "-":
                source = io.BytesIO(sys.stdin.buffer.read())
                source.name = "<stdin>"
            transcript = transcribe(source, options=opts, engine=eng, on_segment=on_segment)
            written = write_outputs(transcript, stems[item], out)
            result = FileResult(item, transcript, written)
        except YuyinError as exc:
            log.debug("%s failed", item, exc_info=True)
            result = FileResult(item, error=exc)
        results.append(result)
        if on_done is not None:
            on_done(result)
    return results
