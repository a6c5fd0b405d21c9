"""Sentence splitting for English and Chinese, without a model."""

from __future__ import annotations

import pytest

from yuyin.stream.sentences import ends_sentence, group_sentences, split_sentences
from yuyin.types import Word


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The sun is warm today. We go.", ["The sun is warm today.", "We go."]),
        ("Really?! Yes... fine", ["Really?!", "Yes...", "fine"]),
        ("Dr. Smith paid $3.50 at 5 p.m. today.", ["Dr. Smith paid $3.50 at 5 p.m. today."]),
        ("J. R. R. Tolkien wrote it. Then", ["J. R. R. Tolkien wrote it.", "Then"]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("no ending at all", ["no ending at all"]),
        ("", []),
    ],
)
def test_english(text, expected):
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我們一起去公園。我們一起去學校。", ["我們一起去公園。", "我們一起去學校。"]),
        ("你好嗎？我很好！謝謝；再見……還有", ["你好嗎？", "我很好！", "謝謝；", "再見……", "還有"]),
        ("他說「好。」然後走了。", ["他說「好。」", "然後走了。"]),
        ("中文。English too. 再來", ["中文。", "English too.", "再來"]),
        ("版本3.5很好。", ["版本3.5很好。"]),
    ],
)
def test_chinese_and_mixed(text, expected):
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("word", "ends"),
    [
        (" today.", True),
        (" why?", True),
        (' "stop!"', True),
        ("園。", True),
        ("嗎？", True),
        ("好；", True),
        ("…", True),
        (" Dr.", False),
        (" J.", False),
        (" etc.", False),
        (" word", False),
        ("我們，", False),
        ("", False),
    ],
)
def test_ends_sentence(word, ends):
    assert ends_sentence(word) is ends


def test_group_sentences_keeps_times_and_the_unfinished_tail():
    ws = [
        Word(0.0, 0.3, "我們"),
        Word(0.3, 0.6, "去公園。"),
        Word(0.7, 0.9, " Mr."),
        Word(0.9, 1.2, " Li"),
        Word(1.2, 1.5, " came."),
        Word(1.6, 1.9, " And"),
    ]
    groups = group_sentences(ws)
    assert [len(g) for g in groups] == [2, 3, 1]
    assert groups[0][-1].end == 0.6
    assert group_sentences([]) == []
