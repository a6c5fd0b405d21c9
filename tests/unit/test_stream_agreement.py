"""LocalAgreement-2 on scripted hypotheses: what is committed, when, and what is dropped."""

from __future__ import annotations

import pytest

from yuyin.stream.agreement import HypothesisBuffer, word_key
from yuyin.types import Word


def words(spec: str, start: float = 0.0, step: float = 0.5) -> list[Word]:
    """`"a b c"` → words of `step` seconds each from `start`."""
    return [
        Word(start + i * step, start + (i + 1) * step, f" {w}") for i, w in enumerate(spec.split())
    ]


def text(ws: list[Word] | tuple[Word, ...]) -> str:
    return " ".join(w.word.strip() for w in ws)


def step(buffer: HypothesisBuffer, hypothesis: list[Word]) -> str:
    buffer.insert(hypothesis)
    return text(buffer.flush())


def test_first_hypothesis_commits_nothing_and_second_commits_the_common_prefix():
    buffer = HypothesisBuffer()
    assert step(buffer, words("the cat sat")) == ""
    assert text(buffer.pending) == "the cat sat"
    assert step(buffer, words("the cat sad on")) == "the cat"
    assert buffer.committed_time == pytest.approx(1.0)
    assert text(buffer.pending) == "sad on"


def test_agreement_needs_the_whole_prefix_not_just_some_words():
    buffer = HypothesisBuffer()
    step(buffer, words("a b c d"))
    # Only the first word differs: nothing after it may be committed.
    assert step(buffer, words("x b c d")) == ""
    assert step(buffer, words("x b c e")) == "x b c"


def test_committed_words_are_not_committed_again_when_re_decoded():
    buffer = HypothesisBuffer()
    step(buffer, words("one two three"))
    assert step(buffer, words("one two three four")) == "one two three"
    # The buffer still holds that audio, so the decoder hears the words again.
    assert step(buffer, words("one two three four five")) == "four"
    assert step(buffer, words("one two three four five six")) == "five"


def test_words_starting_just_before_the_committed_end_are_kept_within_tolerance():
    buffer = HypothesisBuffer(seam_tolerance=0.1)
    step(buffer, words("a b"))
    step(buffer, words("a b"))  # commits a b: committed_time 1.0
    late = [Word(0.95, 1.4, " c"), Word(1.4, 1.9, " d")]  # starts 50 ms before the end
    buffer.insert(late)
    buffer.flush()
    assert text(buffer.pending) == "c d"
    early = [Word(0.85, 1.4, " c")]  # starts 150 ms before: already covered
    buffer.insert(early)
    assert buffer.flush() == []
    assert buffer.pending == ()


def test_newest_spelling_of_an_agreed_word_is_committed():
    buffer = HypothesisBuffer()
    step(buffer, [Word(0, 0.5, " Today")])
    buffer.insert([Word(0, 0.5, " today."), Word(0.5, 1.0, " We")])
    committed = buffer.flush()
    assert [w.word for w in committed] == [" today."]


def test_repeated_ngram_at_the_seam_is_removed():
    buffer = HypothesisBuffer()
    step(buffer, words("we go to"))
    step(buffer, words("we go to"))  # committed: we go to (ends 1.5)
    # After a cut the decoder re-reads "go to" from the end of the old audio.
    again = [Word(1.45, 1.7, " go"), Word(1.7, 1.9, " to"), Word(1.9, 2.3, " the")]
    buffer.insert(again)
    buffer.flush()
    assert text(buffer.pending) == "the"


def test_longest_repeated_ngram_wins():
    buffer = HypothesisBuffer()
    step(buffer, words("a a"))
    step(buffer, words("a a"))  # committed: a a (ends 1.0)
    buffer.insert([Word(1.0, 1.2, " a"), Word(1.2, 1.4, " a"), Word(1.4, 1.6, " b")])
    buffer.flush()
    assert text(buffer.pending) == "b"


