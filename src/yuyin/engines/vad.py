"""Silero voice-activity detection through faster-whisper's bundled ONNX model."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from faster_whisper.vad import VadOptions as _FwVadOptions
from faster_whisper.vad import get_speech_timestamps

from yuyin.options import VadOptions

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["detect_speech", "plan_pieces", "speech_pieces", "to_faster_whisper"]

_SAMPLE_RATE = 16000

log = logging.getLogger(__name__)


def to_faster_whisper(options: VadOptions) -> _FwVadOptions:
    """The same settings as faster-whisper's own VadOptions."""
    return _FwVadOptions(
        threshold=options.threshold,
        min_speech_duration_ms=options.min_speech_duration_ms,
        max_speech_duration_s=options.max_speech_duration_s,
        min_silence_duration_ms=options.min_silence_duration_ms,
        speech_pad_ms=options.speech_pad_ms,
    )


def detect_speech(
    audio: NDArray[np.float32], options: VadOptions | None = None
) -> list[tuple[float, float]]:
    """Return the (start, end) times in seconds of the speech in 16 kHz mono audio."""
    stamps = get_speech_timestamps(audio, to_faster_whisper(options or VadOptions()))
    return [(s["start"] / _SAMPLE_RATE, s["end"] / _SAMPLE_RATE) for s in stamps]


def plan_pieces(
    total: int, speech: Sequence[tuple[float, float]], max_samples: int
) -> list[tuple[int, int]]:
    """Cut `total` samples into pieces of at most `max_samples`, in silences where possible.

    Each cut goes in the middle of the latest pause between two speech stretches that keeps
    the piece short enough; without one, at the edge of a speech stretch; only speech
    longer than a piece is cut through.

    Args:
        total: number of 16 kHz samples.
        speech: (start, end) seconds of speech, in order (`detect_speech`).
        max_samples: the longest piece.
    """
    spans = [(round(a * _SAMPLE_RATE), round(b * _SAMPLE_RATE)) for a, b in speech]
    middles = [(e + s) // 2 for (_, e), (s, _) in itertools.pairwise(spans) if s > e]
    pieces: list[tuple[int, int]] = []
    start = 0
    while total - start > max_samples:
        limit = start + max_samples
        floor = start + max_samples // 4  # never a sliver of a piece
        inside = [c for c in middles if floor < c <= limit]
        holding = [(a, b) for a, b in spans if a < limit < b]
        if inside:
            cut = max(inside)
        elif not holding:
            cut = limit  # the window ends in silence
        elif holding[0][0] > floor:
            cut = holding[0][0]  # just before the speech the window would cut
        else:
            log.warning("speech longer than %.0f s is cut mid-speech", max_samples / _SAMPLE_RATE)
            cut = limit
        pieces.append((start, cut))
        start = cut
    if total > start:
        pieces.append((start, total))
    return pieces


def speech_pieces(
    samples: NDArray[np.float32], options: VadOptions | None = None, *, vad_filter: bool = True
) -> list[tuple[float, NDArray[np.float32]]]:
    """(start second, samples) of each speech stretch, or of the whole input without VAD."""
    if vad_filter:
        spans = detect_speech(samples, options)
    else:
        spans = [(0.0, samples.size / _SAMPLE_RATE)] if samples.size else []
    pieces = [
        (start, samples[int(start * _SAMPLE_RATE) : int(end * _SAMPLE_RATE)])
        for start, end in spans
    ]
    return [(start, piece) for start, piece in pieces if piece.size]
