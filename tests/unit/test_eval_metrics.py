"""Metrics on jiwer: the issue's worked examples, every metric against jiwer, corpus sums."""

from __future__ import annotations

import random
from fractions import Fraction

import jiwer
import numpy as np
import pytest

from yuyin.errors import ConfigurationError
from yuyin.eval import Counts, align, count_errors, default_metric, score_texts, tokenize
from yuyin.eval.bootstrap import rates
from yuyin.eval.metrics import METRICS, join_tokens, metric_unit

REF = "the cat sat on the mat"
HYP = "the bat sat on mat"


def test_wer_worked_example_two_errors_in_six_words():
    (c,) = count_errors([REF], [HYP], "word")
    assert (c.substitutions, c.deletions, c.insertions, c.hits) == (1, 1, 0, 4)
    assert Fraction(c.errors, c.reference_length) == Fraction(2, 6)
    assert c.error_rate == 2 / 6
    assert round(c.error_rate, 3) == 0.333


def test_cer_worked_example_with_and_without_spaces():
    (ignored,) = count_errors([REF], [HYP], "char")
    assert (ignored.errors, ignored.reference_length) == (4, 17)
    assert ignored.error_rate == 4 / 17
    (counted,) = count_errors([REF], [HYP], "char", count_spaces=True)
    assert (counted.errors, counted.reference_length) == (5, 22)
    assert counted.error_rate == 5 / 22
    assert round(counted.error_rate, 5) == 0.22727


def test_ten_errors_against_two_words_is_wer_five():
    (c,) = count_errors(["hello world"], ["a b c d e f g h i j"], "word")
    assert c.errors == 10
    assert c.error_rate == 5.0


def test_the_worked_examples_through_score_texts():
    result = score_texts([REF], [HYP], normalizer="none", metric="wer")
    assert result.score("wer") == 2 / 6
    assert result.score("cer") == 4 / 17
    spaced = score_texts([REF], [HYP], normalizer="none", count_spaces=True)
    assert spaced.score("cer") == 5 / 22
    assert score_texts(["hello world"], ["a b c d e f g h i j"], normalizer="none").score() == 5.0


def _random_pairs(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    vocab = ["a", "b", "c", "d", "e", "hello", "world", "你", "好", "iphone"]
    refs = [" ".join(rng.choice(vocab) for _ in range(rng.randint(1, 12))) for _ in range(n)]
    hyps = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 12))) for _ in range(n)]
    return refs, hyps


@pytest.mark.parametrize("seed", range(5))
def test_corpus_measures_equal_jiwer_on_the_whole_set(seed):
    refs, hyps = _random_pairs(40, seed)
    plain = jiwer.process_words(refs, hyps)
    result = score_texts(refs, hyps, normalizer="none")
    assert result.score("wer") == pytest.approx(plain.wer)
    assert result.score("mer") == pytest.approx(plain.mer)
    assert result.score("wil") == pytest.approx(plain.wil)
    assert result.score("wip") == pytest.approx(plain.wip)
    chars = jiwer.process_characters(refs, hyps)
    spaced = score_texts(refs, hyps, normalizer="none", count_spaces=True)
    assert spaced.score("cer") == pytest.approx(chars.cer)
    counts = result.counts("word")
    assert (counts.hits, counts.substitutions, counts.deletions, counts.insertions) == (
        plain.hits,
        plain.substitutions,
        plain.deletions,
        plain.insertions,
    )


@pytest.mark.parametrize("seed", range(3))
def test_per_utterance_counts_equal_jiwer_one_by_one(seed):
    refs, hyps = _random_pairs(25, seed)
    for ref, hyp, c in zip(refs, hyps, count_errors(refs, hyps, "word"), strict=True):
        one = jiwer.process_words(ref, hyp)
        assert (c.hits, c.substitutions, c.deletions, c.insertions) == (
            one.hits,
            one.substitutions,
            one.deletions,
            one.insertions,
        )
        assert c.error_rate == pytest.approx(one.wer)
        assert c.match_error_rate == pytest.approx(one.mer)
        assert c.word_information_preserved == pytest.approx(one.wip)


def test_corpus_rate_is_summed_counts_not_a_mean_of_rates():
    result = score_texts(
        ["a", "b c d e f g h i j k"], ["x", "b c d e f g h i j k"], normalizer="none"
    )
    assert result.score("wer") == 1 / 11  # mean of per-utterance rates would be 0.5


def test_wer_may_exceed_one_and_empty_references_count_insertions():
    (c,) = count_errors([""], ["two words"], "word")
    assert c.reference_length == 0
    assert c.error_rate == 2.0
    assert c.word_information_preserved == 0.0
    (nothing,) = count_errors([""], [""], "word")
    assert nothing.error_rate == 0.0
    assert nothing.word_information_preserved == 1.0
    assert nothing.match_error_rate == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_identical_strings_score_zero_in_every_metric(seed):
    refs, _ = _random_pairs(30, seed)
    result = score_texts(refs, refs, normalizer="none")
    for name in METRICS:
        expected = 1.0 if name == "wip" else 0.0
        assert result.score(name) == expected, name
        assert result.score(name, normalized=False) == expected, name


