"""The per-engine language table: Whisper codes and scripts ↔ BCP-47 locale tags (issue 8)."""

from __future__ import annotations

import pytest

from yuyin.errors import ConfigurationError
from yuyin.languages import (
    BCP47_CODES,
    LANGUAGES,
    LanguageChoice,
    engine_language_code,
    language_from_engine_code,
)


@pytest.mark.parametrize(
    ("language", "zh_script", "expected"),
    [
        ("zh", "traditional", "cmn-Hant-TW"),
        ("zh", "simplified", "cmn-Hans-CN"),
        ("zh", None, "cmn-Hant-TW"),  # yuyin's default script for Chinese
        ("zh-TW", None, "cmn-Hant-TW"),
        ("zh-CN", None, "cmn-Hans-CN"),
        ("zh_TW", None, "cmn-Hant-TW"),
        ("zh-TW", "simplified", "cmn-Hans-CN"),  # an explicit script wins over the tag
        ("Chinese", "simplified", "cmn-Hans-CN"),
        ("mandarin", None, "cmn-Hant-TW"),
        ("en", None, "en-US"),
        ("English", None, "en-US"),
        ("yue", None, "yue-Hant-HK"),
        ("cantonese", None, "yue-Hant-HK"),
        ("ja", None, "ja-JP"),
        ("he", None, "iw-IL"),
        ("tl", None, "fil-PH"),
        ("jw", None, "jv-ID"),
    ],
)
def test_google_codes(language, zh_script, expected):
    assert engine_language_code(language, zh_script, engine="google") == expected


@pytest.mark.parametrize("language", [None, "", "auto", " AUTO "])
def test_detection_stays_detection(language):
    assert engine_language_code(language, engine="google") is None
    assert engine_language_code(language, engine="faster-whisper") is None


@pytest.mark.parametrize(
    ("language", "engine", "expected"),
    [
        ("zh-TW", "faster-whisper", "zh"),
        ("Chinese", "openai", "zh"),
        ("en", "transformers", "en"),
        ("yue", "faster-whisper", "yue"),
    ],
)
def test_whisper_engines_keep_whisper_codes(language, engine, expected):
    assert engine_language_code(language, engine=engine) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("cmn-Hant-TW", LanguageChoice("zh", "traditional")),
        ("cmn-hant-tw", LanguageChoice("zh", "traditional")),  # the service answers lower-case
        ("cmn-Hans-CN", LanguageChoice("zh", "simplified")),
        ("zh-TW", LanguageChoice("zh", "traditional")),
        ("zh-HK", LanguageChoice("zh", "traditional")),
        ("zh-SG", LanguageChoice("zh", "simplified")),
        ("zh", LanguageChoice("zh")),
        ("yue-Hant-HK", LanguageChoice("yue")),
        ("en-US", LanguageChoice("en")),
        ("en-GB", LanguageChoice("en")),  # not in the table: matched by its primary subtag
        ("en_AU", LanguageChoice("en")),
        ("iw-IL", LanguageChoice("he")),
        ("fil-PH", LanguageChoice("tl")),
        ("nb-NO", LanguageChoice("no")),
    ],
)
def test_back_from_google_codes(code, expected):
    assert language_from_engine_code(code, engine="google") == expected


def test_back_from_whisper_engine_codes():
    assert language_from_engine_code("zh-TW", engine="faster-whisper") == LanguageChoice(
        "zh", "traditional"
    )
    assert language_from_engine_code("english", engine="openai") == LanguageChoice("en")


def test_every_table_entry_round_trips():
    assert set(BCP47_CODES) <= set(LANGUAGES)
    for code, tag in BCP47_CODES.items():
        assert engine_language_code(code, engine="google") == tag
        assert language_from_engine_code(tag, engine="google").code == code
    for script in ("traditional", "simplified"):
        zh_tag = engine_language_code("zh", script, engine="google")
        assert zh_tag is not None
        assert language_from_engine_code(zh_tag, engine="google") == LanguageChoice("zh", script)


def test_unknown_and_unmapped_languages_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="unknown language"):
        engine_language_code("klingon", engine="google")
    with pytest.raises(ConfigurationError, match="unknown Chinese script"):
        engine_language_code("zh", "cursive", engine="google")
    unmapped = sorted(set(LANGUAGES) - set(BCP47_CODES) - {"zh"})
    assert unmapped, "some Whisper languages have no Google locale"
    with pytest.raises(ConfigurationError, match="no google locale") as info:
        engine_language_code(unmapped[0], engine="google")
    assert "--language-codes" in info.value.hint
    with pytest.raises(ConfigurationError, match="names no language"):
        language_from_engine_code("xx-YY", engine="google")
