"""Measuring a stream: commit latency per word and error rates against a reference text."""

from __future__ import annotations

import statistics
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import jiwer

from yuyin.stream.events import StreamEvent
from yuyin.text import convert_script
from yuyin.types import is_cjk

__all__ = ["ErrorRates", "LatencyStats", "commit_latency", "error_rates"]


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Commit delay per word: emission time minus the word's end time, seconds."""

    words: int
    median: float
    p90: float
    max: float


@dataclass(frozen=True, slots=True)
class ErrorRates:
    """Word and character error rates after normalisation (0.0 is perfect)."""

    wer: float
    cer: float


def commit_latency(events: Iterable[StreamEvent], kind: str = "committed") -> LatencyStats:
    """Median, 90th percentile and maximum delay between a word's end and its emission.

    Args:
        events: what the stream emitted.
        kind: which events count (`committed`, or `final` in two-pass mode).
    """
    delays = sorted(
        max(0.0, e.emission_time - w.end) for e in events if e.type == kind for w in e.words
    )
    if not delays:
        return LatencyStats(0, 0.0, 0.0, 0.0)
    p90 = delays[min(len(delays) - 1, round(0.9 * (len(delays) - 1)))]
    return LatencyStats(len(delays), statistics.median(delays), p90, delays[-1])


def _normalise(text: str) -> str:
    folded = convert_script(unicodedata.normalize("NFKC", text), "traditional").casefold()
    kept = "".join(c if unicodedata.category(c)[0] in "LNM" else " " for c in folded)
    # Put spaces around CJK characters so each counts as a word for WER too.
    spaced = "".join(f" {c} " if is_cjk(c) else c for c in kept)
    return " ".join(spaced.split())


def error_rates(hypothesis: str, reference: str) -> ErrorRates:
    """WER and CER of `hypothesis` against `reference`, case- and punctuation-blind.

    Chinese is compared in Traditional script with each character counted as a word.

    Args:
        hypothesis: the recognised text.
        reference: the correct text.
    """
    ref, hyp = _normalise(reference), _normalise(hypothesis)
    if not ref:
        return ErrorRates(float(bool(hyp)), float(bool(hyp)))
    wer = float(jiwer.wer(ref, hyp))
    cer = float(jiwer.cer(ref.replace(" ", ""), hyp.replace(" ", "") or " "))
    return ErrorRates(wer, cer)
