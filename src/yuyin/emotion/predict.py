"""Emotion of a whole recording, or of each segment of its transcript (one per subtitle line).

A transcript is yuyin's JSON or SubRip/WebVTT subtitles; each segment or cue gets its own
label and probabilities.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.audio import SAMPLE_RATE, AudioSource, decode_audio
from yuyin.emotion.features import frame_features, single_threaded
from yuyin.emotion.models import EmotionModel
from yuyin.errors import InputError
from yuyin.types import Segment

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["EmotionPrediction", "predict_emotion", "predict_segments", "read_segments"]


@dataclass(frozen=True, slots=True)
class EmotionPrediction:
    """The emotion of a recording or of one stretch of it.

    Attributes:
        label: the most probable class; None when the stretch could not be classified.
        probabilities: class -> probability, in the model's class order, summing to 1
            (empty when `label` is None).
        start: where the stretch starts, in seconds.
        end: where it ends, in seconds.
        text: the transcript of the stretch (per-segment predictions).
        error: why there is no label (a silent or too short stretch).
    """

    label: str | None
    probabilities: dict[str, float]
    start: float = 0.0
    end: float = 0.0
    text: str = ""
    error: str = ""

    @property
    def probability(self) -> float:
        """The probability of `label` (0 when there is none)."""
        return self.probabilities.get(self.label, 0.0) if self.label else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        data: dict[str, Any] = {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "label": self.label,
            "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()},
        }
        if self.text:
            data["text"] = self.text
        if self.error:
            data["error"] = self.error
        return data


def _predict(samples: NDArray[np.float32], model: EmotionModel, name: str) -> EmotionPrediction:
    with single_threaded():
        frames = frame_features(samples, model.features, name=name)
    probs = model.predict_proba([frames])[0]
    best = int(np.argmax(probs))
    return EmotionPrediction(
        model.classes[best],
        {c: float(p) for c, p in zip(model.classes, probs, strict=True)},
        0.0,
        samples.size / SAMPLE_RATE,
    )


def predict_emotion(
    audio: AudioSource | NDArray[np.float32], model: EmotionModel, *, name: str = ""
) -> EmotionPrediction:
    """The emotion of a whole recording.

    Args:
        audio: a media path, a binary file object, or 16 kHz mono float32 samples.
        model: a trained model (`load_model`).
        name: how to call the input in error messages.

    Raises:
        InputError: the audio cannot be decoded, is silent or too short.
    """
    samples = audio if isinstance(audio, np.ndarray) else decode_audio(audio)[0]
    label = name or (str(audio) if isinstance(audio, str | Path) else "audio")
    return _predict(np.asarray(samples, dtype=np.float32), model, label)


def predict_segments(
    audio: AudioSource | NDArray[np.float32], model: EmotionModel, segments: Sequence[Segment]
) -> list[EmotionPrediction]:
    """The emotion of each segment (e.g. each subtitle line of a transcript).

    A segment that is silent or too short gets no label and says why in `error`.

    Raises:
        InputError: the audio cannot be decoded.
    """
    samples = audio if isinstance(audio, np.ndarray) else decode_audio(audio)[0]
    samples = np.asarray(samples, dtype=np.float32)
    out: list[EmotionPrediction] = []
    for seg in segments:
        piece = samples[int(seg.start * SAMPLE_RATE) : int(seg.end * SAMPLE_RATE)]
        try:
            p = _predict(piece, model, f"segment {seg.start:.2f}-{seg.end:.2f} s")
        except InputError as exc:
            out.append(
                EmotionPrediction(None, {}, seg.start, seg.end, seg.text.strip(), exc.message)
            )
            continue
        out.append(
            EmotionPrediction(p.label, p.probabilities, seg.start, seg.end, seg.text.strip())
        )
    return out


def read_segments(path: str | Path) -> list[Segment]:
    """Segments of a transcript: yuyin JSON (`yuyin transcribe -f json`), or the cues of
    SubRip (.srt) or WebVTT (.vtt) subtitles, one segment per subtitle.

    Raises:
        InputError: the file is missing or unreadable, or holds no segments with times.
    """
    p = Path(path).expanduser()
    try:
        content = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(f"no such transcript: {p}", hint="check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the transcript {p} ({exc})", hint=_TRANSCRIPT_HINT) from exc
    if p.suffix.lower() in (".srt", ".vtt"):
        return _read_cues(content, p)
    try:
        data = json.loads(content)
        rows = data["segments"]
        segments = [
            Segment(float(r["start"]), float(r["end"]), str(r.get("text", "")), id=n)
            for n, r in enumerate(rows)
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{p} is not a yuyin JSON transcript ({exc.__class__.__name__}: {exc})",
            hint=_TRANSCRIPT_HINT,
        ) from exc
    return segments


_TRANSCRIPT_HINT = (
    "give a yuyin JSON transcript (`yuyin transcribe FILE -f json`) or .srt/.vtt subtitles"
)
_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
_CUE_TIMES = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")
_TAG = re.compile(r"<[^>]*>")


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str) -> float:
    return (
        int(hours or 0) * 3600
        + int(minutes) * 60
        + int(seconds)
        + int(fraction.ljust(3, "0")) / 1000
    )


def _read_cues(content: str, path: Path) -> list[Segment]:
    """One segment per SubRip or WebVTT cue: its times and its text on one line."""
    segments: list[Segment] = []
    for block in re.split(r"\n\s*\n", content.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip("\n").split("\n")
        # The timing line comes first in WebVTT and after the cue number in SubRip; blocks
        # without one (the WEBVTT header, NOTE, STYLE) are not cues.
        matches = ((i, _CUE_TIMES.match(line)) for i, line in enumerate(lines))
        at, times = next(((i, m) for i, m in matches if m), (0, None))
        if times is None:
            continue
        g = times.groups()
        start, end = _seconds(*g[:4]), _seconds(*g[4:])
        # Voice and style tags (<v Ann>, <i>) and entities are markup, not speech.
        text = html.unescape(_TAG.sub("", " ".join(line.strip() for line in lines[at + 1 :])))
        segments.append(Segment(start, end, " ".join(text.split()), id=len(segments)))
    if not segments:
        raise InputError(
            f"{path} holds no subtitle cues (no `start --> end` lines)", hint=_TRANSCRIPT_HINT
        )
    return segments
