"""Score references against hypotheses: every metric, orthographic and normalised.

`score_texts()` is the one entry point: it normalises once, runs jiwer once per token unit
on the whole set, and returns an `EvalResult` holding per-utterance counts, from which every
corpus-level number is a sum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from yuyin.errors import ConfigurationError, InputError
from yuyin.eval.manifest import Skipped
from yuyin.eval.metrics import (
    CHARACTER_LANGUAGES,
    METRICS,
    UNITS,
    Counts,
    Unit,
    count_errors,
    has_cjk,
    metric_unit,
    mostly_unspaced,
    only_cjk,
    paused_gc,
)
from yuyin.eval.normalizers import BASIC, Normalizer, default_normalizer, get_normalizer
from yuyin.languages import resolve_language

__all__ = ["EvalResult", "UtteranceScore", "score_texts"]


@dataclass(frozen=True, slots=True)
class UtteranceScore:
    """One scored utterance.

    Attributes:
        id: the utterance id.
        reference: the reference as written.
        hypothesis: the hypothesis as written.
        normalized_reference: the reference after the normaliser.
        normalized_hypothesis: the hypothesis after the normaliser.
        orthographic: counts per token unit (`word`, `char`, `mixed`) on the written text.
        normalized: counts per token unit on the normalised text.
        audio: the audio file, when ASR produced the hypothesis.
        language: the utterance's language, when known.
        duration: audio length in seconds, when ASR produced the hypothesis.
        processing_time: seconds spent transcribing it, when ASR produced the hypothesis.
        line: the manifest line it came from.
    """

    id: str
    reference: str
    hypothesis: str
    normalized_reference: str
    normalized_hypothesis: str
    orthographic: Mapping[str, Counts]
    normalized: Mapping[str, Counts]
    audio: str | None = None
    language: str | None = None
    duration: float | None = None
    processing_time: float | None = None
    line: int = 0

    def score(self, metric: str, *, normalized: bool = True) -> float:
        """This utterance's value of `metric`.

        Args:
            metric: a metric name.
            normalized: on the normalised text (else the written text).
        """
        counts = self.normalized if normalized else self.orthographic
        return counts[metric_unit(metric)].rate(metric)


@dataclass(frozen=True, slots=True)
class EvalResult:
    """Scores of a whole evaluation run.

    Attributes:
        utterances: every scored utterance, in input order.
        metric: the primary metric (`wer`, `cer`, ...).
        normalizer: the normaliser's name.
        count_spaces: whether CER counted spaces.
        skipped: inputs left out, with their reasons.
        settings: what produced the hypotheses (model, options, versions), for reports.
    """

    utterances: tuple[UtteranceScore, ...]
    metric: str
    normalizer: str
    count_spaces: bool = False
    skipped: tuple[Skipped, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)

    def counts(self, unit: Unit, *, normalized: bool = True) -> Counts:
        """Corpus counts in `unit`: the sum over utterances.

        Args:
            unit: `word`, `char` or `mixed`.
            normalized: on the normalised text (else the written text).
        """
        total = Counts()
        for u in self.utterances:
            total += (u.normalized if normalized else u.orthographic)[unit]
        return total

    def score(self, metric: str | None = None, *, normalized: bool = True) -> float:
        """The corpus-level value of `metric` (default: the primary metric).

        Args:
            metric: a metric name, or None for the primary one.
            normalized: on the normalised text (else the written text).
        """
        name = metric or self.metric
        return self.counts(metric_unit(name), normalized=normalized).rate(name)

    @property
    def audio_seconds(self) -> float | None:
        """Total audio transcribed, in seconds (None when no ASR ran)."""
        known = [u.duration for u in self.utterances if u.duration is not None]
        return sum(known) if known else None

    @property
    def processing_seconds(self) -> float | None:
        """Total time spent transcribing, in seconds (None when no ASR ran)."""
        known = [u.processing_time for u in self.utterances if u.processing_time is not None]
        return sum(known) if known else None

    @property
    def real_time_factor(self) -> float | None:
        """Processing time / audio time (below 1 is faster than real time)."""
        audio, spent = self.audio_seconds, self.processing_seconds
        return spent / audio if audio and spent is not None else None

    def summary(self) -> dict[str, Any]:
        """The corpus summary `yuyin eval --json` prints (counts are the primary unit's)."""
        unit = metric_unit(self.metric)
        counts = self.counts(unit)
        rtf = self.real_time_factor
        return {
            "metric": self.metric,
            "score": self.score(),
            **{name: self.score(name) for name in METRICS},
            "unit": unit,
            **counts.to_dict(),
            "utterances": len(self.utterances),
            "skipped": len(self.skipped),
            "normalizer": self.normalizer,
            "count_spaces": self.count_spaces,
            "orthographic": {name: self.score(name, normalized=False) for name in METRICS},
            "audio_seconds": self.audio_seconds,
            "processing_seconds": self.processing_seconds,
            "rtf": rtf,
            "model": self.settings.get("model"),
        }


def _defaults(
    references: Sequence[str],
    languages: Sequence[str | None],
    language: str | None,
    normalizer: str | Normalizer,
    metric: str,
) -> tuple[list[Normalizer], str, str]:
    """Each utterance's normaliser, the normaliser's report name, and the primary metric.

    `auto` decides per utterance by its language (the set's `language` wins; unknown
    languages take what the reference texts suggest), so an English row gets the English
    normaliser and a Mandarin row the Chinese one. The primary metric is CER when every
    utterance is in a language scored by characters, WER when none is, and the mixed
    error rate (characters and words) when a set holds both.
    """
    guess: list[str | None] = []
    codes: dict[str | None, str | None] = {None: None}
    if language:
        codes[language] = resolve_language(language).code  # a bad choice is an error
    for value in [language] * len(references) if language else languages:
        if value not in codes:
            codes[value] = _code(value)
        guess.append(codes[value])
    fallback: Normalizer | None = None
    if isinstance(normalizer, Normalizer):
        norms = [normalizer] * len(references)
    elif normalizer != "auto":
        norms = [get_normalizer(normalizer)] * len(references)
    else:
        if None in guess:
            fallback = default_normalizer(None, references)
        norms = [default_normalizer(c) if c else fallback or BASIC for c in guess]
    names = sorted({n.name for n in norms})
    if metric == "auto":
        unspaced = mostly_unspaced(references)
        kinds = {(c in CHARACTER_LANGUAGES) if c else unspaced for c in guess}
        metric = "mixed" if len(kinds) > 1 else "cer" if kinds == {True} else "wer"
    metric_unit(metric)
    return norms, "+".join(names), metric


def _code(value: str | None) -> str | None:
    """A row's language code; a tag Whisper does not know (nan-TW) counts as unknown."""
    if not value:
        return None
    try:
        return resolve_language(value).code
    except ConfigurationError:
        return None


def _normalize(norms: list[Normalizer], texts: Sequence[str]) -> list[str]:
    if all(n is norms[0] for n in norms):
        return norms[0].many(texts)
    return [n(t) for n, t in zip(norms, texts, strict=True)]


def _count_units(
    refs: Sequence[str], hyps: Sequence[str], count_spaces: bool
) -> dict[str, list[Counts]]:
    words = count_errors(refs, hyps, "word")
    chars = count_errors(refs, hyps, "char", count_spaces=count_spaces)
    texts = (*refs, *hyps)
    # Mixed tokens are words when there is no CJK at all, and characters when there is
    # nothing but CJK; only code-switched text needs a third alignment.
    if not any(has_cjk(t) for t in texts):
        mixed = words
    elif not count_spaces and all(only_cjk(t) for t in texts):
        mixed = chars
    else:
        mixed = count_errors(refs, hyps, "mixed")
    return {"word": words, "char": chars, "mixed": mixed}


def score_texts(
    references: Sequence[str],
    hypotheses: Sequence[str],
    *,
    ids: Sequence[str] | None = None,
    languages: Sequence[str | None] | None = None,
    language: str | None = None,
    normalizer: str | Normalizer = "auto",
    metric: str = "auto",
    count_spaces: bool = False,
    skipped: Sequence[Skipped] = (),
    settings: Mapping[str, Any] | None = None,
) -> EvalResult:
    """Score hypotheses against references with every metric, as written and normalised.

    Args:
        references: reference texts (may not be empty as a whole).
        hypotheses: hypothesis texts, one per reference.
        ids: utterance ids (default: 1, 2, 3...).
        languages: each utterance's language, if known (picks the defaults below).
        language: the language of the whole set; overrides `languages` for the defaults.
        normalizer: `auto` (per utterance by language: english, chinese or basic; a set
            needing several is named like `chinese+english`), a built-in name (`none`,
            `basic`, `english`, `chinese`) or a `Normalizer`.
        metric: `auto` (CER for Chinese, Japanese, Korean, Thai; WER otherwise; the mixed
            error rate for a set holding both kinds) or a metric name.
        count_spaces: count one space between words as a character in CER.
        skipped: inputs already left out, carried into the result.
        settings: what produced the hypotheses, carried into reports.

    Raises:
        InputError: nothing to score (every input was skipped).
        ConfigurationError: unknown metric, normaliser or language; length mismatch.
    """
    if not references:
        reasons = "; ".join(str(s) for s in list(skipped)[:3])
        raise InputError(
            f"nothing to score: all {len(skipped)} inputs were skipped"
            if skipped
            else "nothing to score: no utterances",
            hint=reasons or "give at least one reference with a hypothesis",
        )
    lang_list = list(languages) if languages is not None else [None] * len(references)
    norms, norm_name, primary = _defaults(references, lang_list, language, normalizer, metric)
    orth = _count_units(references, hypotheses, count_spaces)
    if any(n.steps for n in norms):
        nrefs, nhyps = _normalize(norms, references), _normalize(norms, hypotheses)
        normd = _count_units(nrefs, nhyps, count_spaces)
    else:
        nrefs, nhyps, normd = list(references), list(hypotheses), orth
    n = len(references)
    id_list = list(ids) if ids is not None else [str(k + 1) for k in range(n)]
    with paused_gc():
        utterances = _utterances(
            id_list, lang_list, references, hypotheses, nrefs, nhyps, orth, normd
        )
    return EvalResult(
        utterances, primary, norm_name, count_spaces, tuple(skipped), dict(settings or {})
    )


def _utterances(
    ids: Sequence[str],
    languages: Sequence[str | None],
    refs: Sequence[str],
    hyps: Sequence[str],
    nrefs: Sequence[str],
    nhyps: Sequence[str],
    orth: Mapping[str, Sequence[Counts]],
    normd: Mapping[str, Sequence[Counts]],
) -> tuple[UtteranceScore, ...]:
    return tuple(
        UtteranceScore(
            id=ids[k],
            reference=refs[k],
            hypothesis=hyps[k],
            normalized_reference=nrefs[k],
            normalized_hypothesis=nhyps[k],
            orthographic={u: orth[u][k] for u in UNITS},
            normalized={u: normd[u][k] for u in UNITS},
            language=languages[k],
            line=k + 1,
        )
        for k in range(len(refs))
    )
