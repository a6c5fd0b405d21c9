"""The voice-activity controller: decode only while someone speaks, finalise at each pause.

Silero VAD (the ONNX model bundled with faster-whisper) classifies 512-sample (32 ms)
windows as they arrive, its recurrent state and 64-sample context carried from call to call,
so probabilities are the same as for one pass over the whole recording. Speech starts at
probability >= 0.5 and ends after 500 ms below 0.35 (with hysteresis: a window between the
two neither starts nor interrupts the silence count); 100 ms of padding is kept on both
sides and 1 s of audio is kept during silence, so a late detection loses no onset. Audio
reaches the recogniser only during speech: silence costs one tiny VAD call per window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from yuyin.audio import SAMPLE_RATE
from yuyin.stream.asr import StreamASR
from yuyin.stream.buffer import SampleBuffer
from yuyin.stream.events import StreamEvent, join_words
from yuyin.stream.latency import LatencyMonitor
from yuyin.stream.options import StreamOptions, VacOptions
from yuyin.stream.processor import Clock, OnlineProcessor
from yuyin.types import Word

__all__ = ["SileroStream", "SpeechDetector", "Utterance", "VacProcessor"]

#: Samples per Silero window at 16 kHz.
WINDOW = 512
_CONTEXT = 64

#: Speech probabilities for consecutive (n, 512) windows, state carried between calls.
ProbabilityFunction = Callable[[NDArray[np.float32]], NDArray[np.float32]]


class SileroStream:
    """Silero VAD run window by window with its LSTM state kept between calls."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session: Any = get_vad_model().session  # shared, thread-safe ONNX session
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def __call__(self, windows: NDArray[np.float32]) -> NDArray[np.float32]:
        """Speech probability of each of `windows` (shape (n, 512)), in order.

        Args:
            windows: consecutive 32 ms windows of 16 kHz audio.
        """
        # Each window is preceded by the last 64 samples of the one before it, as the model
        # was trained; the model runs the batch in order, threading h and c through it.
        contexts = np.concatenate([self._context[None, :], windows[:-1, -_CONTEXT:]])
        batch = np.concatenate([contexts, windows], axis=1)
        probs, self._h, self._c = self._session.run(
            None, {"input": batch, "h": self._h, "c": self._c}
        )
        self._context = windows[-1, -_CONTEXT:].copy()
        return np.asarray(probs, dtype=np.float32).reshape(-1)


class SpeechDetector:
    """Finds where speech starts and ends in a stream, window by window.

    Args:
        options: thresholds, silence and padding.
        probabilities: the per-window model (default: a fresh `SileroStream`).
    """

    def __init__(
        self, options: VacOptions | None = None, probabilities: ProbabilityFunction | None = None
    ) -> None:
        self.options = options or VacOptions()
        self._probabilities = probabilities or SileroStream()
        self._leftover = np.zeros(0, dtype=np.float32)
        self._pad = self.options.speech_pad_ms * SAMPLE_RATE // 1000
        self._min_silence = self.options.min_silence_ms * SAMPLE_RATE // 1000
        #: Samples classified so far (whole windows).
        self.position = 0
        #: Whether the detector is inside speech.
        self.speaking = False
        self._silence_from: int | None = None
        self._last_end = 0

    def feed(self, samples: NDArray[np.float32]) -> list[tuple[str, int]]:
        """Classify the new samples; return `("start" | "end", sample index)` boundaries.

        Starts are padded back and ends padded forward by `speech_pad_ms`; indexes count
        samples since the first one fed.

        Args:
            samples: the next float32 samples, any length.
        """
        audio = np.concatenate([self._leftover, np.asarray(samples, dtype=np.float32)])
        count = audio.size // WINDOW
        self._leftover = audio[count * WINDOW :]
        if count == 0:
            return []
        probs = self._probabilities(audio[: count * WINDOW].reshape(count, WINDOW))
        opts = self.options
        boundaries: list[tuple[str, int]] = []
        for prob in probs:
            window_start = self.position
            self.position += WINDOW
            if not self.speaking:
                if prob >= opts.start_threshold:
                    self.speaking = True
                    self._silence_from = None
                    start = max(self._last_end, window_start - self._pad)
                    boundaries.append(("start", start))
            elif prob >= opts.start_threshold:
                self._silence_from = None
            elif prob < opts.end_threshold:
                if self._silence_from is None:
                    self._silence_from = window_start
                if self.position - self._silence_from >= self._min_silence:
                    self.speaking = False
                    self._last_end = self._silence_from + self._pad
                    self._silence_from = None
                    boundaries.append(("end", self._last_end))
        return boundaries


@dataclass(frozen=True, slots=True, eq=False)
class Utterance:
    """One stretch of speech the controller finalised, with its audio (two-pass keeps it)."""

    index: int
    start: float
    end: float
    audio: NDArray[np.float32]


