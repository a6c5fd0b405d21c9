"""Error rates on top of jiwer: edit counts per utterance, corpus rates from summed counts.

jiwer (rapidfuzz underneath) computes every alignment; this module only tokenises, keeps
the per-utterance counts jiwer's alignments imply, and turns summed counts into rates. A
corpus rate is always `sum(errors) / sum(reference tokens)`, never a mean of per-utterance
rates, so long utterances weigh what they should.

Three token units:

    word    whitespace-separated words (WER, MER, WIL, WIP)
    char    characters; whitespace ignored unless `count_spaces` (CER)
    mixed   each CJK character is a token and each run of other non-space characters is a
            token (the "mixed error rate" of code-switched Mandarin/English, issue #3)
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import jiwer

from yuyin.errors import ConfigurationError
from yuyin.languages import resolve_language

__all__ = [
    "CHARACTER_LANGUAGES",
    "METRICS",
    "UNITS",
    "AlignedSpan",
    "Counts",
    "align",
    "count_errors",
    "default_metric",
    "join_tokens",
    "metric_unit",
    "tokenize",
]

Unit = Literal["word", "char", "mixed"]

#: Token units, in the order reports list them.
UNITS: tuple[Unit, ...] = ("word", "char", "mixed")

#: Every metric and the unit it counts. `mer` is jiwer's match error rate; the mixed
#: error rate of code-switching papers is called `mixed` here so the names never clash.
METRICS: dict[str, Unit] = {
    "wer": "word",
    "cer": "char",
    "mer": "word",
    "wil": "word",
    "wip": "word",
    "mixed": "mixed",
}

#: Languages written without spaces between words (plus Korean, by convention), whose
#: default metric is CER.
CHARACTER_LANGUAGES = frozenset({"zh", "yue", "ja", "ko", "th"})

# Han, kana and Hangul: the characters that are tokens on their own in the mixed unit.
_CJK_CLASS = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
)
_MIXED_TOKEN = re.compile(f"[{_CJK_CLASS}]|[^\\s{_CJK_CLASS}]+")
_HAS_CJK = re.compile(f"[{_CJK_CLASS}]")
_HAS_NON_CJK = re.compile(f"[^\\s{_CJK_CLASS}]")
_SPACE_LANG = re.compile(r"[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")
_CHAR_LANG = re.compile(f"[{_CJK_CLASS}\u0e00-\u0e7f]")


@dataclass(frozen=True, slots=True)
class Counts:
    """Edit-operation counts of one utterance or a whole corpus, and the rates they give.

    Attributes:
        hits: reference tokens recognised correctly.
        substitutions: reference tokens recognised as another token.
        deletions: reference tokens missing from the hypothesis.
        insertions: hypothesis tokens with no reference token.
    """

    hits: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.hits + other.hits,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
        )

    @property
    def reference_length(self) -> int:
        """Tokens in the reference (hits + substitutions + deletions)."""
        return self.hits + self.substitutions + self.deletions

    @property
    def hypothesis_length(self) -> int:
        """Tokens in the hypothesis (hits + substitutions + insertions)."""
        return self.hits + self.substitutions + self.insertions

    @property
    def errors(self) -> int:
        """Substitutions + deletions + insertions."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def error_rate(self) -> float:
        """Errors per reference token (WER/CER); may exceed 1. An empty reference gives
        the number of insertions, as jiwer does."""
        n = self.reference_length
        return self.errors / n if n else float(self.insertions)

    @property
    def match_error_rate(self) -> float:
        """Errors per aligned position (MER), between 0 and 1."""
        n = self.errors + self.hits
        return self.errors / n if n else 0.0

    @property
    def word_information_preserved(self) -> float:
        """WIP: (hits / reference length) * (hits / hypothesis length), between 0 and 1."""
        ref, hyp = self.reference_length, self.hypothesis_length
        if ref == 0 or hyp == 0:
            return 1.0 if ref == hyp else 0.0
        return (self.hits / ref) * (self.hits / hyp)

    @property
    def word_information_lost(self) -> float:
        """WIL: 1 - WIP."""
        return 1.0 - self.word_information_preserved

    def rate(self, metric: str) -> float:
        """The value of `metric` (`wer`, `cer`, `mixed`: error rate; `mer`, `wil`, `wip`)."""
        if metric == "mer":
            return self.match_error_rate
        if metric == "wil":
            return self.word_information_lost
        if metric == "wip":
            return self.word_information_preserved
        metric_unit(metric)
        return self.error_rate

    def to_dict(self) -> dict[str, int]:
        """The counts as a JSON-ready dictionary (with the reference length)."""
        return {
            "hits": self.hits,
            "substitutions": self.substitutions,
            "deletions": self.deletions,
            "insertions": self.insertions,
            "reference_length": self.reference_length,
        }


def metric_unit(metric: str) -> Unit:
    """The token unit a metric counts.

    Raises:
        ConfigurationError: an unknown metric name.
    """
    try:
        return METRICS[metric]
    except KeyError:
        raise ConfigurationError(
            f"unknown metric {metric!r}", hint="use one of: " + ", ".join(METRICS)
        ) from None


def tokenize(text: str, unit: Unit, *, count_spaces: bool = False) -> list[str]:
    """Split `text` into the tokens `unit` counts.

    Args:
        text: one utterance.
        unit: `word`, `char` or `mixed`.
        count_spaces: for `char`, keep one space between words as a character (jiwer's
            CER); by default whitespace is not a character.
    """
    if unit == "word":
        return text.split()
    if unit == "char":
        return list((" " if count_spaces else "").join(text.split()))
    return _MIXED_TOKEN.findall(text)


