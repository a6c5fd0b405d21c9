"""Transcripts for per-segment emotion: yuyin JSON, SubRip and WebVTT cues (issue 12)."""

from __future__ import annotations

import json

import pytest

from yuyin.emotion import read_segments
from yuyin.errors import InputError
from yuyin.formats import render
from yuyin.types import Segment, Transcript

TRANSCRIPT = Transcript(
    (
        Segment(0.0, 2.26, " I like to read a good book in the morning."),
        Segment(2.8, 5.12, " It makes me happy & ready for the day."),
        Segment(3725.5, 3727.04, " An hour later."),
    ),
    language="en",
    duration=3728.0,
)


@pytest.mark.parametrize("fmt", ["json", "srt", "vtt"])
def test_every_subtitle_line_of_our_own_writers_is_a_segment(tmp_path, fmt):
    path = tmp_path / f"t.{fmt}"
    path.write_text(render(TRANSCRIPT, fmt), encoding="utf-8")
    found = read_segments(path)
    assert [(s.start, s.end) for s in found] == [(s.start, s.end) for s in TRANSCRIPT.segments]
    assert [s.text.strip() for s in found] == [s.text.strip() for s in TRANSCRIPT.segments]


def test_webvtt_markup_headers_and_short_times(tmp_path):
    path = tmp_path / "talk.vtt"
    path.write_text(
        "\ufeffWEBVTT - a talk\r\n\r\nNOTE written by hand\r\n\r\n"
        "intro\r\n00:01.500 --> 00:03.250 align:start\r\n<v Ann>Hello <i>there</i></v>\r\n"
        "second line &amp; more\r\n\r\n"
        "01:00:00.000 --> 01:00:01.000\r\nLater\r\n",
        encoding="utf-8",
    )
    found = read_segments(path)
    assert [(s.start, s.end, s.text) for s in found] == [
        (1.5, 3.25, "Hello there second line & more"),
        (3600.0, 3601.0, "Later"),
    ]


def test_transcripts_we_cannot_use(tmp_path):
    with pytest.raises(InputError, match="no such transcript"):
        read_segments(tmp_path / "none.srt")
    empty = tmp_path / "empty.srt"
    empty.write_text("1\nno times here\n")
    with pytest.raises(InputError, match="no subtitle cues") as info:
        read_segments(empty)
    assert ".srt/.vtt" in info.value.hint
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"text": "no segments"}))
    with pytest.raises(InputError, match="not a yuyin JSON transcript"):
        read_segments(other)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="cannot read the transcript"):
        read_segments(binary)
