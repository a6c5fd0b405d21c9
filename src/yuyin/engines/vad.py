"""Silero voice-activity detection through faster-whisper's bundled ONNX model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from faster_whisper.vad import VadOptions as _FwVadOptions
from faster_whisper.vad import get_speech_timestamps

from yuyin.options import VadOptions

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["detect_speech", "to_faster_whisper"]

_SAMPLE_RATE = 16000


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
