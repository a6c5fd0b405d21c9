"""Language codes, Chinese script conversion and the phantom-line filter."""

from __future__ import annotations

import pytest
from faster_whisper.tokenizer import _LANGUAGE_CODES

from yuyin.errors import ConfigurationError
from yuyin.languages import LANGUAGES, LanguageChoice, resolve_language
from yuyin.text import convert_script, convert_segments, is_phantom
from yuyin.types import Segment, Word, join_segment_texts


def test_language_table_matches_the_model_tokenizer():
    assert set(LANGUAGES) == set(_LANGUAGE_CODES)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, LanguageChoice(None)),
        ("auto", LanguageChoice(None)),
        ("en", LanguageChoice("en")),
        ("English", LanguageChoice("en")),
        ("zh", LanguageChoice("zh")),
        ("zh-TW", LanguageChoice("zh", "traditional")),
        ("zh_tw", LanguageChoice("zh", "traditional")),
        ("zh-Hant", LanguageChoice("zh", "traditional")),
        ("cmn-Hant-TW", LanguageChoice("zh", "traditional")),
        ("zh-CN", LanguageChoice("zh", "simplified")),
        ("Mandarin", LanguageChoice("zh")),
        ("yue", LanguageChoice("yue")),
    ],
)
def test_resolve_language(given, expected):
    assert resolve_language(given) == expected


def test_explicit_script_wins_over_the_tag():
    assert resolve_language("zh-TW", "simplified") == LanguageChoice("zh", "simplified")
    assert resolve_language(None, "traditional") == LanguageChoice(None, "traditional")


def test_unknown_language_lists_the_valid_ones():
    with pytest.raises(ConfigurationError, match="'xx'") as info:
        resolve_language("xx")
    assert "zh-TW" in info.value.hint
    assert "yue" in info.value.hint


def test_convert_script_uses_taiwan_phrasing():
    assert convert_script("我们用软件和鼠标", "traditional") == "我們用軟體和滑鼠"
    assert convert_script("我們用軟體和滑鼠", "simplified") == "我们用软件和鼠标"
    assert convert_script("Python 3.11", "traditional") == "Python 3.11"
    with pytest.raises(ConfigurationError):
        convert_script("x", "klingon")


def test_convert_segments_keeps_timings_when_lengths_change():
    # "U盘" becomes "隨身碟" (2 → 3 characters): per-word fallback, times untouched.
    words = (Word(0.0, 0.5, "U盘"), Word(0.5, 1.0, "坏了"))
    (out,) = convert_segments((Segment(0.0, 1.0, "U盘坏了", words),), "traditional")
    assert out.text == "隨身碟壞了"
    assert [(w.start, w.end) for w in out.words] == [(0.0, 0.5), (0.5, 1.0)]
    assert "".join(w.word for w in out.words) == "隨身碟壞了"


@pytest.mark.parametrize(
    "text",
    [
        "字幕由 Amara.org 社群提供",
        "字幕由Amara.org社区提供",
        "請不吝點贊 訂閱 轉發 打賞支持明鏡與點點欄目",
        "Thank you for watching!",
        "Thanks for watching.",
        " Subtitles by the Amara.org community",
        "中文字幕志愿者 李宗盛",
    ],
)
def test_stock_credits_are_phantoms(text):
    assert is_phantom(text)


@pytest.mark.parametrize(
    "text",
    ["Thank you for watching the game with me today.", "Hello world", "謝謝你的幫忙", ""],
)
def test_real_sentences_are_not_phantoms(text):
    assert not is_phantom(text)
    assert not is_phantom(text, no_speech_prob=0.9)


def test_short_stock_lines_need_doubt_to_be_dropped():
    assert not is_phantom(" Thank you.")
    assert is_phantom(" Thank you.", no_speech_prob=0.5)
    assert is_phantom(" you", speech_evidence=False)
    assert not is_phantom(" you", speech_evidence=True)


def test_join_segment_texts_spaces_only_between_non_cjk():
    assert join_segment_texts([" Hello.", " World."]) == "Hello. World."
    assert join_segment_texts(["今天", "天氣很好"]) == "今天天氣很好"
    assert join_segment_texts(["我用", " Python ", "寫程式"]) == "我用 Python 寫程式"
    assert join_segment_texts(["", "  "]) == ""
