"""Plain result types shared by every layer: words, segments, transcripts, audio facts.

All times are float seconds from the start of the input. The types are frozen so a
transcript can be passed between threads, cached and compared without defensive copies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["AudioInfo", "Segment", "Transcript", "Word"]


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised token (an English word or a CJK character/word) with its timing."""

    start: float
    end: float
    word: str
    probability: float = 1.0


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech Whisper decoded as one unit, with optional word timings."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    id: int = 0
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    temperature: float = 0.0
    # Empty until diarization exists; kept so JSON consumers can rely on the key.
    speaker: str = ""


@dataclass(frozen=True, slots=True)
class Transcript:
    """The full result for one input: segments plus what was detected about it."""

    segments: tuple[Segment, ...]
    language: str
    duration: float
    language_probability: float = 1.0
    source: str = ""
    model: str = ""

    @property
    def text(self) -> str:
        """The transcript as one string (segment texts joined by the language's separator)."""
        return join_segment_texts([s.text for s in self.segments])

    @property
    def words(self) -> tuple[Word, ...]:
        """Every word of every segment, in order."""
        return tuple(w for s in self.segments for w in s.words)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the schema of the `json` output format)."""
        return {
            "text": self.text,
            "language": self.language,
            "language_probability": round(self.language_probability, 4),
            "duration": round(self.duration, 3),
            "source": self.source,
            "model": self.model,
            "segments": [_segment_dict(s) for s in self.segments],
        }


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What a media file holds, read from its container before and while decoding."""

    path: str
    container: str
    codec: str
    sample_rate: int
    channels: int
    duration: float
    has_video: bool = False


def _segment_dict(segment: Segment) -> dict[str, Any]:
    data = asdict(segment)
    data["text"] = segment.text.strip()
    data["words"] = [
        {
            "start": round(w.start, 3),
            "end": round(w.end, 3),
            "word": w.word,
            "probability": round(w.probability, 4),
        }
        for w in segment.words
    ]
    for key in ("start", "end"):
        data[key] = round(data[key], 3)
    for key in ("avg_logprob", "no_speech_prob", "compression_ratio"):
        data[key] = round(data[key], 4)
    return data


def is_cjk(char: str) -> bool:
    """Whether a character belongs to a script written without spaces (Han, kana, Hangul)."""
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # kana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified
        or 0xAC00 <= code <= 0xD7AF  # Hangul
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0x3000 <= code <= 0x303F  # CJK punctuation
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x20000 <= code <= 0x2FA1F
    )


def join_segment_texts(texts: list[str]) -> str:
    """Join texts with a space, except between two CJK characters where no space belongs."""
    out = ""
    for piece in (t.strip() for t in texts):
        if not piece:
            continue
        if out and not (is_cjk(out[-1]) and is_cjk(piece[0])):
            out += " "
        out += piece
    return out
