"""Tab-separated values: `start`, `end` in integer milliseconds (openai-whisper's layout)."""

from __future__ import annotations

from yuyin.formats._cues import to_ms
from yuyin.types import Transcript

__all__ = ["to_tsv"]


def to_tsv(transcript: Transcript) -> str:
    """Render a `start\\tend\\ttext` header and one row per non-empty segment."""
    rows = ["start\tend\ttext\n"]
    for segment in transcript.segments:
        # Splitting on any whitespace keeps tabs and newlines from breaking the columns.
        text = " ".join(segment.text.split())
        if text:
            start = to_ms(segment.start)
            rows.append(f"{start}\t{max(start, to_ms(segment.end))}\t{text}\n")
    return "".join(rows)