def test_word_starting_early_after_re_read_committed_words_is_not_lost():
    buffer = HypothesisBuffer()
    step(buffer, words("for centuries before the"))
    step(buffer, words("for centuries before the"))  # committed, ends 2.0
    # The next hypothesis times "wood" from 1.85 s: before committed - 0.1 s, yet it is
    # new, as the re-read "before the" in front of it shows.
    again = [
        Word(1.0, 1.5, " before"),
        Word(1.5, 1.85, " the"),
        Word(1.85, 2.3, " wood"),
        Word(2.3, 2.9, " cutters"),
    ]
    buffer.insert(again)
    buffer.flush()
    assert text(buffer.pending) == "wood cutters"


def test_one_re_read_word_at_the_buffer_start_anchors_the_next_word():
    buffer = HypothesisBuffer()
    step(buffer, words("the block"))
    assert step(buffer, words("the block books")) == "the block"  # committed to 1.0 s
    # The buffer now starts at "block" (0.5 s); this decode times "books" from 0.8 s,
    # before the committed point less the tolerance, yet it is the next word.
    reread = [Word(0.5, 0.8, " block"), Word(0.8, 1.3, " books"), Word(1.3, 1.6, " which")]
    assert step(buffer, reread) == "books"  # agreed with the pending "books" before
    assert step(buffer, reread) == "which"


def test_a_matching_first_word_elsewhere_in_time_is_no_anchor():
    buffer = HypothesisBuffer()
    step(buffer, words("a b"))
    assert step(buffer, words("a b")) == "a b"  # "b" is 0.5-1.0 s
    later = [Word(2.0, 2.5, " b"), Word(2.5, 3.0, " c")]  # a new "b", after the pause
    step(buffer, later)
    assert step(buffer, later) == "b c"


def test_re_read_words_timed_into_the_pause_are_not_committed_twice():
    buffer = HypothesisBuffer()
    step(buffer, words("in the exhibition."))
    step(buffer, words("in the exhibition."))  # committed, ends 1.5
    # After a pause the decoder re-reads "the exhibition" but times it 1.4 s later.
    late = [
        Word(2.9, 3.2, " the"),
        Word(3.2, 3.6, " exhibition"),
        Word(3.7, 4.0, " in"),
        Word(4.0, 4.4, " being"),
    ]
    buffer.insert(late)
    buffer.flush()
    assert text(buffer.pending) == "in being"


def test_a_new_phrase_that_merely_contains_committed_words_is_kept():
    buffer = HypothesisBuffer()
    step(buffer, words("see the"))
    step(buffer, words("see the"))  # committed, ends 1.0
    # "see the" again, but after three new words: not a re-read at the seam.
    later = words("we will see the", start=1.0, step=0.3)
    buffer.insert(later)
    buffer.flush()
    assert text(buffer.pending) == "we will see the"


def test_seam_repeat_is_only_looked_for_within_the_window():
    buffer = HypothesisBuffer(seam_window=1.0)
    step(buffer, words("yes"))
    step(buffer, words("yes"))  # committed: yes (ends 0.5)
    far = [Word(2.0, 2.5, " yes"), Word(2.5, 3.0, " indeed")]  # said again after a pause
    buffer.insert(far)
    buffer.flush()
    assert text(buffer.pending) == "yes indeed"


def test_ngrams_longer_than_five_words_are_not_removed():
    buffer = HypothesisBuffer(max_ngram=5)
    spec = "a b c d e f"
    step(buffer, words(spec))
    step(buffer, words(spec))  # committed: a..f, ends 3.0
    buffer.insert(words(spec + " g", start=3.0, step=0.1))
    buffer.flush()
    assert text(buffer.pending) == "a b c d e f g"


def doubted(spec: str, low: set[str], start: float = 0.0) -> list[Word]:
    """Like `words`, with the words in `low` at probability 0.01."""
    return [
        Word(w.start, w.end, w.word, 0.01 if w.word.strip() in low else 1.0)
        for w in words(spec, start)
    ]


