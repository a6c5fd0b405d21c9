"""SubRip (`.srt`): numbered cues with `HH:MM:SS,mmm` times."""

from __future__ import annotations

from yuyin.formats._cues import build_cues, format_timestamp
from yuyin.options import OutputOptions
from yuyin.types import Transcript

__all__ = ["to_srt"]


def to_srt(transcript: Transcript, options: OutputOptions | None = None) -> str:
    """Render SubRip subtitles laid out by `options` (one cue per segment by default)."""
    cues = build_cues(transcript, options or OutputOptions())
    return "".join(
        f"{number}\n{format_timestamp(cue.start_ms, ',')} --> "
        f"{format_timestamp(cue.end_ms, ',')}\n{cue.text}\n\n"
        for number, cue in enumerate(cues, start=1)
    )