def test_mixed_error_rate_counts_characters_and_english_words():
    assert tokenize("我用iPhone拍照 good morning", "mixed") == [
        "我",
        "用",
        "iPhone",
        "拍",
        "照",
        "good",
        "morning",
    ]
    result = score_texts(["我用iPhone拍照"], ["我用iPad拍照"], normalizer="none", metric="mixed")
    assert result.score() == 1 / 5  # one word wrong of five tokens
    assert result.score("cer") == 4 / 10  # character-level counts the letters of iPhone
    assert result.summary()["unit"] == "mixed"


def test_mixed_equals_words_without_cjk_and_characters_with_only_cjk():
    en = score_texts(["a b c"], ["a x c"], normalizer="none")
    assert en.score("mixed") == en.score("wer")
    zh = score_texts(["我們去公園"], ["我們去學校"], normalizer="none")
    assert zh.score("mixed") == zh.score("cer") == 2 / 5


def test_rates_vectorised_agree_with_counts():
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 6, size=(200, 4))
    rows[:5] = 0
    rows[5:10, :3] = 0
    for metric in METRICS:
        vec = rates(rows, metric)
        for row, value in zip(rows, vec, strict=True):
            assert Counts(*map(int, row)).rate(metric) == pytest.approx(value), metric


def test_alignment_shows_each_operation():
    spans = align("a b c d", "a x c d e", "word")
    ops = [(s.op, s.reference, s.hypothesis) for s in spans]
    assert ("substitute", ("b",), ("x",)) in ops
    assert ("insert", (), ("e",)) in ops
    deleted = align("a b c", "a c", "word")
    assert [s.op for s in deleted] == ["equal", "delete", "equal"]
    assert join_tokens(("我", "用", "iPhone", "good", "day"), "mixed") == "我用iPhone good day"


@pytest.mark.parametrize(
    ("language", "metric"),
    [("zh-TW", "cer"), ("zh", "cer"), ("Chinese", "cer"), ("ja", "cer"), ("ko", "cer"),
     ("th", "cer"), ("yue", "cer"), ("en", "wer"), ("fr", "wer"), ("de", "wer")],
)  # fmt: skip
def test_default_metric_by_language(language, metric):
    assert default_metric(language) == metric


def test_default_metric_guesses_from_text_without_a_language():
    assert default_metric(None, ["我們一起去公園"]) == "cer"
    assert default_metric(None, ["สวัสดีครับ"]) == "cer"
    assert default_metric(None, ["hello there", "我"]) == "wer"
    assert score_texts(["我們去公園"], ["我們去學校"]).metric == "cer"
    assert score_texts(["we went"], ["we go"], languages=["zh"]).metric == "cer"


def test_unknown_metric_language_and_length_mismatch_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="unknown metric"):
        metric_unit("bleu")
    with pytest.raises(ConfigurationError, match="unknown language"):
        default_metric("klingon")
    with pytest.raises(ConfigurationError, match="2 references but 1"):
        count_errors(["a", "b"], ["a"])
    assert count_errors([], []) == []


def test_summary_has_the_documented_keys():
    summary = score_texts([REF], [HYP], normalizer="none").summary()
    assert set(summary) >= {
        "wer", "cer", "mer", "wil", "substitutions", "deletions", "insertions", "hits",
        "reference_length", "utterances", "normalizer", "metric",
    }  # fmt: skip
    assert summary["metric"] == "wer"
    assert summary["reference_length"] == 6
    assert summary["rtf"] is None


def test_a_set_of_english_and_mandarin_is_scored_with_the_mixed_error_rate():
    refs = ["I like twenty-one books.", "我們一起去學校。"]
    hyps = ["i like 21 books", "我们一起去学校"]
    result = score_texts(refs, hyps, languages=["en", "zh-TW"])
    assert result.metric == "mixed"
    assert result.normalizer == "chinese+english"  # each row by its own language
    assert result.score() == 0.0
    assert [u.normalized_hypothesis for u in result.utterances] == [
        "i like 21 books",
        "我們一起去學校",
    ]
    forced = score_texts(refs, hyps, languages=["en", "zh-TW"], language="en")
    assert (forced.metric, forced.normalizer) == ("wer", "english")


def test_a_row_language_whisper_does_not_know_counts_as_unknown():
    result = score_texts(["hello there"], ["hello their"], languages=["tlh-KL"])
    assert (result.metric, result.normalizer) == ("wer", "english")
    with pytest.raises(ConfigurationError, match="unknown language"):
        score_texts(["hello"], ["hello"], language="tlh-KL")
