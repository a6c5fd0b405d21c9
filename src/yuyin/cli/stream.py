"""`yuyin stream`: live transcription of a file (replayed as if live) or the microphone."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import numpy as np
from numpy.typing import NDArray

from yuyin.audio import SAMPLE_RATE, iter_audio, probe_audio
from yuyin.cli._common import EXIT_CODES_HELP
from yuyin.engines import load_engine
from yuyin.errors import InputError
from yuyin.options import DEFAULT_TEMPERATURES, ModelOptions
from yuyin.stream import (
    EndpointOptions,
    EngineASR,
    MeasuredProcessor,
    StreamEvent,
    StreamOptions,
    UtteranceWriter,
    VacOptions,
    commit_latency,
    error_rates,
    microphone_chunks,
    processor_factory,
    replay,
)
from yuyin.stream.options import BUFFER_TRIMMING_MODES
from yuyin.types import join_segment_texts

__all__ = ["build_stream", "stream_command", "stream_options"]

_S = StreamOptions()
_E = EndpointOptions()
_M = ModelOptions()
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: whisper_streaming's default --vac-chunk-size.
DEFAULT_VAC_CHUNK_SIZE = 0.04


def stream_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The flags `yuyin stream` and `yuyin stream-server` share (whisper_streaming's names)."""
    options = [
        click.option("-m", "--model", default=_M.model, show_default=True,
                     help="Model for decoding (tiny.en is the fastest; base for Chinese)."),
        click.option("--engine", type=click.Choice(["faster-whisper", "transformers"]),
                     default=_M.engine, show_default=True,
                     help="Local recogniser to stream with (`yuyin engines`)."),
        click.option("--model-dir", default=None,
                     help="A local CTranslate2 model folder; overrides --model."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=_M.device,
                     show_default=True, help="auto uses CUDA when a GPU is usable."),
        click.option("-l", "--language", default=None,
                     help="en, zh, zh-TW (Traditional), zh-CN (Simplified)... Default: detected "
                     "once on the first speech, then kept."),
        click.option("--zh-script", type=click.Choice(["traditional", "simplified"]),
                     default=None, help="Force the script of Chinese output."),
        click.option("--task", type=click.Choice(["transcribe", "translate"]), default=_S.task,
                     show_default=True, help="translate writes English."),
        click.option("--min-chunk-size", type=float, default=_S.min_chunk_size,
                     show_default=True, help="Seconds of new audio per decoding step."),
        click.option("--buffer-trimming", type=click.Choice(BUFFER_TRIMMING_MODES),
                     default=_S.buffer_trimming, show_default=True,
                     help="Cut the audio buffer after complete segments or sentences."),
        click.option("--buffer-trimming-sec", type=float, default=_S.buffer_trimming_sec,
                     show_default=True, help="Buffer length from which it is trimmed."),
        click.option("--beam-size", type=int, default=_S.beam_size, show_default=True,
                     help="Beams per step (1 = greedy, fastest)."),
        click.option("--vad/--no-vad", default=_S.vad, show_default=True,
                     help="Skip non-speech inside each decoding step (faster-whisper's VAD)."),
        click.option("--vac/--no-vac", default=False, show_default=True,
                     help="Voice-activity controller: decode only during speech and "
                     "finalise each utterance at a pause (Silero)."),
        click.option("--vac-chunk-size", type=float, default=DEFAULT_VAC_CHUNK_SIZE,
                     show_default=True, help="Seconds of audio per voice-activity check."),
        click.option("--final-model", default=None,
                     help="Two-pass: re-decode each utterance with this (more accurate) model; "
                     "implies --vac."),
        click.option("--log-level", type=click.Choice(_LOG_LEVELS, case_sensitive=False),
                     default=None, help="Log level of the yuyin and faster-whisper loggers."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _set_log_level(level: str | None) -> None:
    if level:
        logging.getLogger().setLevel(level.upper())
        logging.getLogger("faster_whisper").setLevel(level.upper())


def build_stream(
    params: dict[str, Any], *, adaptive: bool, offset: float = 0.0
) -> tuple[Callable[[Any], MeasuredProcessor], EngineASR, StreamOptions]:
    """Load the model(s) and return the processor factory, the recogniser and the options.

    Args:
        params: the values of the `stream_options` flags (consumed).
        adaptive: let the stream degrade when it falls behind real time.
        offset: stream time of the first sample, seconds.
    """
    _set_log_level(params.pop("log_level"))
    options = StreamOptions(
        language=params.pop("language"),
        zh_script=params.pop("zh_script"),
        task=params.pop("task"),
        min_chunk_size=params.pop("min_chunk_size"),
        buffer_trimming=params.pop("buffer_trimming"),
        buffer_trimming_sec=params.pop("buffer_trimming_sec"),
        beam_size=params.pop("beam_size"),
        vad=params.pop("vad"),
        adaptive=adaptive,
    )
    device = params.pop("device")
    engine = params.pop("engine")
    model = params.pop("model_dir") or params.pop("model")
    params.pop("model", None)
    final_model = params.pop("final_model")
    use_vac = params.pop("vac") or final_model is not None
    asr = EngineASR(load_engine(ModelOptions(model=model, engine=engine, device=device)), options)
    accurate = None
    if final_model is not None:
        # Once per utterance: the full 30 s window and Whisper's temperature fallback.
        accurate = EngineASR(
            load_engine(ModelOptions(model=final_model, engine=engine, device=device)),
            options,
            encoder_margin_sec=None,
            temperature=DEFAULT_TEMPERATURES,
        )
    factory = processor_factory(
        asr, options, vac=VacOptions() if use_vac else None, accurate=accurate, offset=offset
    )
    return factory, asr, options


def _line(event: StreamEvent) -> str:
    return (
        f"{event.emission_time * 1000:.0f} {event.start * 1000:.0f} {event.end * 1000:.0f} "
        f"{event.text}"
    )


@click.command(
    "stream",
    epilog=EXIT_CODES_HELP,
    short_help="Live transcription of a file (simulated) or the microphone.",
)
@click.argument("file", required=False)
@click.option(
    "--mic",
    is_flag=True,
    help="Transcribe the default microphone until Ctrl-C (sounddevice + PortAudio).",
)
@stream_options
@click.option(
    "--comp-unaware",
    "mode",
    flag_value="comp-unaware",
    help="Replay --min-chunk-size of audio per step however long decoding takes "
    "(deterministic; emission time = audio time).",
)
@click.option(
    "--offline",
    "mode",
    flag_value="offline",
    help="Decode the whole file at once (the reference for --report).",
)
@click.option(
    "--realtime",
    "mode",
    flag_value="realtime",
    default=True,
    help="Release audio at wall-clock speed (the default).",
)
@click.option(
    "--start-at",
    type=float,
    default=0.0,
    show_default=True,
    help="Start streaming this many seconds into the file.",
)
@click.option(
    "--report",
    is_flag=True,
    help="Print commit latency, compute time and (with --reference) WER/CER to stderr at the end.",
)
@click.option(
    "--reference",
    default=None,
    help="The correct transcript (text, or a path to a text file) for --report.",
)
@click.option(
    "--save-utterances",
    type=click.Path(file_okay=False),
    default=None,
    help="Write each utterance as NNNN.wav plus utterances.tsv into this folder.",
)
@click.option(
    "--endpoint-vad-end/--no-endpoint-vad-end",
    default=_E.vad_end,
    show_default=True,
    help="Cut utterances where --vac ends speech.",
)
@click.option(
    "--endpoint-max-utterance-sec",
    type=float,
    default=_E.max_utterance_sec,
    show_default=True,
    help="Longest utterance file (0: no limit).",
)
@click.option(
    "--endpoint-stall-sec",
    type=float,
    default=_E.stall_sec,
    show_default=True,
    help="Cut after this long without new text (0: never).",
)
@click.option(
    "--endpoint-sentence-end/--no-endpoint-sentence-end",
    default=_E.sentence_end,
    show_default=True,
    help="Cut after a word that ends a sentence.",
)
def stream_command(
    file: str | None,
    mic: bool,
    mode: str,
    start_at: float,
    report: bool,
    reference: str | None,
    save_utterances: str | None,
    **params: Any,
) -> None:
    """Transcribe FILE as if it were live, printing `emission_ms beg_ms end_ms text` lines.

    Each line is a stretch of words LocalAgreement-2 committed (final; never revised). With
    --final-model the lines are the second pass's finals, one per utterance.

    \b
    Examples:
      yuyin stream talk.wav -m tiny.en                  # real time, like a live source
      yuyin stream talk.wav -m tiny.en --comp-unaware --report --reference talk.txt
      yuyin stream meeting.wav -l zh-TW --vac --save-utterances cuts/
      yuyin stream --mic -m tiny.en --vac
    """
    if mic == (file is not None):
        raise click.UsageError("give a FILE to stream, or --mic (not both)")
    endpoints = EndpointOptions(
        vad_end=params.pop("endpoint_vad_end"),
        max_utterance_sec=params.pop("endpoint_max_utterance_sec"),
        stall_sec=params.pop("endpoint_stall_sec"),
        sentence_end=params.pop("endpoint_sentence_end"),
    )
    vac_chunk = params.pop("vac_chunk_size")
    uses_vac = params["vac"] or params["final_model"] is not None
    two_pass = params["final_model"] is not None
    if file is not None:
        probe_audio(file)  # a missing or non-audio file fails before any model loads
    if reference is not None:
        reference = _read_reference(reference)
    if mic:
        mode = "live"
    factory, _asr, options = build_stream(
        params, adaptive=mode in ("realtime", "live"), offset=start_at if file else 0.0
    )
    chunk_sec = vac_chunk if uses_vac else options.min_chunk_size
    writer = (
        UtteranceWriter(save_utterances, endpoints, start=start_at if file else 0.0)
        if (save_utterances)
        else None
    )
    source: Iterator[NDArray[np.float32]] = (
        microphone_chunks() if mic else iter_audio(file or "", chunk_seconds=min(chunk_sec, 0.5))
    )
    streamed = [0]

    def tee(chunks: Iterator[NDArray[np.float32]]) -> Iterator[NDArray[np.float32]]:
        skip = round(start_at * SAMPLE_RATE) if file else 0
        for chunk in chunks:
            kept = chunk[skip:]
            skip = max(0, skip - chunk.size)
            streamed[0] += kept.size
            if writer is not None and kept.size:
                writer.add_audio(kept)
            yield chunk

    made: list[MeasuredProcessor] = []

    def make(clock: Any) -> MeasuredProcessor:
        made.append(factory(clock))
        return made[-1]

    printed = "final" if two_pass else "committed"
    kept: list[StreamEvent] = []

    def emit(events: list[StreamEvent]) -> None:
        for event in events:
            if event.type == printed and event.text:
                click.echo(_line(event))
                sys.stdout.flush()
                if report:
                    kept.append(event)
            elif event.type == "status":
                state = event.degradation
                click.echo(
                    f"stream: compute/audio {state.compute_ratio:.2f}, latency level "
                    f"{state.level} ({', '.join(state.actions) or 'normal'})",
                    err=True,
                )
        if writer is not None:
            writer.add_events(events)

    try:
        for event in replay(
            tee(source), make, mode=mode, chunk_sec=chunk_sec, start_at=start_at if file else 0.0
        ):
            emit([event])
    except KeyboardInterrupt:
        if not mic or not made:
            raise
        emit(made[0].finish())  # Ctrl-C ends a microphone stream: flush its tail
    finally:
        if writer is not None:
            writer.close()
    if report:
        _print_report(
            kept,
            made[0].compute_sec if made else 0.0,
            streamed[0] / SAMPLE_RATE,
            reference,
            printed,
        )


def _read_reference(value: str) -> str:
    """`--reference` is the text itself, or the path of a UTF-8 file holding it."""
    try:
        is_file = Path(value).is_file()
    except (OSError, ValueError):  # far too long for a path: it is the text
        is_file = False
    if not is_file:
        return value
    try:
        return Path(value).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the reference {value}: {exc}", hint="pass a UTF-8 text file"
        ) from exc


def _print_report(
    events: list[StreamEvent],
    compute_sec: float,
    audio_sec: float,
    reference: str | None,
    kind: str,
) -> None:
    latency = commit_latency(events, kind)
    click.echo(
        f"report: {latency.words} words {kind}; latency median {latency.median:.2f} s, "
        f"p90 {latency.p90:.2f} s, max {latency.max:.2f} s",
        err=True,
    )
    ratio = compute_sec / audio_sec if audio_sec else 0.0
    click.echo(
        f"report: decoding took {compute_sec:.1f} s for {audio_sec:.1f} s of audio "
        f"(compute/audio {ratio:.2f})",
        err=True,
    )
    if reference is not None:
        rates = error_rates(join_segment_texts([e.text for e in events]), reference)
        click.echo(
            f"report: WER {rates.wer:.3f}, CER {rates.cer:.3f} against the reference", err=True
        )
