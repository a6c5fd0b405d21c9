"""Subtitle cues shared by the SRT and VTT writers: timing, wrapping and karaoke highlighting.

Times are kept as integer milliseconds from the moment a cue is built, so a time is rounded
once and `59.9996` becomes `00:01:00,000` rather than `00:00:59,1000`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from yuyin.errors import ConfigurationError
from yuyin.options import OutputOptions
from yuyin.types import Segment, Transcript, is_cjk

__all__ = ["Cue", "build_cues", "display_width", "format_timestamp", "to_ms"]

_Escape = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: a time span in milliseconds and its (possibly multi-line) text."""

    start_ms: int
    end_ms: int
    text: str


class _Token(NamedTuple):
    start: float
    end: float
    # Either "word" or " word": at most one leading space, as Whisper writes English words.
    text: str
    # False for pieces cut from a segment's text, whose times are only interpolated.
    timed: bool


def to_ms(seconds: float) -> int:
    """Round a time in seconds to whole milliseconds, never below zero."""
    return max(0, round(seconds * 1000))


def format_timestamp(ms: int, decimal_marker: str) -> str:
    """Format milliseconds as `HH:MM:SS<marker>mmm`; hours grow past two digits if needed."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{decimal_marker}{millis:03d}"


def display_width(text: str) -> int:
    """Terminal/subtitle columns a text takes: wide East Asian characters count as 2."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def build_cues(
    transcript: Transcript, options: OutputOptions, escape: _Escape = lambda text: text
) -> list[Cue]:
    """Lay a transcript out as subtitle cues as `options` asks (width, lines, highlighting).

    Args:
        transcript: the result to lay out.
        options: `max_line_width` (columns), `max_line_count` and `highlight_words`.
        escape: applied to each piece of text before any `<u>` markup is added.
    """
    width, count = options.max_line_width, options.max_line_count
    for name, value in (("max_line_width", width), ("max_line_count", count)):
        if value is not None and value < 1:
            raise ConfigurationError(
                f"{name} must be at least 1, got {value}", hint=f"pass a positive {name} or omit it"
            )
    cues: list[Cue] = []
    for segment in transcript.segments:
        highlight = options.highlight_words and bool(segment.words)
        if width is None and not highlight:
            text = "\n".join(line.strip() for line in segment.text.splitlines() if line.strip())
            if text:
                cues.append(_cue(segment.start, segment.end, escape(text)))
            continue
        tokens = _segment_tokens(segment)
        if not tokens:
            continue
        # Cues never cross a segment: Whisper's segments are its sentence-like units.
        groups = [[tokens]] if width is None else _wrap(tokens, width, count)
        for lines in groups:
            if highlight:
                cues.extend(_highlight(lines, escape))
            else:
                cues.append(_cue(lines[0][0].start, lines[-1][-1].end, _render(lines, escape)))
    return cues


def _cue(start: float, end: float, text: str) -> Cue:
    start_ms = to_ms(start)
    return Cue(start_ms, max(start_ms, to_ms(end)), text)


def _normalise(text: str) -> str:
    core = text.strip()
    return (" " + core) if core and text[0].isspace() else core


def _segment_tokens(segment: Segment) -> list[_Token]:
    if segment.words:
        tokens = [_Token(w.start, w.end, _normalise(w.word), True) for w in segment.words]
        return [t for t in tokens if t.text.strip()]
    return _split_text(segment.text, segment.start, segment.end)


def _split_text(text: str, start: float, end: float) -> list[_Token]:
    # Latin runs stay whole words; CJK is cut per character since it has no spaces to cut at.
    pieces: list[str] = []
    space = growing = False
    for char in text:
        if char.isspace():
            space, growing = True, False
        elif growing and not is_cjk(char):
            pieces[-1] += char
        else:
            pieces.append((" " if space and pieces else "") + char)
            space, growing = False, not is_cjk(char)
    # Without word timings, spread the segment's time over pieces by their width.
    weights = [display_width(p.strip()) for p in pieces]
    total, done, tokens = sum(weights), 0, []
    for piece, weight in zip(pieces, weights, strict=True):
        t0 = start + (end - start) * done / total
        done += weight
        tokens.append(_Token(t0, start + (end - start) * done / total, piece, False))
    return tokens


def _wrap(tokens: list[_Token], width: int, count: int | None) -> list[list[list[_Token]]]:
    """Greedy fill: lines up to `width` columns, cues of up to `count` lines."""
    groups: list[list[list[_Token]]] = []
    lines: list[list[_Token]] = []
    line: list[_Token] = []
    used = 0
    for token in tokens:
        if line and used + display_width(token.text) <= width:
            line.append(token)
            used += display_width(token.text)
            continue
        # A word too wide for any line still gets a line of its own: words are never cut.
        if line:
            lines.append(line)
            if count is not None and len(lines) >= count:
                groups.append(lines)
                lines = []
        line, used = [token], display_width(token.text.lstrip())
    lines.append(line)
    groups.append(lines)
    return groups


def _render(lines: list[list[_Token]], escape: _Escape, highlighted: int = -1) -> str:
    out: list[str] = []
    index = 0
    for line in lines:
        parts: list[str] = []
        for position, token in enumerate(line):
            text = token.text.lstrip() if position == 0 else token.text
            core = text.lstrip()
            body = escape(core)
            if index == highlighted:
                body = f"<u>{body}</u>"
            parts.append(text[: len(text) - len(core)] + body)
            index += 1
        out.append("".join(parts))
    return "\n".join(out)


def _highlight(lines: list[list[_Token]], escape: _Escape) -> list[Cue]:
    # openai-whisper's karaoke layout: one cue per word, plain cues filling the gaps between.
    plain = _render(lines, escape)
    tokens = [token for line in lines for token in line]
    cues: list[Cue] = []
    last = to_ms(tokens[0].start)
    for index, token in enumerate(tokens):
        start = max(last, to_ms(token.start))
        end = max(start, to_ms(token.end))
        if start > last:
            cues.append(Cue(last, start, plain))
        cues.append(Cue(start, end, _render(lines, escape, index)))
        last = end
    return cues