def join_tokens(tokens: Sequence[str], unit: Unit) -> str:
    """Join tokens back into readable text (no spaces between characters or CJK tokens)."""
    if unit == "char":
        return "".join(tokens)
    out = ""
    for token in tokens:
        if out and not (_HAS_CJK.match(token) or _HAS_CJK.match(out[-1])):
            out += " "
        out += token
    return out


class _Tokenizer(jiwer.AbstractTransform):
    """A jiwer transform that turns each sentence into our tokens in one step."""

    def __init__(self, unit: Unit, count_spaces: bool) -> None:
        self.unit = unit
        self.count_spaces = count_spaces

    def process_string(self, s: str) -> list[str]:
        return tokenize(s, self.unit, count_spaces=self.count_spaces)


def _effective_unit(references: Sequence[str], hypotheses: Sequence[str], unit: Unit) -> Unit:
    # Mixed tokens equal words when no text has CJK; skip the regex tokeniser then.
    if unit == "mixed" and not any(_HAS_CJK.search(t) for t in (*references, *hypotheses)):
        return "word"
    return unit


def count_errors(
    references: Sequence[str],
    hypotheses: Sequence[str],
    unit: Unit = "word",
    *,
    count_spaces: bool = False,
) -> list[Counts]:
    """Align each reference with its hypothesis (jiwer) and return per-utterance counts.

    Sum the result for corpus counts. Empty references are allowed (every hypothesis
    token is then an insertion).

    Args:
        references: reference texts.
        hypotheses: hypothesis texts, one per reference.
        unit: `word`, `char` or `mixed` tokens.
        count_spaces: for `char`, count one space between words as a character.

    Raises:
        ConfigurationError: the two sequences differ in length.
    """
    if len(references) != len(hypotheses):
        raise ConfigurationError(
            f"{len(references)} references but {len(hypotheses)} hypotheses",
            hint="give exactly one hypothesis per reference",
        )
    if not references:
        return []
    unit = _effective_unit(references, hypotheses, unit)
    transform = _Tokenizer(unit, count_spaces)
    refs, hyps = list(references), list(hypotheses)
    with paused_gc():
        if unit == "char":
            alignments = jiwer.process_characters(refs, hyps, transform, transform).alignments
        else:
            alignments = jiwer.process_words(refs, hyps, transform, transform).alignments
        return [_chunk_counts(chunks) for chunks in alignments]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while scoring allocates many small objects.

    jiwer makes an alignment object per edit chunk; on 10,000 utterances the collector,
    triggered every few hundred allocations, took about a third of the time while finding
    no cycles to free (bench/eval.py). Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunk_counts(chunks: Iterable[jiwer.AlignmentChunk]) -> Counts:
    hits = subs = dels = ins = 0
    for c in chunks:
        kind = c.type
        if kind == "equal":
            hits += c.ref_end_idx - c.ref_start_idx
        elif kind == "substitute":
            subs += c.ref_end_idx - c.ref_start_idx
        elif kind == "delete":
            dels += c.ref_end_idx - c.ref_start_idx
        else:
            ins += c.hyp_end_idx - c.hyp_start_idx
    return Counts(hits, subs, dels, ins)


@dataclass(frozen=True, slots=True)
class AlignedSpan:
    """One stretch of an alignment: `equal`, `substitute`, `insert` or `delete`."""

    op: str
    reference: tuple[str, ...]
    hypothesis: tuple[str, ...]


def align(
    reference: str, hypothesis: str, unit: Unit = "word", *, count_spaces: bool = False
) -> list[AlignedSpan]:
    """The token alignment of one pair, for showing where the errors are.

    Args:
        reference: the reference text.
        hypothesis: the hypothesis text.
        unit: `word`, `char` or `mixed` tokens.
        count_spaces: for `char`, count one space between words as a character.
    """
    transform = _Tokenizer(unit, count_spaces)
    out = jiwer.process_words([reference], [hypothesis], transform, transform)
    ref, hyp = out.references[0], out.hypotheses[0]
    return [
        AlignedSpan(
            c.type,
            tuple(ref[c.ref_start_idx : c.ref_end_idx]),
            tuple(hyp[c.hyp_start_idx : c.hyp_end_idx]),
        )
        for c in out.alignments[0]
    ]


def default_metric(language: str | None, texts: Iterable[str] = ()) -> str:
    """The primary metric for a language: CER for Chinese, Japanese, Korean and Thai, else WER.

    Args:
        language: a language code or name (`zh-TW`, `en`...); None guesses from `texts`.
        texts: reference texts, used only when `language` is None: CER when most of
            their letters are CJK or Thai.

    Raises:
        ConfigurationError: an unknown language.
    """
    code = resolve_language(language).code if language else None
    if code is None:
        return "cer" if mostly_unspaced(texts) else "wer"
    return "cer" if code in CHARACTER_LANGUAGES else "wer"


def mostly_unspaced(texts: Iterable[str]) -> bool:
    """Whether most letters of `texts` belong to scripts written without spaces (CJK, Thai)."""
    unspaced = spaced = 0
    for text in texts:
        unspaced += len(_CHAR_LANG.findall(text))
        spaced += len(_SPACE_LANG.findall(text))
    return unspaced > spaced


def has_cjk(text: str) -> bool:
    """Whether `text` holds a Han, kana or Hangul character."""
    return _HAS_CJK.search(text) is not None


def only_cjk(text: str) -> bool:
    """Whether every non-space character of `text` is a Han, kana or Hangul character."""
    return _HAS_NON_CJK.search(text) is None
