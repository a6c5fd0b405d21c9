"""Two-pass streaming: fast partials while someone speaks, an accurate final at each pause.

A small model (e.g. tiny.en) runs the voice-activity controlled LocalAgreement-2 loop and
its text is shown as `partial` events for the current utterance; when the utterance ends,
a second, more accurate model decodes its audio once, and the `final` event replaces the
partials. When compute falls behind real time the second pass is the first thing given up
(finals then keep the fast model's text), then committed audio is no longer re-decoded,
then the step grows; each change is reported as a `status` event and undone when it can be.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque

import numpy as np
from numpy.typing import NDArray

from yuyin.languages import resolve_language
from yuyin.stream.asr import StreamASR
from yuyin.stream.events import StreamEvent, join_words
from yuyin.stream.latency import (
    LARGER_STEP,
    SECOND_PASS_SKIPPED,
    UNCOMMITTED_ONLY,
    LatencyMonitor,
    LatencyOptions,
)
from yuyin.stream.options import StreamOptions, VacOptions
from yuyin.stream.processor import Clock
from yuyin.stream.vac import SpeechDetector, Utterance, VacProcessor
from yuyin.text import convert_script, convert_segments
from yuyin.types import Segment, Word

__all__ = ["TwoPassProcessor"]


class TwoPassProcessor:
    """Partials from a fast recogniser, finals from an accurate one, per utterance.

    Args:
        fast: the recogniser for partials (small, e.g. tiny.en).
        accurate: the recogniser for finals (larger, e.g. base).
        options: the stream options (apply to both passes).
        vac: voice-activity thresholds; utterances end at pauses or `max_utterance_sec`.
        offset: stream time of the first sample fed, seconds.
        clock: emission time of events; default: audio time received so far.
        timer: measures compute time (injectable for tests).
        detector: the speech detector (default: Silero).
        latency: when to degrade; default enabled unless `options.adaptive` is False.
    """

    def __init__(
        self,
        fast: StreamASR,
        accurate: StreamASR,
        options: StreamOptions | None = None,
        vac: VacOptions | None = None,
        *,
        offset: float = 0.0,
        clock: Clock | None = None,
        timer: Clock = time.perf_counter,
        detector: SpeechDetector | None = None,
        latency: LatencyOptions | None = None,
    ) -> None:
        opts = dataclasses.replace(options or StreamOptions(), partials=True)
        self.monitor = LatencyMonitor(
            ladder=(SECOND_PASS_SKIPPED, UNCOMMITTED_ONLY, LARGER_STEP),
            options=latency or LatencyOptions(enabled=opts.adaptive),
        )
        self._vac = VacProcessor(
            fast,
            opts,
            vac,
            offset=offset,
            clock=clock,
            timer=timer,
            monitor=self.monitor,
            detector=detector,
            keep_utterance_audio=True,
        )
        choice = resolve_language(opts.language, opts.zh_script)
        self._language = choice.code
        self._script = choice.zh_script
        self._accurate = accurate
        self._timer = timer
        self._prompt_chars = opts.prompt_chars
        self._prompt: deque[str] = deque()
        self._prompt_len = 0
        self._committed: list[Word] = []
        #: Utterances re-decoded by the accurate model so far.
        self.second_passes = 0
        self._second_pass_sec = 0.0

    @property
    def compute_sec(self) -> float:
        """Seconds spent decoding so far, both passes."""
        return self._vac.compute_sec + self._second_pass_sec

    def feed(self, samples: NDArray[np.float32]) -> list[StreamEvent]:
        """Take the next 16 kHz samples; return partials, finals and status events.

        Args:
            samples: float32 samples, any length.
        """
        return self._translate(self._vac.feed(samples))

    def finish(self) -> list[StreamEvent]:
        """End of stream: finalise the open utterance."""
        return self._translate(self._vac.finish())

    def _translate(self, events: list[StreamEvent]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        utterances = {u.index: u for u in self._vac.pop_utterances()}
        for event in events:
            if event.type == "committed":
                self._committed.extend(event.words)
                out.append(self._partial(event, ()))
            elif event.type == "partial":
                out.append(self._partial(event, event.words))
            elif event.type == "final":
                out.extend(self._final(event, utterances.get(event.utterance)))
                self._committed = []
            else:
                out.append(event)
        # A step yields its committed words and then its tail: show only the fuller partial.
        return [
            e
            for i, e in enumerate(out)
            if not (e.type == "partial" and i + 1 < len(out) and out[i + 1].type == "partial")
        ]

    def _partial(self, event: StreamEvent, tail: tuple[Word, ...]) -> StreamEvent:
        words = (*self._committed, *tail)
        if not words:
            return event
        return dataclasses.replace(
            event,
            type="partial",
            start=words[0].start,
            end=words[-1].end,
            text=join_words(words),
            words=words,
        )

    def _final(self, fast_final: StreamEvent, utterance: Utterance | None) -> list[StreamEvent]:
        if self.monitor.active(SECOND_PASS_SKIPPED) or utterance is None:
            final = dataclasses.replace(fast_final, degradation=self.monitor.state)
            self._remember(final.words)
            return [final]
        started = self._timer()
        # Without a language given, the fast pass's locked (detected) one is used.
        language = self._language or self._vac.processor.language
        segments = self._accurate.transcribe(
            utterance.audio, prompt=self._prompt_text(), language=language
        )
        compute = self._timer() - started
        self.second_passes += 1
        self._second_pass_sec += compute
        words = tuple(
            Word(w.start + utterance.start, w.end + utterance.start, w.word, w.probability)
            for s in segments
            for w in s.words
        )
        if self._script and words:
            segment = Segment(words[0].start, words[-1].end, join_words(words), words)
            words = convert_segments((segment,), self._script)[0].words
        self._remember(words)
        change = self.monitor.record(compute, 0.0)
        final = StreamEvent(
            "final",
            utterance.start,
            utterance.end,
            join_words(words),
            words,
            self._vac.clock(),
            utterance.index,
            self.monitor.state,
        )
        if change is None:
            return [final]
        now = self._vac.clock()
        return [final, StreamEvent("status", now, now, "", (), now, utterance.index, change)]

    def _remember(self, words: tuple[Word, ...]) -> None:
        for word in words:
            self._prompt.append(word.word)
            self._prompt_len += len(word.word)
        while self._prompt and self._prompt_len > self._prompt_chars:
            self._prompt_len -= len(self._prompt.popleft())

    def _prompt_text(self) -> str:
        text = "".join(self._prompt).strip()
        return convert_script(text, self._script) if self._script and text else text
