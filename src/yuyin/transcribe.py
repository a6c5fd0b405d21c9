"""The offline pipeline: (download) → decode → (separate vocals) → (VAD) → engine → phantom
filter → script → files (→ a video copy with a subtitle track).

`transcribe()` returns a `Transcript` for one input; `transcribe_files()` runs many inputs,
writes the requested formats atomically, and never lets one bad file (or playlist entry)
cost the others.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from yuyin.audio import SAMPLE_RATE, AudioSource, decode_audio
from yuyin.engines import Engine, default_cache_dir, load_engine
from yuyin.engines.vad import detect_speech
from yuyin.errors import ConfigurationError, YuyinError
from yuyin.fileio import atomic_write_text, find_media
from yuyin.formats import FORMATS, render
from yuyin.languages import resolve_language
from yuyin.media import (
    MediaEntry,
    MediaOptions,
    ProgressCallback,
    Stems,
    burn_subtitles,
    check_burnable,
    check_embeddable,
    check_separator,
    embed_subtitles,
    fetch_media,
    is_url,
    list_media,
    separate_vocals,
    validate_media_options,
    write_stems,
)
from yuyin.options import ModelOptions, OutputOptions, TranscribeOptions
from yuyin.text import convert_segments, is_phantom
from yuyin.types import Segment, Transcript

__all__ = [
    "FileResult",
    "resolve_download_dir",
    "transcribe",
    "transcribe_files",
    "validate_options",
    "write_outputs",
]

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
    media: MediaOptions | None = None,
    **overrides: Any,
) -> Transcript:
    """Transcribe one input (path, file object or 16 kHz float32 array) into a Transcript.

    Any field of `TranscribeOptions` or `ModelOptions` may be given as a keyword
    (`yuyin.transcribe("talk.mp3", model="tiny.en", language="en", beam_size=1)`).

    Args:
        audio: a media path or http(s) URL (YouTube and other sites need the `media`
            extra), a binary file object, or 16 kHz mono float32 samples.
        options: decoding options; keywords override single fields.
        model_options: which model and hardware; keywords override single fields.
        engine: an already loaded engine (then `model_options` is ignored).
        on_segment: called with each segment as soon as it is decoded (for progress).
        cache_dir: model cache folder (default `default_cache_dir()`).
        media: download (`cookies`, `download_dir`) and `separate_vocals` settings; the
            output-side fields (stems, embedding) are used by `transcribe_files`.

    Raises:
        YuyinError: any subclass, with a message and a hint; nothing else on bad input.
    """
    opts, mopts = _split_overrides(options, model_options, overrides)
    validate_options(opts)
    media_opts = media or MediaOptions()
    validate_media_options(media_opts)
    if media_opts.separate_vocals:
        check_separator(media_opts.separator, media_opts.demucs_model)
    resolve_language(opts.language, opts.zh_script)
    if isinstance(audio, np.ndarray):
        samples = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        source = "<array>"
    elif isinstance(audio, str) and is_url(audio):
        # One video expected: a playlist URL is an error that asks for transcribe_files.
        single = dataclasses.replace(media_opts, playlist=False)
        downloads = resolve_download_dir(media_opts, cache_dir)
        (entry,) = list_media(audio, single, download_dir=downloads)
        samples, _ = decode_audio(fetch_media(entry, single, download_dir=downloads))
        source = audio
    else:
        samples, info = decode_audio(audio)
        source = info.path
    if media_opts.separate_vocals:
        samples = _separate(samples, media_opts).vocals
    eng: Engine = engine or load_engine(mopts, cache_dir=cache_dir)
    return _recognise(samples, source, opts, eng, on_segment)


def resolve_download_dir(media: MediaOptions, cache_dir: Path | None = None) -> Path:
    """The download cache folder: `media.download_dir`, else `downloads` in the model cache.

    Args:
        media: its `download_dir`, when set, wins.
        cache_dir: the model cache folder (default `default_cache_dir()`).
    """
    if media.download_dir is not None:
        return Path(media.download_dir).expanduser()
    return (cache_dir or default_cache_dir()) / "downloads"


def _separate(samples: NDArray[np.float32], media: MediaOptions) -> Stems:
    return separate_vocals(
        samples, SAMPLE_RATE, separator=media.separator, demucs_model=media.demucs_model
    )


def _recognise(
    samples: NDArray[np.float32],
    source: str,
    opts: TranscribeOptions,
    eng: Engine,
    on_segment: SegmentCallback | None,
) -> Transcript:
    choice = resolve_language(opts.language, opts.zh_script)
    duration = samples.size / SAMPLE_RATE
    check = getattr(eng, "check", None)
    if check is not None:
        check(choice.code, opts)

    vad_filter = opts.gates_with_vad(duration)
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


class _Names:
    """Chooses `<dir>/<stem>` for each input so no two inputs write the same files."""

    def __init__(self, output_dir: str | None) -> None:
        self.output_dir = output_dir
        self.taken: set[Path] = set()

    def for_input(self, item: str) -> Path:
        if item == "-":
            return self.take(Path(self.output_dir or "."), "stdin")
        path = Path(item)
        return self.take(Path(self.output_dir) if self.output_dir else path.parent, path.stem)

    def for_download(self, name: str) -> Path:
        # A URL's folder is not ours to write to: downloads write to --output-dir or here.
        return self.take(Path(self.output_dir or "."), name)

    def take(self, base_dir: Path, stem: str) -> Path:
        candidate, n = base_dir / stem, 1
        while candidate in self.taken:
            n += 1
            candidate = base_dir / f"{stem}-{n}"
        self.taken.add(candidate)
        return candidate


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
    media: MediaOptions | None = None,
    on_download: ProgressCallback | None = None,
    on_burn: Callable[[float, float | None], None] | None = None,
) -> list[FileResult]:
    """Transcribe files, folders, globs and URLs (`-` is standard input), writing the outputs.

    A bad input (or playlist entry) is reported in its `FileResult` and skipped; the others
    complete. `media` adds downloads, vocal separation (with `stems` written as
    `<name>.vocals.wav`...), a subtitled copy of each video (`outputs["video"]`) and one with
    the subtitles burnt in (`outputs["burned"]`).

    `on_download` is called with (bytes done, bytes in all) while a URL downloads, and
    `on_burn` with (video seconds done, seconds in all) while subtitles are burnt in.

    Raises:
        YuyinError: only for problems that affect every input (bad options, no model,
            nothing found), before any work starts.
    """
    opts = options or TranscribeOptions()
    out = output or OutputOptions()
    media_opts = media or MediaOptions()
    validate_options(opts)
    validate_media_options(media_opts)
    if media_opts.separate_vocals:
        check_separator(media_opts.separator, media_opts.demucs_model)
    for fmt in out.output_format:
        if fmt not in FORMATS:
            render(Transcript((), "", 0.0), fmt, out)  # raises the formats' own error
    items = find_media(inputs)
    eng = engine or load_engine(model_options or ModelOptions(), cache_dir=cache_dir)
    names = _Names(out.output_dir)
    downloads = resolve_download_dir(media_opts, cache_dir)
    results: list[FileResult] = []

    def finish(result: FileResult) -> None:
        results.append(result)
        if on_done is not None:
            on_done(result)

    def run(label: str, source: AudioSource | _Fetch, stem: Callable[[], Path]) -> None:
        try:
            transcript, written = _one(
                source, label, stem, opts, eng, out, media_opts, on_segment, on_burn
            )
            finish(FileResult(label, transcript, written))
        except YuyinError as exc:
            log.debug("%s failed", label, exc_info=True)
            finish(FileResult(label, error=exc))

    for item in items:
        if not is_url(item):
            if on_start is not None:
                on_start(item)
            source: AudioSource = item
            if item == "-":
                source = io.BytesIO(sys.stdin.buffer.read())
                source.name = "<stdin>"
            run(item, source, lambda item=item: names.for_input(item))  # type: ignore[misc]
            continue
        try:
            entries = list_media(item, media_opts, download_dir=downloads)
        except YuyinError as exc:
            if on_start is not None:
                on_start(item)
            log.debug("%s failed", item, exc_info=True)
            finish(FileResult(item, error=exc))
            continue
        for entry in entries:
            label = item if entry.index is None else f"{item} [{entry.index}]"
            if on_start is not None:
                on_start(label)
            run(
                label,
                _Fetch(entry, media_opts, downloads, on_download),
                lambda entry=entry: names.for_download(entry.name),  # type: ignore[misc]
            )
    return results


@dataclass(frozen=True, slots=True)
class _Fetch:
    """A URL entry to download when its turn comes (so a failed download is that entry's)."""

    entry: MediaEntry
    media: MediaOptions
    download_dir: Path
    on_progress: ProgressCallback | None

    def __call__(self) -> str:
        return fetch_media(
            self.entry, self.media, download_dir=self.download_dir, on_progress=self.on_progress
        )


def _one(
    source: AudioSource | _Fetch,
    label: str,
    stem: Callable[[], Path],
    opts: TranscribeOptions,
    eng: Engine,
    out: OutputOptions,
    media: MediaOptions,
    on_segment: SegmentCallback | None,
    on_burn: Callable[[float, float | None], None] | None = None,
) -> tuple[Transcript, dict[str, str]]:
    """Download, decode, separate, recognise and write the outputs of one input."""
    readable = source() if isinstance(source, _Fetch) else source
    samples, info = decode_audio(readable)
    if media.embed_subtitles and isinstance(readable, (str, os.PathLike)):
        check_embeddable(readable, media)  # before minutes of recognition, not after
    if media.burn_in:
        if not isinstance(readable, (str, os.PathLike)):
            raise ConfigurationError(
                "--burn-in needs a file or URL, not standard input",
                hint="save the video to a file and pass its path",
            )
        check_burnable(readable, media, language=opts.language)
    name = label if isinstance(source, _Fetch) else info.path
    stems = _separate(samples, media) if media.separate_vocals else None
    transcript = _recognise(
        stems.vocals if stems is not None else samples, name, opts, eng, on_segment
    )
    target = stem()
    written = write_outputs(transcript, target, out)
    if stems is not None and media.stems is not None:
        written.update(write_stems(stems, media.stems, target.name, media.stems_format))
    if media.embed_subtitles:
        if not isinstance(readable, (str, os.PathLike)):
            raise ConfigurationError(
                "--embed-subtitles needs a file or URL, not standard input",
                hint="save the video to a file and pass its path",
            )
        video = embed_subtitles(
            readable, transcript, f"{target}.subtitled", options=media, layout=out
        )
        written["video"] = str(video)
    if media.burn_in and isinstance(readable, (str, os.PathLike)):
        burned = burn_subtitles(
            readable,
            transcript,
            f"{target}.burned",
            options=media,
            layout=out,
            on_progress=on_burn,
        )
        written["burned"] = str(burned)
    return transcript, written