def test_a_doubted_word_needs_a_third_agreeing_hypothesis():
    buffer = HypothesisBuffer(min_probability=0.05)
    assert step(buffer, doubted("thank you for", {"thank"})) == ""
    assert step(buffer, doubted("thank you for watching", {"thank"})) == ""  # two agree
    assert text(buffer.pending) == "thank you for watching"
    # The third hypothesis hears the real words: the invented opening was never committed.
    assert step(buffer, doubted("printing in the", set())) == ""
    assert step(buffer, doubted("printing in the only", set())) == "printing in the"


def test_a_doubted_word_three_hypotheses_agree_on_is_committed():
    buffer = HypothesisBuffer(min_probability=0.05)
    step(buffer, doubted("a rare name", {"rare"}))
    assert step(buffer, doubted("a rare name is", {"rare"})) == "a"  # stops before "rare"
    assert step(buffer, doubted("rare name is here", {"rare"}, 0.5)) == "rare name is"


def test_the_probability_check_holds_back_only_so_many_flushes():
    buffer = HypothesisBuffer(min_probability=0.05, max_held=2)
    flip = [doubted("in the only", {"in"}), doubted("starting the only", {"starting"})]
    # The doubted first word keeps changing, so no third hypothesis ever agrees with two.
    assert step(buffer, flip[0]) == ""
    assert step(buffer, flip[0]) == ""  # held back once
    assert step(buffer, flip[1]) == ""
    assert step(buffer, flip[1]) == ""  # held back twice
    assert step(buffer, flip[0]) == ""
    assert step(buffer, flip[0]) == "in the only"  # two agreeing hypotheses are enough now


def test_without_min_probability_two_hypotheses_are_enough():
    buffer = HypothesisBuffer()
    step(buffer, doubted("thank you", {"thank"}))
    assert step(buffer, doubted("thank you for", {"thank"})) == "thank you"


def test_complete_flushes_everything_pending():
    buffer = HypothesisBuffer()
    step(buffer, words("alpha beta"))
    step(buffer, words("alpha beta gamma"))  # commits alpha beta, pending gamma
    assert text(buffer.complete()) == "gamma"
    assert buffer.committed_time == pytest.approx(1.5)
    assert buffer.pending == ()
    assert buffer.complete() == []


def test_complete_after_an_unflushed_insert_keeps_the_newest_hypothesis():
    buffer = HypothesisBuffer()
    step(buffer, words("one two"))
    buffer.insert(words("one too three"))
    assert text(buffer.complete()) == "one too three"


def test_pop_committed_forgets_words_for_the_seam_check():
    buffer = HypothesisBuffer()
    step(buffer, words("go to"))
    step(buffer, words("go to"))  # ends 1.0
    buffer.pop_committed(1.0)  # the audio up to 1.0 s left the buffer
    buffer.insert([Word(1.0, 1.3, " to"), Word(1.3, 1.6, " it")])
    buffer.flush()
    assert text(buffer.pending) == "to it"


def test_skip_to_drops_pending_words_and_moves_the_committed_point():
    buffer = HypothesisBuffer()
    step(buffer, words("noise noise noise noise"))  # nothing agreed, pending 0..2 s
    buffer.skip_to(1.0)
    assert buffer.committed_time == 1.0
    assert text(buffer.pending) == "noise noise"
    buffer.insert(words("x y z", start=0.0))
    assert buffer.flush() == []  # words before 1.0 - 0.1 s are gone for good
    assert text(buffer.pending) == "z"


def test_word_key_ignores_case_spaces_and_punctuation_but_not_punctuation_tokens():
    assert word_key(" Today.") == word_key("today") == "today"
    assert word_key("我們，") == "我們"
    assert word_key("。") != word_key("，")
    assert word_key("$5") != word_key("5")


def test_custom_key_compares_in_one_script():
    def fold(t: str) -> str:
        return word_key(t.replace("们", "們"))

    buffer = HypothesisBuffer(key=fold)
    step(buffer, [Word(0, 0.3, "我"), Word(0.3, 0.6, "们")])
    committed = step(buffer, [Word(0, 0.3, "我"), Word(0.3, 0.6, "們"), Word(0.6, 0.9, "去")])
    assert committed == "我 們"