class VacProcessor:
    """An `OnlineProcessor` that only hears speech and finalises each utterance.

    Emits the processor's `committed` events while someone speaks and one `final` event
    per utterance (its committed words, start and end) once they pause.

    Args:
        asr: the decoding step.
        options: the stream options (step size, language, trimming...).
        vac: the voice-activity thresholds.
        offset: stream time of the first sample fed, seconds.
        clock: emission time of events; default: audio time received so far.
        timer: measures compute time (injectable for tests).
        monitor: the latency controller (shared with a two-pass wrapper).
        detector: the speech detector (default: Silero with `vac`).
        keep_utterance_audio: keep each utterance's audio for `pop_utterances`.
    """

    def __init__(
        self,
        asr: StreamASR,
        options: StreamOptions | None = None,
        vac: VacOptions | None = None,
        *,
        offset: float = 0.0,
        clock: Clock | None = None,
        timer: Clock = time.perf_counter,
        monitor: LatencyMonitor | None = None,
        detector: SpeechDetector | None = None,
        keep_utterance_audio: bool = False,
    ) -> None:
        self.vac = vac or VacOptions()
        self._origin = round(offset * SAMPLE_RATE)
        self._received = 0
        self.clock: Clock = clock or (lambda: (self._origin + self._received) / SAMPLE_RATE)
        # Only speech reaches the processor, one utterance at a time.
        self.processor = OnlineProcessor(
            asr,
            options,
            offset=offset,
            clock=self.clock,
            timer=timer,
            monitor=monitor,
            speech_only=True,
        )
        self.detector = detector or SpeechDetector(self.vac)
        preroll = self.vac.preroll_ms * SAMPLE_RATE // 1000
        self._store = SampleBuffer(preroll + 30 * SAMPLE_RATE)
        self._preroll = preroll
        self._max_utterance = int(self.vac.max_utterance_sec * SAMPLE_RATE)
        self._keep_audio = keep_utterance_audio
        self._speaking = False
        self._forwarded = 0
        self._utterance_start = 0
        self._utterance_index = -1
        self._words: list[Word] = []
        self._audio: list[NDArray[np.float32]] = []
        self._completed: list[Utterance] = []

    @property
    def compute_sec(self) -> float:
        """Seconds spent decoding so far (voice-activity detection not counted)."""
        return self.processor.compute_sec

    @property
    def speaking(self) -> bool:
        """Whether an utterance is open."""
        return self._speaking

    def feed(self, samples: NDArray[np.float32]) -> list[StreamEvent]:
        """Take the next samples; decode only inside speech; finalise utterances that ended.

        Args:
            samples: float32 16 kHz mono samples, any length.
        """
        chunk = np.asarray(samples, dtype=np.float32).reshape(-1)
        self._store.append(chunk)
        self._received += chunk.size
        events: list[StreamEvent] = []
        for kind, index in self.detector.feed(chunk):
            if kind == "start":
                self._begin(max(index, self._store.start), events)
            elif self._speaking:
                self._forward(index, events, decode=False)  # finish() decodes the rest
                self._end(index, events)
        if self._speaking:
            self._forward(self.detector.position, events)
            self._store.drop_until(self._forwarded)
        else:
            self._store.drop_until(self.detector.position - self._preroll)
        return events

    def finish(self) -> list[StreamEvent]:
        """End of stream: decode and finalise the open utterance, if any."""
        events: list[StreamEvent] = []
        if self._speaking:
            self._forward(self._received, events, decode=False)
            self._end(self._received, events)
        return events

    def pop_utterances(self) -> list[Utterance]:
        """The utterances finalised since the last call, with their audio if kept."""
        done, self._completed = self._completed, []
        return done

    def _time(self, index: int) -> float:
        return (self._origin + index) / SAMPLE_RATE

    def _begin(self, index: int, events: list[StreamEvent]) -> None:
        self._speaking = True
        self._utterance_index += 1
        self._utterance_start = self._forwarded = index
        self._words = []
        self._audio = []
        self.processor.reset(self._time(index))
        self.processor.utterance = self._utterance_index

    def _forward(self, until: int, events: list[StreamEvent], *, decode: bool = True) -> None:
        """Pass speech audio up to `until` to the processor; decode once if a step is due.

        Like `OnlineProcessor.feed`, one step covers everything that arrived, so a stream
        that fell behind catches up in one larger step instead of a backlog of small ones.
        """
        processor = self.processor
        while self._forwarded < until:
            boundary = self._utterance_start + self._max_utterance
            upto = min(until, boundary)
            piece = self._store.view(self._forwarded, upto)
            if self._keep_audio:
                self._audio.append(piece.copy())
            processor.insert_audio(piece)
            self._forwarded = upto
            if upto >= boundary:
                self._end(upto, events)
                self._begin(upto, events)
        if decode and processor.pending_sec and processor.pending_sec >= processor.step_sec:
            self._collect(processor.process(), events)

    def _end(self, index: int, events: list[StreamEvent]) -> None:
        self._collect(self.processor.finish(), events)
        start, end = self._time(self._utterance_start), self._time(index)
        words = tuple(self._words)
        events.append(
            StreamEvent(
                "final",
                start,
                end,
                join_words(words),
                words,
                self.clock(),
                self._utterance_index,
                self.processor.monitor.state,
            )
        )
        if self._keep_audio:
            audio = np.concatenate(self._audio) if self._audio else np.zeros(0, np.float32)
            self._completed.append(Utterance(self._utterance_index, start, end, audio))
        self._speaking = False
        self._words = []
        self._audio = []

    def _collect(self, new: list[StreamEvent], events: list[StreamEvent]) -> None:
        for event in new:
            if event.type == "committed":
                self._words.extend(event.words)
        events.extend(new)
