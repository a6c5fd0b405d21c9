"""--burn-in's pure helpers: line wrapping, font choice, option checks (no video, no model)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from yuyin.errors import ConfigurationError, MissingDependencyError
from yuyin.formats._cues import display_width
from yuyin.media import MediaOptions, burn, check_burnable, validate_media_options
from yuyin.media.burn import choose_font, missing_glyphs, wrap_text

LATIN = next((p for p in burn.FONT_SEARCH_PATHS if "DejaVuSans" in p and Path(p).is_file()), "")
CJK_FONTS = [p for p in burn.FONT_SEARCH_PATHS if any(k in p for k in ("wqy", "CJK", "Droid"))]
CJK = next((p for p in CJK_FONTS if Path(p).is_file()), "")
needs_latin = pytest.mark.skipif(not LATIN, reason="DejaVu Sans is not installed")
needs_cjk = pytest.mark.skipif(not CJK, reason="no CJK font is installed")


def columns(limit: int):
    """A `fits` that measures in terminal columns (a CJK character is 2)."""
    return lambda line: display_width(line) <= limit


@pytest.mark.parametrize(
    ("text", "limit", "lines"),
    [
        ("Hello there world", 11, ["Hello there", "world"]),
        ("Hello there world", 100, ["Hello there world"]),
        ("  padded   text  ", 100, ["padded   text"]),
        ("one\ntwo three", 100, ["one", "two three"]),
        ("one\n\n two", 100, ["one", "two"]),
        ("", 10, []),
        # A word longer than a line is broken between characters.
        ("supercalifragilistic", 8, ["supercal", "ifragili", "stic"]),
        # CJK lines break between characters...
        ("我們一起去公園玩", 8, ["我們一起", "去公園玩"]),
        # ...but never before closing punctuation, which stays with the character before it.
        ("我們一起去，公園", 10, ["我們一起", "去，公園"]),
        ("我們一起去。", 10, ["我們一起", "去。"]),
        # Mixed scripts: Latin words stay whole, CJK characters break.
        ("用 Python 寫字幕", 10, ["用 Python", "寫字幕"]),
        ("字幕Python字幕", 10, ["字幕Python", "字幕"]),
        ("字幕Python字幕", 8, ["字幕", "Python字", "幕"]),
    ],
)
def test_wrap_text(text, limit, lines):
    got = wrap_text(text, columns(limit))
    assert got == lines
    assert all(display_width(line) <= limit for line in got)


def test_wrap_text_never_loses_a_visible_character():
    text = "Whisper 說：今天天氣很好, and the rest of this line goes on and on。"
    for limit in range(1, 40):
        got = wrap_text(text, columns(limit))
        assert "".join(got).replace(" ", "") == text.replace(" ", "")


@needs_latin
def test_missing_glyphs_finds_what_a_latin_font_cannot_draw():
    font = burn._load_font(LATIN, 32)
    assert missing_glyphs(font, "Hello, wörld ♪ — €") == []
    assert missing_glyphs(font, "ab中文c") == ["中", "文"]
    assert missing_glyphs(font, " \t\n") == []  # whitespace has no glyph to miss


@needs_latin
@needs_cjk
def test_font_choice_prefers_latin_and_falls_back_to_cjk():
    assert choose_font(["Hello", "world"]) == Path(LATIN)
    chosen = choose_font(["Hello", "我們一起去公園。"])
    assert chosen in [Path(p) for p in CJK_FONTS]
    assert missing_glyphs(burn._load_font(chosen, 32), "我們一起去公園。한국어かな") == []
    # A font the user names is used for what it covers.
    assert choose_font(["Hello"], CJK) == Path(CJK)


@needs_latin
def test_no_cjk_font_is_a_configuration_error_naming_the_flag(monkeypatch):
    monkeypatch.setattr(burn, "FONT_SEARCH_PATHS", (LATIN,))
    assert choose_font(["Hello"]) == Path(LATIN)
    with pytest.raises(ConfigurationError, match="Chinese/Japanese/Korean") as info:
        choose_font(["Hello", "我們"])
    assert "--subtitle-font" in info.value.hint
    assert "我們" in info.value.message
    # The user's own font without CJK glyphs is refused the same way, naming the file.
    monkeypatch.setattr(burn, "FONT_SEARCH_PATHS", ())
    with pytest.raises(ConfigurationError, match="DejaVuSans") as info:
        choose_font(["中文"], LATIN)
    assert "--subtitle-font" in info.value.hint


def test_no_font_at_all_names_the_flag(monkeypatch, tmp_path):
    monkeypatch.setattr(burn, "FONT_SEARCH_PATHS", (str(tmp_path / "missing.ttf"),))
    with pytest.raises(ConfigurationError, match="no font") as info:
        choose_font(["Hello"])
    assert "--subtitle-font" in info.value.hint
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font")
    with pytest.raises(ConfigurationError, match=r"cannot use .*bad\.ttf"):
        choose_font(["Hello"], bad)


@needs_latin
def test_a_missing_latin_glyph_only_warns(caplog, monkeypatch):
    monkeypatch.setattr(burn, "FONT_SEARCH_PATHS", (LATIN,))
    assert choose_font(["tune \U0001d11e"]) == Path(LATIN)  # musical G clef
    assert "\U0001d11e" in caplog.text


def test_subtitle_font_option_checks(tmp_path):
    with pytest.raises(ConfigurationError, match="--subtitle-font") as info:
        validate_media_options(MediaOptions(subtitle_font=str(tmp_path / "a.ttf")))
    assert info.value.hint == "add --burn-in"
    with pytest.raises(ConfigurationError, match="no such file"):
        validate_media_options(MediaOptions(burn_in=True, subtitle_font=str(tmp_path / "a.ttf")))
    font = tmp_path / "a.ttf"
    font.write_bytes(b"")
    validate_media_options(MediaOptions(burn_in=True, subtitle_font=str(font)))
    validate_media_options(MediaOptions(burn_in=True))
    assert MediaOptions(burn_in=True).wants_video


def test_without_pillow_the_error_names_the_extra(monkeypatch, data_dir):
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if Pillow were not installed
    with pytest.raises(MissingDependencyError, match="pillow") as info:
        check_burnable(data_dir / "video.mp4", MediaOptions(burn_in=True))
    assert "yuyin[media]" in info.value.hint
