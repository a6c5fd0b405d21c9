"""Normalisers: documented behaviour, idempotence and invariance on random text."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from yuyin.errors import ConfigurationError
from yuyin.eval import NORMALIZERS, Normalizer, default_normalizer, get_normalizer, score_texts
from yuyin.eval.english import _SPELLINGS
from yuyin.eval.normalizers import (
    BASIC,
    CHINESE,
    ENGLISH,
    NONE,
    chinese_numerals_to_digits,
    collapse_whitespace,
    lowercase,
)

# Letters, digits, number words, contractions, CJK (both scripts), numerals, punctuation of
# both widths, symbols and odd whitespace: what random texts are built from.
_PIECE_TEXT = (
    "Hello world The cat don't it's we're I'll twenty one hundred and five first second "
    "point three percent dollars colour Mr. um [noise] (laughs) 3.5 1,000 $5 5% 42 "
    "我們 一起 去 公園 学校 软件 一百零五 二〇二四 十五 萬一 兩萬 iPhone ＡＢＣ １２３ "
    "。 ， ！ ？ 「 」 、 . , ! ? - — ' \" ; : ( ) … ♪ ♥ \u3000 \t \u00a0"
)
_PIECES = _PIECE_TEXT.split(" ")


def _random_text(rng: random.Random) -> str:
    return rng.choice(["", " ", "\u3000"]).join(
        rng.choice(_PIECES) for _ in range(rng.randint(0, 14))
    )


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_every_normalizer_is_idempotent_on_random_text(name):
    norm = get_normalizer(name)
    rng = random.Random(name)
    for _ in range(400):
        text = _random_text(rng)
        once = norm(text)
        assert norm(once) == once, (text, once)


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_every_normalizer_is_idempotent_on_single_characters(name):
    norm = get_normalizer(name)
    # A sweep of the Basic Multilingual Plane (every 7th code point) plus all of ASCII.
    for code in [*range(0x20, 0x7F), *range(0xA0, 0xFFFF, 7)]:
        char = chr(code)
        if unicodedata.category(char) in ("Cs", "Co", "Cn"):
            continue
        once = norm(f"a{char}b")
        assert norm(once) == once, hex(code)


@pytest.mark.parametrize("name", sorted(NORMALIZERS))
def test_scores_are_invariant_to_the_normalizers_own_transformations(name):
    norm = get_normalizer(name)
    rng = random.Random(f"invariance-{name}")
    refs = [_random_text(rng) or "x" for _ in range(60)]
    hyps = [_random_text(rng) for _ in range(60)]
    base = score_texts(refs, hyps, normalizer=norm, metric="wer")
    again = score_texts([norm(r) for r in refs], [norm(h) for h in hyps], normalizer=norm)
    for metric in ("wer", "cer", "mixed", "mer"):
        assert again.score(metric) == base.score(metric), metric
    identical = score_texts(refs, refs, normalizer=norm)
    assert identical.score("wer") == 0.0
    assert identical.score("cer") == 0.0


@pytest.mark.parametrize(
    ("norm", "variant"),
    [
        (BASIC, str.upper),
        (BASIC, lambda t: t.replace(" ", " ,  ") + "!"),
        (BASIC, lambda t: unicodedata.normalize("NFKC", t).translate({0x20: 0x3000})),
        (ENGLISH, str.upper),
        (ENGLISH, lambda t: t + " um."),
        (CHINESE, lambda t: t.replace("們", "们").replace("學", "学") + "。"),
        (CHINESE, lambda t: re.sub("(?<=[\u4e00-\u9fff])(?=[\u4e00-\u9fff])", " ", t)),
    ],
)
def test_variants_a_normalizer_removes_do_not_change_the_score(norm, variant):
    refs = ["we went to the park today", "我們一起去學校", "hello there world"]
    hyps = ["we want to the park today", "我們一起去公園", "hello their world"]
    base = score_texts(refs, hyps, normalizer=norm)
    varied = score_texts(refs, [variant(h) for h in hyps], normalizer=norm)
    assert varied.score("cer") == base.score("cer")
    assert varied.score("mixed") == base.score("mixed")


def test_none_keeps_the_text_and_basic_folds_case_punctuation_and_width():
    assert NONE("Hello, World!") == "Hello, World!"
    assert BASIC("Hello, World!  Don't\tstop—ever.") == "hello world dont stop ever"
    assert BASIC("ＡＢＣ　１２３！") == "abc 123"
    assert BASIC("我們，一起。") == "我們 一起"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Twenty-one dogs, one hundred and five cats!", "21 dogs 105 cats"),
        ("I won't go; it's my favourite COLOUR.", "i will not go it is my favorite color"),
        ("We're gonna see y'all, can't we?", "we are going to see you all can not we"),
        ("In nineteen ninety nine", "in 1999"),
        ("twenty twenty four and two thousand and twenty", "2024 and 2020"),
        ("five dollars and 5 percent and ten percent", "$5 and 5% and 10%"),
        ("3.5 percent, the first percent", "3.5% the 1st percent"),
        ("three point one four", "3.14"),
        ("the twenty first time, one second later", "the 21st time 1 second later"),
        ("1,000,000 people", "1000000 people"),
        ("call five five five one two", "call 55512"),
        ("Mr. Smith's book [music] <unk> (laughs) um uh", "mister smiths book"),
        ("the colour of the theatre centre", "the color of the theater center"),
        ("a hundred", "a hundred"),
    ],
)
def test_english_normalizer(text, expected):
    assert ENGLISH(text) == expected


def test_spelling_table_maps_to_words_that_are_not_keys():
    assert not set(_SPELLINGS.values()) & set(_SPELLINGS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我们一起去学校！", "我們一起去學校"),
        ("鼠标和软件", "滑鼠和軟體"),
        ("ＡＢＣ１２３，很好", "abc123 很好"),
        ("我 們 一 起", "我們一起"),
        ("我用 iPhone 十五 拍照", "我用 iphone 15拍照"),
        ("一百零五個人，三千五百元", "105個人3500元"),
        ("二〇二四年十一月十五日", "2024年11月15日"),
        ("兩萬、三萬五、一億兩千萬", "20000 35000 120000000"),
        ("零零七", "007"),
        ("價格是3.5元，共1,000個", "價格是3.5元共1000個"),
        ("一，二，三", "一 二 三"),
    ],
)
def test_chinese_normalizer(text, expected):
    assert CHINESE(text) == expected


@pytest.mark.parametrize(
    "text",
    ["一起", "十分", "萬一", "千萬", "一五一十", "三三兩兩", "十兩", "一二", "五六十", "統一"],
)
def test_ambiguous_chinese_numerals_are_left_alone(text):
    assert chinese_numerals_to_digits(text) == text


def test_simplified_hypothesis_is_not_penalised_against_traditional_reference():
    result = score_texts(["我們一起去學校。"], ["我们一起去学校"], language="zh-TW")
    assert result.normalizer == "chinese"
    assert result.score("cer") == 0.0
    assert result.score("cer", normalized=False) > 0.0
    numbers = score_texts(["他有一百零五本書"], ["他有105本書"], normalizer="chinese")
    assert numbers.score() == 0.0


def test_pipelines_compose():
    shout = Normalizer("shout", (str.upper,))
    assert shout.then(collapse_whitespace)("  a  b ") == "A B"
    mine = BASIC.then(lambda t: t.replace("colour", "color"), name="mine")
    assert mine.name == "mine"
    assert mine("Colour!") == "color"
    assert Normalizer("x", (lowercase,)).many(["A", "B"]) == ["a", "b"]
    assert score_texts(["Colour"], ["color"], normalizer=mine).score() == 0.0


@pytest.mark.parametrize(
    ("language", "texts", "name"),
    [
        ("en", (), "english"),
        ("zh-TW", (), "chinese"),
        ("yue", (), "chinese"),
        ("fr", (), "basic"),
        ("ja", (), "basic"),
        (None, ("我們一起去公園",), "chinese"),
        (None, ("hello there",), "english"),
        (None, ("привет мир",), "basic"),
        (None, ("",), "basic"),
    ],
)
def test_default_normalizer(language, texts, name):
    assert default_normalizer(language, texts).name == name


def test_unknown_normalizer_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="unknown normalizer") as info:
        get_normalizer("klingon")
    assert "english" in info.value.hint
