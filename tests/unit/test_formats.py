"""Output writers: golden files for exact syntax, plus invariants over many layouts.

Regenerate the golden files after an intended change with
`YUYIN_UPDATE_GOLDEN=1 pytest tests/unit/test_formats.py`, then read the diff line by line.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from yuyin.errors import ConfigurationError
from yuyin.formats import FORMATS, render, to_json, to_srt, to_tsv, to_txt, to_vtt
from yuyin.formats._cues import display_width
from yuyin.options import OUTPUT_FORMATS, OutputOptions
from yuyin.types import Segment, Transcript, Word, is_cjk

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
TIMESTAMP = r"(\d{2,}):(\d{2}):(\d{2})[,.](\d{3})"
CUE_TIMES = re.compile(rf"^{TIMESTAMP} --> {TIMESTAMP}$")


def _words(*spec: tuple[float, float, str]) -> tuple[Word, ...]:
    return tuple(Word(start, end, text) for start, end, text in spec)


EN = Transcript(
    segments=(
        Segment(
            0.0,
            3.2,
            " Hello world, this is a test of the subtitle writer.",
            words=_words(
                (0.0, 0.4, " Hello"),
                (0.5, 0.9, " world,"),
                (1.0, 1.2, " this"),
                (1.2, 1.3, " is"),
                (1.3, 1.4, " a"),
                (1.4, 1.8, " test"),
                (1.8, 1.9, " of"),
                (1.9, 2.0, " the"),
                (2.0, 2.5, " subtitle"),
                (2.5, 3.2, " writer."),
            ),
        ),
        Segment(
            3.5, 5.0, " It works.", words=_words((3.5, 3.8, " It"), (3.9, 4.8, " works.")), id=1
        ),
        Segment(5.0, 5.5, "  ", id=2),
    ),
    language="en",
    duration=6.0,
    source="en.wav",
    model="tiny",
)

ZH = Transcript(
    segments=(
        Segment(
            0.0,
            2.0,
            "今天天氣很好。",
            words=_words(
                (0.0, 0.3, "今"),
                (0.3, 0.6, "天"),
                (0.6, 0.9, "天"),
                (0.9, 1.2, "氣"),
                (1.2, 1.5, "很"),
                (1.5, 1.8, "好"),
                (1.8, 2.0, "。"),
            ),
        ),
        Segment(
            2.5,
            5.0,
            "我用 Python 寫程式",
            words=_words(
                (2.5, 2.8, "我"),
                (2.8, 3.1, "用"),
                (3.1, 3.9, " Python"),
                (3.9, 4.2, " 寫"),
                (4.2, 4.6, "程"),
                (4.6, 5.0, "式"),
            ),
            id=1,
        ),
        # No word timings: wrapping must cut it per character and interpolate the times.
        Segment(5.2, 6.0, "謝謝大家", id=2),
    ),
    language="zh",
    duration=6.0,
    language_probability=0.98,
    source="zh.wav",
    model="tiny",
)

# Multi-character CJK words, as some models emit them: a wrap must never cut inside one.
ZH_WORDS = Transcript(
    segments=(
        Segment(
            0.0,
            3.0,
            "今天天氣很好我們去公園散步",
            words=_words(
                (0.0, 0.5, "今天"),
                (0.5, 1.0, "天氣"),
                (1.0, 1.5, "很好"),
                (1.5, 2.0, "我們"),
                (2.0, 2.2, "去"),
                (2.2, 2.6, "公園"),
                (2.6, 3.0, "散步"),
            ),
        ),
    ),
    language="zh",
    duration=3.0,
)

LONG = Transcript(
    segments=(
        Segment(3725.5, 3730.25, " Past one hour."),
        Segment(360_000.0, 360_001.5, " A hundred hours in.", id=1),
    ),
    language="en",
    duration=360_002.0,
)

EMPTY = Transcript(segments=(), language="en", duration=0.0)

WORDED = {"en": EN, "zh": replace(ZH, segments=ZH.segments[:2]), "zh_words": ZH_WORDS}

GOLDEN_CASES = [
    ("en.txt", EN, "txt", OutputOptions()),
    ("en.srt", EN, "srt", OutputOptions()),
    ("en.vtt", EN, "vtt", OutputOptions()),
    ("en.tsv", EN, "tsv", OutputOptions()),
    ("en.json", EN, "json", OutputOptions()),
    ("en_wrapped.srt", EN, "srt", OutputOptions(max_line_width=20, max_line_count=2)),
    ("zh.txt", ZH, "txt", OutputOptions()),
    ("zh.srt", ZH, "srt", OutputOptions()),
    ("zh.json", ZH, "json", OutputOptions()),
    ("mixed_wrapped.srt", ZH, "srt", OutputOptions(max_line_width=8)),
    ("mixed_wrapped.vtt", ZH, "vtt", OutputOptions(max_line_width=8, max_line_count=1)),
    ("highlight.vtt", EN, "vtt", OutputOptions(highlight_words=True)),
    ("highlight_wrapped.srt", ZH, "srt", OutputOptions(max_line_width=10, highlight_words=True)),
    ("long.srt", LONG, "srt", OutputOptions()),
    ("long.vtt", LONG, "vtt", OutputOptions()),
]


@pytest.mark.parametrize(
    ("name", "transcript", "fmt", "options"), GOLDEN_CASES, ids=[c[0] for c in GOLDEN_CASES]
)
def test_golden(name: str, transcript: Transcript, fmt: str, options: OutputOptions) -> None:
    path = GOLDEN / name
    rendered = render(transcript, fmt, options)
    if os.environ.get("YUYIN_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8", newline="")
    assert rendered == path.read_text(encoding="utf-8")


def test_formats_match_the_cli_choices() -> None:
    assert FORMATS == OUTPUT_FORMATS == ("txt", "srt", "vtt", "tsv", "json")


def test_unknown_format_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="docx") as info:
        render(EN, "docx", OutputOptions())
    assert all(fmt in info.value.hint for fmt in FORMATS)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (OutputOptions(max_line_width=0), "max_line_width"),
        (OutputOptions(max_line_width=10, max_line_count=0), "max_line_count"),
    ],
)
def test_non_positive_layout_is_a_configuration_error(options: OutputOptions, field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        to_srt(EN, options)


def test_empty_transcript() -> None:
    assert to_txt(EMPTY) == ""
    assert to_srt(EMPTY) == ""
    assert to_vtt(EMPTY) == "WEBVTT\n\n"
    assert to_tsv(EMPTY) == "start\tend\ttext\n"
    assert json.loads(to_json(EMPTY))["segments"] == []


def test_rounding_carries_into_the_next_unit() -> None:
    transcript = Transcript((Segment(59.9996, 3599.9995, "x"),), "en", 3600.0)
    assert "00:01:00,000 --> 01:00:00,000" in to_srt(transcript)
    assert "00:01:00.000 --> 01:00:00.000" in to_vtt(transcript)
    assert to_tsv(transcript).splitlines()[1] == "60000\t3600000\tx"


def test_vtt_escapes_markup_characters() -> None:
    transcript = Transcript((Segment(0.0, 1.0, " a < b & c --> d"),), "en", 1.0)
    assert to_vtt(transcript).splitlines()[3] == "a &lt; b &amp; c --&gt; d"


def test_tsv_keeps_one_row_per_segment() -> None:
    transcript = Transcript((Segment(0.25, 1.0, " tab\there\nnew line "),), "en", 1.0)
    lines = to_tsv(transcript).splitlines()
    assert lines == ["start\tend\ttext", "250\t1000\ttab here new line"]


def test_json_keeps_chinese_readable() -> None:
    text = to_json(ZH)
    assert "今天天氣很好。" in text
    assert "\\u" not in text
    assert json.loads(text) == ZH.to_dict()


def test_highlight_without_words_is_plain() -> None:
    assert to_srt(LONG, OutputOptions(highlight_words=True)) == to_srt(LONG)


def test_unwrapped_cue_is_the_segment_text() -> None:
    cue = to_srt(ZH).split("\n\n")[1].splitlines()
    assert cue == ["2", "00:00:02,500 --> 00:00:05,000", "我用 Python 寫程式"]


def test_text_without_words_is_cut_per_character_and_timed_proportionally() -> None:
    cues = _parse(to_srt(ZH, OutputOptions(max_line_width=4, max_line_count=1)))
    assert [(c[1], c[2], c[3]) for c in cues[-2:]] == [
        (5200, 5600, ["謝謝"]),
        (5600, 6000, ["大家"]),
    ]


# Invariants, checked over every transcript and many layouts.

LAYOUTS = [
    pytest.param(
        OutputOptions(max_line_width=width, max_line_count=count, highlight_words=highlight),
        id=f"w{width}-n{count}{'-hl' if highlight else ''}",
    )
    for width in (None, 1, 3, 5, 8, 12, 20, 42)
    for count in (None, 1, 2, 3)
    for highlight in (False, True)
]


def _parse(srt: str) -> list[tuple[int, int, int, list[str]]]:
    """Parse SRT into (number, start_ms, end_ms, lines), asserting the syntax on the way."""
    assert srt == "" or srt.endswith("\n\n")
    cues = []
    for block in srt[:-2].split("\n\n") if srt else []:
        number, times, *lines = block.split("\n")
        match = CUE_TIMES.match(times)
        assert match, times
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups())
        assert lines
        assert all(line.strip() for line in lines)
        start = ((h1 * 60 + m1) * 60 + s1) * 1000 + ms1
        end = ((h2 * 60 + m2) * 60 + s2) * 1000 + ms2
        cues.append((int(number), start, end, lines))
    return cues


def _plain(line: str) -> str:
    return line.replace("<u>", "").replace("</u>", "")


@pytest.mark.parametrize("options", LAYOUTS)
@pytest.mark.parametrize(
    "transcript", [EN, ZH, ZH_WORDS, LONG, EMPTY], ids=["en", "zh", "zh_words", "long", "empty"]
)
def test_srt_invariants(transcript: Transcript, options: OutputOptions) -> None:
    cues = _parse(to_srt(transcript, options))
    assert [c[0] for c in cues] == list(range(1, len(cues) + 1))
    starts = [c[1] for c in cues]
    assert starts == sorted(starts)
    assert all(start <= end for _, start, end, _ in cues)
    width = options.max_line_width
    for *_, lines in cues:
        for line in map(_plain, lines):
            assert line == line.strip()
            assert width is None or display_width(line) <= width or _one_word(transcript, line)


def _one_word(transcript: Transcript, line: str) -> bool:
    """Whether a line is a single word: a timed word, or an untimed Latin word or CJK char."""
    if line in {w.word.strip() for w in transcript.words}:
        return True
    return " " not in line and (len(line) == 1 or not any(map(is_cjk, line)))


@pytest.mark.parametrize("options", LAYOUTS)
@pytest.mark.parametrize("name", sorted(WORDED))
def test_wrapped_lines_rejoin_into_the_words(name: str, options: OutputOptions) -> None:
    transcript = WORDED[name]
    words = [w.word for w in transcript.words]
    cues = [c[3] for c in _parse(to_srt(transcript, options))]
    if options.highlight_words:
        # Each word cue underlines exactly one whole word; in order, they are every word.
        underlined = [re.findall(r"<u>(.*?)</u>", "\n".join(c)) for c in cues]
        assert [u for u in underlined if u] == [[w.strip()] for w in words]
        return
    # Each line is whole consecutive words, its first one without its leading space.
    position = 0
    for line in (line for lines in cues for line in lines):
        rebuilt = words[position].lstrip()
        position += 1
        while len(rebuilt) < len(line):
            rebuilt += words[position]
            position += 1
        assert rebuilt == line
    assert position == len(words)


def test_highlight_cues_are_contiguous_within_a_segment() -> None:
    cues = _parse(to_srt(EN, OutputOptions(highlight_words=True)))
    first_segment = [c for c in cues if c[2] <= 3200]
    assert first_segment[0][1] == 0
    assert first_segment[-1][2] == 3200
    for previous, current in pairwise(first_segment):
        assert previous[2] == current[1]


@pytest.mark.parametrize("options", LAYOUTS)
def test_vtt_matches_srt(options: OutputOptions) -> None:
    vtt = to_vtt(ZH, options)
    assert vtt.startswith("WEBVTT\n\n")
    srt_blocks = [b.split("\n", 1)[1] for b in to_srt(ZH, options)[:-2].split("\n\n")]
    vtt_blocks = vtt[len("WEBVTT\n\n") : -2].split("\n\n")
    assert vtt_blocks == [b.replace(",", ".", 2) for b in srt_blocks]


def test_txt_and_tsv_lines() -> None:
    assert to_txt(EN) == "Hello world, this is a test of the subtitle writer.\nIt works.\n"
    rows = [row.split("\t") for row in to_tsv(LONG).splitlines()]
    assert rows[0] == ["start", "end", "text"]
    assert [row[:2] for row in rows[1:]] == [["3725500", "3730250"], ["360000000", "360001500"]]
