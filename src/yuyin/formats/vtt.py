"""WebVTT (`.vtt`): a `WEBVTT` header, then cues with `HH:MM:SS.mmm` times."""

from __future__ import annotations

from yuyin.formats._cues import build_cues, format_timestamp
from yuyin.options import OutputOptions
from yuyin.types import Transcript

__all__ = ["to_vtt"]


def to_vtt(transcript: Transcript, options: OutputOptions | None = None) -> str:
    """Render WebVTT subtitles laid out by `options` (one cue per segment by default)."""
    cues = build_cues(transcript, options or OutputOptions(), escape=_escape)
    return "WEBVTT\n\n" + "".join(
        f"{format_timestamp(cue.start_ms, '.')} --> {format_timestamp(cue.end_ms, '.')}\n"
        f"{cue.text}\n\n"
        for cue in cues
    )


def _escape(text: str) -> str:
    # WebVTT parses cue text as markup, so a literal "<", "&" or "-->" would corrupt the cue.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
