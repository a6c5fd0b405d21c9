"""Plain text: one line per segment, the way Whisper's `.txt` output reads."""

from __future__ import annotations

from yuyin.types import Transcript

__all__ = ["to_txt"]


def to_txt(transcript: Transcript) -> str:
    """Render one stripped line per non-empty segment, ending with a newline."""
    lines = [" ".join(s.text.split()) for s in transcript.segments]
    return "".join(f"{line}\n" for line in lines if line)
