"""The online processor: LocalAgreement-2 over a rolling 16 kHz audio buffer.

Each step decodes the whole buffer, primed with the committed text that precedes it, and
commits what the last two hypotheses agree on. The buffer is then trimmed so that it never
grows past `buffer_trimming_sec` for long (see `OnlineProcessor._trim`), which keeps both
decoding time and memory flat over hours of audio. The audio lives in a `SampleBuffer`:
one preallocated array cut from the front by moving an index, so a step costs no
whole-buffer copy.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from yuyin.audio import SAMPLE_RATE
from yuyin.errors import ConfigurationError
from yuyin.languages import resolve_language
from yuyin.stream.agreement import HypothesisBuffer, word_key
from yuyin.stream.asr import StreamASR
from yuyin.stream.buffer import SampleBuffer
from yuyin.stream.events import EventType, StreamEvent, join_words
from yuyin.stream.latency import (
    LARGER_STEP,
    UNCOMMITTED_ONLY,
    LatencyMonitor,
    LatencyOptions,
)
from yuyin.stream.options import BUFFER_TRIMMING_MODES, StreamOptions
from yuyin.stream.sentences import group_sentences
from yuyin.text import convert_script, convert_segments
from yuyin.types import Segment, Word

__all__ = ["Clock", "OnlineProcessor", "StreamProcessor", "validate_stream_options"]

log = logging.getLogger(__name__)

#: Returns the current time on the stream timeline, seconds.
Clock = Callable[[], float]

#: Whisper's window: past it faster-whisper decodes the buffer in several windows.
_WHISPER_WINDOW_SEC = 30.0
#: Seconds of audio in which words were heard before the language is detected and locked.
DETECT_LANGUAGE_SEC = 2.0


class StreamProcessor(Protocol):
    """Anything that turns a live audio stream into events (plain, VAC, two-pass)."""

    def feed(self, samples: NDArray[np.float32]) -> list[StreamEvent]:
        """Take the next 16 kHz mono samples; decode if enough audio has gathered.

        Args:
            samples: the next float32 samples, any length.
        """
        ...

    def finish(self) -> list[StreamEvent]:
        """The stream has ended: decode and commit everything left."""
        ...


def validate_stream_options(options: StreamOptions) -> None:
    """Reject impossible stream settings with a message naming the flag.

    Raises:
        ConfigurationError: for the first bad value found.
    """
    if options.min_chunk_size <= 0:
        raise ConfigurationError(
            "--min-chunk-size must be above 0 seconds", hint="1.0 is a good start"
        )
    if options.buffer_trimming not in BUFFER_TRIMMING_MODES:
        raise ConfigurationError(
            f"unknown buffer trimming {options.buffer_trimming!r}",
            hint="use --buffer-trimming segment or --buffer-trimming sentence",
        )
    if options.buffer_trimming_sec <= options.min_chunk_size:
        raise ConfigurationError(
            "--buffer-trimming-sec must be longer than --min-chunk-size",
            hint="the default is 15 seconds",
        )
    if options.task not in ("transcribe", "translate"):
        raise ConfigurationError(
            f"unknown task {options.task!r}", hint="use --task transcribe or --task translate"
        )
    if options.beam_size < 1:
        raise ConfigurationError("--beam-size must be at least 1", hint="1 is greedy decoding")
    if not 0.0 <= options.min_word_probability <= 1.0:
        raise ConfigurationError(
            "min_word_probability must be between 0 and 1", hint="the default is 0.05"
        )
    if options.prompt_chars < 0:
        raise ConfigurationError("prompt_chars must be 0 or more", hint="the default is 200")
    resolve_language(options.language, options.zh_script)


class OnlineProcessor:
    """LocalAgreement-2 streaming over one recogniser.

    Feed audio with `feed` (or `insert_audio` + `process` to step by hand); call `finish`
    at the end. Not thread-safe: one processor per stream.

    Without a language, the recogniser detects it at each step until a step hears words in
    at least `DETECT_LANGUAGE_SEC` of audio; then the language is detected once on that
    buffer (if the recogniser has `detect_language`) and kept for the rest of the stream,
    new utterances included, so a pause or a short ambiguous phrase cannot flip it.

    Args:
        asr: the decoding step, e.g. `EngineASR(load_engine(ModelOptions("tiny.en")))`.
        options: language, step size, buffer trimming...
        offset: stream time of the first sample fed, seconds (e.g. `--start-at`).
        clock: the emission time of events; default: audio time received so far.
        timer: measures compute time, seconds (injectable for tests).
        monitor: the latency controller (shared with a two-pass wrapper).
        speech_only: the buffer holds one utterance of continuous speech (the voice-activity
            controller's processor): steps use the recogniser's `transcribe_speech`.
    """

    def __init__(
        self,
        asr: StreamASR,
        options: StreamOptions | None = None,
        *,
        offset: float = 0.0,
        clock: Clock | None = None,
        timer: Clock = time.perf_counter,
        monitor: LatencyMonitor | None = None,
        speech_only: bool = False,
    ) -> None:
        opts = options or StreamOptions()
        validate_stream_options(opts)
        choice = resolve_language(opts.language, opts.zh_script)
        self.options = opts
        #: The language decoded in: the one asked for, or the one detected and locked.
        self.language = choice.code
        self.zh_script = choice.zh_script
        self.monitor = monitor or LatencyMonitor(options=LatencyOptions(enabled=opts.adaptive))
        #: The voice-activity utterance being decoded (-1 without VAC).
        self.utterance = -1
        #: Decoding steps run so far.
        self.steps = 0
        #: The buffer holds one utterance of continuous speech: steps use the recogniser's
        #: `transcribe_speech` when it has one.
        self.speech_only = speech_only
        #: Seconds spent decoding so far.
        self.compute_sec = 0.0
        self._asr = asr
        self._clock = clock or (lambda: self.audio_time)
        self._timer = timer
        capacity = int((max(opts.buffer_trimming_sec, _WHISPER_WINDOW_SEC) + 10) * SAMPLE_RATE)
        self._audio = SampleBuffer(capacity)
        self._offset = offset
        self._pending = 0
        self._hyp = HypothesisBuffer(
            committed_time=offset, key=self._word_key, min_probability=opts.min_word_probability
        )
        self._committed: deque[Word] = deque()  # committed words still inside the buffer
        self._prompt: deque[str] = deque()  # committed text before the buffer, word by word
        self._prompt_len = 0
        self._segment_ends: list[float] = []

    # --- state ------------------------------------------------------------------------

    @property
    def buffer_start(self) -> float:
        """Stream time of the first sample in the buffer, seconds."""
        return self._offset

    @property
    def buffer_duration(self) -> float:
        """Seconds of audio in the buffer."""
        return self._audio.size / SAMPLE_RATE

    @property
    def buffer_capacity(self) -> int:
        """Samples the buffer's storage holds (grows only if a single feed is huge)."""
        return self._audio.capacity

    @property
    def audio_time(self) -> float:
        """Stream time of the end of the audio received, seconds."""
        return self._offset + self._audio.size / SAMPLE_RATE

    @property
    def committed_time(self) -> float:
        """End of the last committed word, seconds."""
        return self._hyp.committed_time

    @property
    def pending_sec(self) -> float:
        """Seconds of audio received since the last decoding step."""
        return self._pending / SAMPLE_RATE

    @property
    def step_sec(self) -> float:
        """Seconds of new audio that trigger a step (doubled when degraded)."""
        factor = 2.0 if self.monitor.active(LARGER_STEP) else 1.0
        return self.options.min_chunk_size * factor

    @property
    def pending_words(self) -> tuple[Word, ...]:
        """The unconfirmed tail of the latest hypothesis (not script-converted)."""
        return self._hyp.pending

    def _word_key(self, text: str) -> str:
        # Whisper may write 们 in one step and 們 in the next; compare in one script.
        script = self.zh_script or ("traditional" if self.language == "zh" else None)
        return word_key(convert_script(text, script) if script else text)

    def prompt(self) -> str:
        """The prompt for the next step: committed text before the buffer, last words first."""
        text = "".join(self._prompt).strip()
        return convert_script(text, self.zh_script) if self.zh_script and text else text

    # --- feeding ----------------------------------------------------------------------

    def insert_audio(self, samples: NDArray[np.float32]) -> None:
        """Append 16 kHz mono samples to the buffer without decoding.

        Args:
            samples: float32 samples in [-1, 1].
        """
        chunk = np.asarray(samples, dtype=np.float32).reshape(-1)
        self._audio.append(chunk)
        self._pending += chunk.size

    def feed(self, samples: NDArray[np.float32]) -> list[StreamEvent]:
        """Append samples and run a step once `step_sec` of new audio has gathered.

        Args:
            samples: float32 samples in [-1, 1], any length.
        """
        self.insert_audio(samples)
        if self._pending and self.pending_sec >= self.step_sec - 1e-9:
            return self.process()
        return []

    def process(self) -> list[StreamEvent]:
        """Run one decoding step on the buffer now; return the events it produced."""
        return self._step(trim=True)

    def finish(self) -> list[StreamEvent]:
        """Decode audio not yet decoded and commit every remaining word."""
        events = self._step(trim=False) if self._pending else []
        rest = self._hyp.complete()
        if rest:
            self._committed.extend(rest)
            events.append(self._event("committed", rest))
        return events

    def reset(self, offset: float) -> None:
        """Start a new stretch of audio at stream time `offset` (a new utterance).

        The committed text stays as the prompt; the buffer and hypotheses are cleared.

        Args:
            offset: stream time of the next sample fed, seconds.
        """
        while self._committed:
            self._add_prompt(self._committed.popleft())
        self._audio.clear(0)
        self._offset = offset
        self._pending = 0
        self._segment_ends = []
        self._hyp.skip_to(offset)
        self._hyp.pop_committed(offset - self._hyp.seam_window)

    # --- one step ---------------------------------------------------------------------

    def _step(self, *, trim: bool) -> list[StreamEvent]:
        audio_sec = self._pending / SAMPLE_RATE
        self._pending = 0
        if self._audio.size == 0:
            return []
        offset = self._offset
        started = self._timer()
        decode = self._asr.transcribe
        if self.speech_only and not self._may_cut_at_segments():
            decode = getattr(self._asr, "transcribe_speech", decode)
        segments: Sequence[Segment] = decode(
            self._audio.view(), prompt=self.prompt(), language=self.language
        )
        if self.language is None and self.buffer_duration >= DETECT_LANGUAGE_SEC:
            self._lock_language(segments)
        compute = self._timer() - started
        self.steps += 1
        self.compute_sec += compute
        words = [
            Word(w.start + offset, w.end + offset, w.word, w.probability)
            for s in segments
            for w in s.words
        ]
        self._segment_ends = [s.end + offset for s in segments]
        self._hyp.insert(words)
        committed = self._hyp.flush()
        self._committed.extend(committed)
        events: list[StreamEvent] = []
        if committed:
            events.append(self._event("committed", committed))
        if self.options.partials and self._hyp.pending:
            events.append(self._event("partial", list(self._hyp.pending)))
        change = self.monitor.record(compute, audio_sec)
        if change is not None:
            now = self.audio_time
            events.append(
                StreamEvent("status", now, now, "", (), self._clock(), self.utterance, change)
            )
        if trim:
            self._trim()
        return events

    def _lock_language(self, segments: Sequence[Segment]) -> None:
        detect = getattr(self._asr, "detect_language", None)
        if detect is None or not any(s.words for s in segments):
            return  # no words yet: maybe silence, which Whisper often calls English
        language, probability = detect(self._audio.view())
        self.language = language
        log.info("stream language: %s (probability %.2f), kept from now on", language, probability)

    def _event(self, kind: EventType, words: list[Word]) -> StreamEvent:
        timed = tuple(words)
        if self.zh_script:
            segment = Segment(timed[0].start, timed[-1].end, join_words(timed), timed)
            timed = convert_segments((segment,), self.zh_script)[0].words
        return StreamEvent(
            type=kind,
            start=timed[0].start,
            end=timed[-1].end,
            text=join_words(timed),
            words=timed,
            emission_time=self._clock(),
            utterance=self.utterance,
            degradation=self.monitor.state,
        )

    # --- trimming ---------------------------------------------------------------------

    def _trim(self) -> None:
        """Cut the buffer so it stays short.

        Past `buffer_trimming_sec`: `segment` mode cuts after the last complete segment that
        ends before the last committed word, else at the last committed word; `sentence`
        mode keeps the last two committed sentences (the second may be unfinished), and
        falls back to the segment rules past 30 s. When nothing is committed in the buffer
        at all, the first half of a buffer longer than 30 s is dropped (never agreed).
        """
        committed = self._hyp.committed_time
        if self.monitor.active(UNCOMMITTED_ONLY) and committed > self._offset:
            self._cut(self._word_cut())
            return
        duration = self.buffer_duration
        limit = self.options.buffer_trimming_sec
        if duration <= limit:
            return
        hard = max(_WHISPER_WINDOW_SEC, limit)
        sentence_mode = self.options.buffer_trimming == "sentence"
        cut = self._sentence_cut() if sentence_mode else None
        if cut is None and (not sentence_mode or duration > hard):
            cut = self._segment_cut()
            if cut is None and committed > self._offset:
                cut = self._word_cut()
        if cut is not None:
            self._cut(cut)
        elif duration > hard:
            half = self._offset + duration / 2
            log.info("nothing agreed in %.1f s of audio; dropping it up to %.2f s", duration, half)
            self._hyp.skip_to(half)
            self._cut(half)

    def _may_cut_at_segments(self) -> bool:
        """Whether the trim after this step may look for Whisper segment ends."""
        limit = self.options.buffer_trimming_sec
        if self.options.buffer_trimming == "sentence":
            limit = max(limit, _WHISPER_WINDOW_SEC)
        return self.buffer_duration > limit

    def _segment_cut(self) -> float | None:
        ends = [e for e in self._segment_ends if e > self._offset]
        committed = self._hyp.committed_time
        # The last segment is still being heard; the end of an earlier one that is wholly
        # committed is a clean place to cut.
        candidates = [e for e in ends[:-1] if e <= committed]
        return candidates[-1] if candidates else None

    def _word_cut(self) -> float:
        """Where to cut mid-speech: the start of the last two committed words, not their end.

        Word times are rough and a pause is often absorbed into a word, so a cut at the
        committed time clips the onset of the next word ("the | block" heard as "the book"),
        and a cut at the start of the last word can clip that word's own onset, which then
        drags the next word with it. The decoder re-reads the two kept words; the seam
        check recognises them and keeps what follows.
        """
        kept = list(self._committed)[-2:]
        for word in kept:
            if word.start > self._offset:
                return word.start
        return self._hyp.committed_time

    def _sentence_cut(self) -> float | None:
        # Keep the last two committed sentences (the last may be unfinished) as context.
        sentences = group_sentences(list(self._committed))
        if len(sentences) < 3:
            return None
        end = sentences[-3][-1].end
        return end if end > self._offset else None

    def _cut(self, time_sec: float) -> None:
        samples = round((time_sec - self._offset) * SAMPLE_RATE)
        samples = min(samples, self._audio.size)
        if samples <= 0:
            return
        self._audio.drop_until(self._audio.start + samples)
        self._offset += samples / SAMPLE_RATE
        self._hyp.pop_committed(self._offset)
        while self._committed and self._committed[0].end <= self._offset + 1e-6:
            self._add_prompt(self._committed.popleft())
        self._segment_ends = [e for e in self._segment_ends if e > self._offset]

    def _add_prompt(self, word: Word) -> None:
        limit = self.options.prompt_chars
        self._prompt.append(word.word)
        self._prompt_len += len(word.word)
        while self._prompt and self._prompt_len > limit:
            self._prompt_len -= len(self._prompt.popleft())
