"""LocalAgreement-2: commit the words that two consecutive hypotheses agree on.

Whisper re-decodes the whole audio buffer at every step, so its last words keep changing
while the speaker is mid-sentence. A word is committed (final, never revised) once two
consecutive hypotheses agree on it and on everything before it (Macháček et al., "Turning
Whisper into Real-Time Transcription System", 2023). Pure: words with absolute times in,
committed words out; nothing from yuyin but `yuyin.types` (an import-linter contract in
pyproject.toml keeps it so).
"""

from __future__ import annotations

import unicodedata
from collections import deque
from collections.abc import Callable, Iterable

from yuyin.types import Word

__all__ = ["HypothesisBuffer", "word_key"]

KeyFunction = Callable[[str], str]


def word_key(text: str) -> str:
    """How two hypotheses' words are compared: case-folded letters, digits and symbols only.

    A word that is only punctuation keeps its punctuation, so `。` and `，` stay different.
    """
    folded = text.strip().casefold()
    kept = "".join(c for c in folded if unicodedata.category(c)[0] in "LNMS")
    return kept or folded


class HypothesisBuffer:
    """The LocalAgreement-2 state between decoding steps.

    Each step `insert`s the new hypothesis, then `flush` returns the newly committed words.

    Args:
        committed_time: time before which everything counts as committed, seconds.
        seam_tolerance: new words must start after `committed_time` minus this, seconds.
        seam_window: a repeated n-gram is looked for only when the new hypothesis starts
            within this many seconds of `committed_time`.
        max_ngram: longest run of words (1-5) that may be repeated at the seam.
        key: maps a word's text to what is compared between hypotheses.
        min_probability: a word the newer hypothesis gives a lower probability than this
            needs a third agreeing hypothesis (0 turns the check off), for at most
            `max_held` flushes in a row.
        max_held: flushes the check may hold back the commit before plain agreement of two
            hypotheses is enough again.
    """

    def __init__(
        self,
        *,
        committed_time: float = 0.0,
        seam_tolerance: float = 0.1,
        seam_window: float = 1.0,
        max_ngram: int = 5,
        key: KeyFunction = word_key,
        min_probability: float = 0.0,
        max_held: int = 2,
    ) -> None:
        self.committed_time = committed_time
        self.min_probability = min_probability
        self.max_held = max_held
        self._held = 0  # flushes the probability check held back since the last commit
        self.seam_tolerance = seam_tolerance
        self.seam_window = seam_window
        self.max_ngram = max_ngram
        self._key = key
        # The last committed words still inside the audio buffer; only the seam check reads
        # them, so `max_ngram` of them are all that is ever kept.
        self._tail: deque[Word] = deque(maxlen=max_ngram)
        self._previous: list[Word] = []
        self._older: list[Word] = []  # the hypothesis before `_previous`, aligned with it
        self._new: list[Word] = []
        self._inserted = False

    @property
    def pending(self) -> tuple[Word, ...]:
        """The uncommitted words of the latest hypothesis."""
        return tuple(self._previous)

    def insert(self, words: Iterable[Word]) -> None:
        """Take a new hypothesis (absolute times) for the next `flush`.

        Words that start before the committed point (less `seam_tolerance`) are already
        covered; if the rest begins with the last 1-`max_ngram` committed words again (the
        decoder re-read them across the seam), those repeated words are dropped too.

        Word timings move by a few tenths of a second between hypotheses, so the time rule
        alone can drop a new word that starts just before the committed point, or keep a
        re-read word placed after it. When the hypothesis itself re-reads the last 2 or more
        committed words near the seam, the seam is put right after them instead.
        """
        hypothesis = list(words)
        anchored = self._after_anchor(hypothesis)
        if anchored is None:
            anchored = self._after_reread_first_word(hypothesis)
        if anchored is not None:
            self._new = anchored
            self._inserted = True
            return
        fresh = [w for w in hypothesis if w.start > self.committed_time - self.seam_tolerance]
        if fresh and self._tail and abs(fresh[0].start - self.committed_time) < self.seam_window:
            tail = [self._key(w.word) for w in self._tail]
            # Longest first: when `a a` was committed and `a a b` follows, both repeats go.
            for n in range(min(len(tail), len(fresh), self.max_ngram), 0, -1):
                if tail[-n:] == [self._key(w.word) for w in fresh[:n]]:
                    del fresh[:n]
                    break
        self._new = fresh
        self._inserted = True

    def _after_anchor(self, hypothesis: list[Word]) -> list[Word] | None:
        """The words after the last 2-`max_ngram` committed words, if re-read at the seam.

        Only words from `seam_window` before the first remembered committed word count,
        and every word before the re-read run must be old audio (start before the
        committed point); the longest run wins, then the one nearest the seam.
        """
        if len(self._tail) < 2:
            return None
        horizon = self._tail[0].start - self.seam_window
        near = [w for w in hypothesis if w.start > horizon]
        old = 0
        while old < len(near) and near[old].start < self.committed_time:
            old += 1
        keys = [self._key(w.word) for w in near[: old + self.max_ngram]]
        tail = [self._key(w.word) for w in self._tail]
        for n in range(min(len(tail), self.max_ngram), 1, -1):
            for i in range(old, -1, -1):
                if keys[i : i + n] == tail[-n:]:
                    return near[i + n :]
        return None

    def _after_reread_first_word(self, hypothesis: list[Word]) -> list[Word] | None:
        """The words after the first, when the first re-reads the last committed word.

        A buffer cut at the start of the last committed word (see the online processor)
        begins by re-reading it; its copy overlaps the committed word in time. Anchoring
        on it keeps the next word even when the timings of this hypothesis put that word's
        start before the committed point, where the time rule would drop it.
        """
        if not hypothesis or not self._tail:
            return None
        first, last = hypothesis[0], self._tail[-1]
        overlaps = first.start < last.end and first.end > last.start
        if overlaps and self._key(first.word) == self._key(last.word):
            return hypothesis[1:]
        return None

    def flush(self) -> list[Word]:
        """Commit and return the longest common prefix of the last two hypotheses.

        The committed words are taken from the newer hypothesis (it heard more audio).
        A word the decoder itself doubts (probability below `min_probability`) is committed
        only when the hypothesis before those two agrees as well: on a second of audio
        after a pause Whisper may invent the same opening twice ("Thank you for watching")
        with probabilities near zero, then hear the real words once it has more audio.
        The check holds back at most `max_held` flushes in a row: a doubted first word that
        keeps changing must not hold back everything after it until the utterance ends.
        """
        agreed = 0
        check = self._held < self.max_held
        for i, (old, new) in enumerate(zip(self._previous, self._new, strict=False)):
            if self._key(old.word) != self._key(new.word):
                break
            if (
                check
                and new.probability < self.min_probability
                and not (
                    i < len(self._older) and self._key(self._older[i].word) == self._key(new.word)
                )
            ):
                self._held += 1
                break
            agreed += 1
        if agreed:
            self._held = 0
        committed = self._new[:agreed]
        self._older = self._previous[agreed:]
        self._previous = self._new[agreed:]
        self._new = []
        self._inserted = False
        self._commit(committed)
        return committed

    def complete(self) -> list[Word]:
        """Commit and return every pending word (the stream or utterance has ended).

        A hypothesis inserted but not yet flushed is flushed first, so its words win.
        """
        committed = self.flush() if self._inserted else []
        rest, self._previous, self._older = self._previous, [], []
        self._commit(rest)
        return committed + rest

    def pop_committed(self, time: float) -> None:
        """Forget committed words that end at or before `time` (they left the audio buffer)."""
        while self._tail and self._tail[0].end <= time:
            self._tail.popleft()

    def skip_to(self, time: float) -> None:
        """Move the committed point to `time` without committing: the audio before it is gone.

        Pending words that start before `time` are dropped; used when the buffer is cut
        where nothing was agreed, and when a new utterance starts.
        """
        self.committed_time = max(self.committed_time, time)
        self._previous = [w for w in self._previous if w.start >= time]
        self._older = [w for w in self._older if w.start >= time]
        self._new = [w for w in self._new if w.start >= time]

    def _commit(self, words: list[Word]) -> None:
        if words:
            self._tail.extend(words)
            self.committed_time = words[-1].end
