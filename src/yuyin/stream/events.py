"""What a live stream emits: partial, committed and final text, and latency status.

All times are float seconds on the stream's audio timeline (the input's own time, so a
stream started with `start_at=60` reports words from 60 s on). `emission_time` is when the
event was produced on that same timeline: the audio time received so far in
computation-unaware replay, or the wall clock since the stream started in real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from yuyin.types import Word

__all__ = ["Degradation", "EventType", "StreamEvent", "join_words"]

#: `partial`: provisional text that may still change; `committed`: words LocalAgreement-2
#: confirmed, never revised; `final`: an utterance finished (two-pass: re-decoded by the
#: accurate model, replacing its partials); `status`: the latency controller changed level.
EventType = Literal["partial", "committed", "final", "status"]


@dataclass(frozen=True, slots=True)
class Degradation:
    """How far the stream has stepped down to keep up with real time (level 0: not at all).

    Attributes:
        level: 0 normal; each level switches on one more action of the ladder.
        compute_ratio: compute time / audio time over the recent window (1.0 = just real time).
        actions: the actions now in force, e.g. `larger-step`, `uncommitted-only`,
            `second-pass-skipped`.
    """

    level: int = 0
    compute_ratio: float = 0.0
    actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One thing a stream emitted.

    Attributes:
        type: `partial`, `committed`, `final` or `status` (see `EventType`).
        start: start of the first word (finals: of the utterance), seconds.
        end: end of the last word (finals: of the utterance), seconds.
        text: the words joined (no space between CJK characters), script-converted.
        words: the words with their timings.
        emission_time: when the event was emitted, seconds on the stream timeline.
        utterance: index of the voice-activity utterance it belongs to; -1 without VAC.
        degradation: the latency controller's state when the event was emitted.
    """

    type: EventType
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    emission_time: float = 0.0
    utterance: int = -1
    degradation: Degradation = Degradation()


def join_words(words: tuple[Word, ...] | list[Word]) -> str:
    """Join Whisper words (English ones carry their leading space) into display text."""
    return "".join(w.word for w in words).strip()
