"""Google Speech-to-Text v2 StreamingRecognize over audio of any length (issue 8).

The service takes at most 25,600 bytes per streaming request and at most 5 minutes per
stream. `GoogleStreamer` cuts the audio into requests under that size, paces it at real time
when asked, and before a stream reaches its limit closes it and opens the next one a few
seconds back (`overlap_s`): the words the old stream finished well before its end are kept,
the words of its last seconds are taken from the new stream, which heard them whole, and
whatever the new stream repeats is dropped by time. A stream that fails with a quota,
unavailable or deadline error is resumed the same way. Interim results come out as
`partial` events, finished ones as `final` events, all on the input's timeline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from yuyin.engines.google import (
    SAMPLE_RATE,
    GoogleOptions,
    convert_words,
    create_client,
    display_word,
    duration_seconds,
    recognition_config,
    translate_error,
)
from yuyin.errors import ConfigurationError
from yuyin.types import Word

if TYPE_CHECKING:
    import grpc
    from google.cloud.speech_v2 import SpeechClient
    from google.cloud.speech_v2.types import cloud_speech
    from numpy.typing import NDArray

__all__ = [
    "MAX_STREAM_REQUEST_BYTES",
    "MAX_STREAM_SECONDS",
    "GoogleStreamEvent",
    "GoogleStreamOptions",
    "GoogleStreamer",
]

log = logging.getLogger(__name__)

#: The largest StreamingRecognizeRequest the service accepts, in bytes.
MAX_STREAM_REQUEST_BYTES = 25_600
#: The longest a single stream may run, seconds.
MAX_STREAM_SECONDS = 300.0
# An audio-only request adds a field tag and a length varint (4 bytes) to its audio; keep a
# margin on top so a request never exceeds the cap.
_MAX_AUDIO_BYTES = MAX_STREAM_REQUEST_BYTES - 16


@dataclass(frozen=True, slots=True)
class GoogleStreamOptions:
    """How audio is fed to StreamingRecognize.

    Attributes:
        chunk_ms: audio per request; capped so no request exceeds 25,600 bytes (800 ms of
            16 kHz LINEAR16). Google recommends 100 ms for low latency.
        realtime: pace the audio at real time (for files); False sends as fast as the
            service reads (live sources pace themselves).
        interim_results: ask for interim results, emitted as `partial` events.
        rotate_after_s: open a new stream once one has carried this much audio or lived
            this long (the service ends streams at 5 minutes).
        overlap_s: audio the next stream hears again; the last `overlap_s / 2` seconds of a
            rotated stream are taken from the next one. Longer than any word, times two.
        max_reconnects: resume a stream that failed with a quota, unavailable or deadline
            error this many times in a row before giving up.
    """

    chunk_ms: int = 100
    realtime: bool = False
    interim_results: bool = True
    rotate_after_s: float = 240.0
    overlap_s: float = 4.0
    max_reconnects: int = 3


@dataclass(frozen=True, slots=True)
class GoogleStreamEvent:
    """One streaming result on the input's timeline.

    Attributes:
        type: `partial` (an interim result, may still change) or `final`.
        start: start of its first word (partials: where unfinished audio starts), seconds.
        end: end of its last word (partials: how far the service has listened), seconds.
        text: the transcript.
        words: finals: the words with their times (Whisper spelling: leading spaces).
        stability: partials: the service's estimate that the text will not change (0–1).
        stream: which stream (0, 1, ...) produced it; it changes at each rotation.
        language_code: the BCP-47 tag the service reports, when it reports one.
    """

    type: Literal["partial", "final"]
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    stability: float = 0.0
    stream: int = 0
    language_code: str = ""


class _Feed:
    """The audio source as 16-bit samples, kept from the current stream's start on."""

    def __init__(self, chunks: Iterable[NDArray[np.float32]]) -> None:
        self._source = iter(chunks)
        self._pieces: deque[tuple[int, NDArray[np.int16]]] = deque()
        self._end = 0
        self._lock = threading.Lock()
        self.exhausted = False

    def read(self, position: int, count: int) -> NDArray[np.int16]:
        """Samples [position, position + count): fewer at the end, none after it."""
        with self._lock:
            while self._end < position + count and not self.exhausted:
                try:
                    chunk = next(self._source)
                except StopIteration:
                    self.exhausted = True
                    break
                samples = np.asarray(chunk, dtype=np.float32).reshape(-1)
                pcm = np.rint(np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
                if pcm.size:
                    self._pieces.append((self._end, pcm))
                    self._end += pcm.size
            stop = min(position + count, self._end)
            parts = [
                piece[max(position - first, 0) : stop - first]
                for first, piece in self._pieces
                if first < stop and first + piece.size > position
            ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def trim(self, position: int) -> None:
        """Forget the samples before `position`; no later stream rewinds past it."""
        with self._lock:
            while self._pieces and self._pieces[0][0] + self._pieces[0][1].size <= position:
                self._pieces.popleft()


class _Pacer:
    """Holds audio back to real time, counted from the first sample sent."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._origin: tuple[float, int] | None = None

    def wait(self, position: int) -> None:
        if not self.enabled:
            return
        if self._origin is None:
            self._origin = (time.monotonic(), position)
        began, first = self._origin
        delay = began + (position - first) / SAMPLE_RATE - time.monotonic()
        if delay > 0:  # audio already sent once (a rewind) is never held back
            time.sleep(delay)


@dataclass(slots=True)
class _Run:
    """One stream: where its audio starts and how its request side ended."""

    index: int
    start: int
    sent_until: int
    rotate_at: int | None = None
    finished: bool = False
    cancelled: bool = False
    error: BaseException | None = None


class GoogleStreamer:
    """StreamingRecognize over audio of any length, as one series of partial/final events.

    Args:
        options: project, location, recognizer, model and credentials.
        stream_options: request size, pacing and stream rotation.
        client: a ready `SpeechClient` (e.g. `GoogleEngine(...).client`).
        channel: a gRPC channel for a new client (tests, emulators).

    Raises:
        ConfigurationError: stream options the service limits do not allow, or no project.
    """

    def __init__(
        self,
        options: GoogleOptions,
        stream_options: GoogleStreamOptions | None = None,
        *,
        client: SpeechClient | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        self.options = options
        self.stream_options = stream_options or GoogleStreamOptions()
        _validate(self.stream_options)
        self.recognizer_name = options.recognizer_name
        self._owns_client = client is None and channel is None
        self._client = client if client is not None else create_client(options, channel=channel)
        self.streams_opened = 0

    def close(self) -> None:
        """Close the gRPC channel, unless it was handed in."""
        if self._owns_client:
            transport: Any = self._client.transport
            transport.close()

    @property
    def chunk_samples(self) -> int:
        """Samples per audio request (`chunk_ms`, capped by the request size limit)."""
        wanted = self.stream_options.chunk_ms * SAMPLE_RATE // 1000
        return max(1, min(wanted, _MAX_AUDIO_BYTES // 2))

    def recognize(
        self,
        chunks: Iterable[NDArray[np.float32]],
        *,
        language_codes: Sequence[str] | None = None,
    ) -> Generator[GoogleStreamEvent, None, None]:
        """Stream 16 kHz mono float32 chunks (any sizes); yield events as results arrive.

        Closing the generator early cancels the stream in flight.

        Args:
            chunks: the audio, e.g. a file cut into pieces or a microphone's blocks.
            language_codes: BCP-47 tags (default: the options' `language_codes`).

        Raises:
            ConfigurationError, ModelError: the service's error, translated.
        """
        from google.api_core.exceptions import GoogleAPIError
        from google.auth.exceptions import GoogleAuthError

        opts = self.stream_options
        codes = list(language_codes or self.options.language_codes)
        feed = _Feed(chunks)
        pacer = _Pacer(opts.realtime)
        overlap = round(opts.overlap_s * SAMPLE_RATE)
        committed = [0.0]  # end of the last word given out, seconds (a cell the helpers share)
        start, index, failures = 0, 0, 0
        while True:
            run = _Run(index, start, start)
            try:
                responses = self._open(run, feed, pacer, codes)
                try:
                    for response in responses:
                        yield from self._events(response, run, committed)
                finally:
                    run.cancelled = True
                    responses.cancel()
            except (GoogleAPIError, GoogleAuthError) as exc:
                if not _resumable(exc) or failures >= opts.max_reconnects:
                    raise translate_error(exc, "streaming audio", self.options) from exc
                failures += 1
                delay = min(
                    self.options.retry_maximum_s, self.options.retry_initial_s * 2 ** (failures - 1)
                )
                log.warning("stream %d failed (%s); resuming in %.1f s", index, exc, delay)
                time.sleep(delay)
                start = min(max(run.start, round(committed[0] * SAMPLE_RATE) - overlap),
                            run.sent_until)  # fmt: skip
            else:
                if run.error is not None:
                    raise run.error
                if run.finished:
                    return
                if run.rotate_at is not None:
                    failures = 0
                    start = run.rotate_at - overlap
                else:  # the service ended the stream early: resume behind the last word
                    failures += 1
                    if failures > opts.max_reconnects:
                        raise ConfigurationError(
                            "Google Speech-to-Text keeps ending the stream early",
                            hint="check the recognizer's voice-activity timeouts",
                        )
                    start = min(max(run.start, round(committed[0] * SAMPLE_RATE) - overlap),
                                run.sent_until)  # fmt: skip
            feed.trim(start)
            index += 1

    def _open(self, run: _Run, feed: _Feed, pacer: _Pacer, codes: list[str]) -> Any:
        from google.cloud.speech_v2.types import cloud_speech

        opts = self.stream_options
        first = cloud_speech.StreamingRecognizeRequest(
            recognizer=self.recognizer_name,
            streaming_config=cloud_speech.StreamingRecognitionConfig(
                config=recognition_config(self.options, codes),
                streaming_features=cloud_speech.StreamingRecognitionFeatures(
                    interim_results=opts.interim_results
                ),
            ),
        )
        self.streams_opened += 1
        log.debug("stream %d opens at %.2f s", run.index, run.start / SAMPLE_RATE)
        return self._client.streaming_recognize(
            requests=self._requests(first, run, feed, pacer),
            timeout=opts.rotate_after_s + self.options.timeout_s,
        )

    def _requests(
        self,
        first: cloud_speech.StreamingRecognizeRequest,
        run: _Run,
        feed: _Feed,
        pacer: _Pacer,
    ) -> Iterator[cloud_speech.StreamingRecognizeRequest]:
        # Runs on gRPC's sending thread: the run's fields tell the caller how it ended.
        from google.cloud.speech_v2.types import cloud_speech

        yield first
        limit = run.start + round(self.stream_options.rotate_after_s * SAMPLE_RATE)
        opened = time.monotonic()
        position = run.start
        try:
            while not run.cancelled:
                count = min(self.chunk_samples, limit - position)
                if count <= 0 or time.monotonic() - opened >= self.stream_options.rotate_after_s:
                    run.rotate_at = position
                    return
                samples = feed.read(position, count)
                if samples.size == 0:
                    run.finished = True
                    return
                pacer.wait(position)
                yield cloud_speech.StreamingRecognizeRequest(audio=samples.astype("<i2").tobytes())
                position += samples.size
                run.sent_until = position
        except Exception as exc:  # the audio source failed: the caller re-raises it
            run.error = exc
            run.finished = True

    def _events(
        self, response: Any, run: _Run, committed: list[float]
    ) -> Iterator[GoogleStreamEvent]:
        offset = run.start / SAMPLE_RATE
        for result in response.results:
            if not result.alternatives:
                continue
            best = result.alternatives[0]
            heard = offset + duration_seconds(result.result_end_offset)
            if not result.is_final:
                text = best.transcript.strip()
                if text:
                    yield GoogleStreamEvent(
                        "partial", min(committed[0], heard), heard, text,
                        stability=float(result.stability), stream=run.index,
                        language_code=result.language_code,
                    )  # fmt: skip
                continue
            event = self._final(best, result, run, offset, heard, committed)
            if event is not None:
                committed[0] = max(committed[0], event.end)
                yield event

    def _final(
        self,
        best: Any,
        result: Any,
        run: _Run,
        offset: float,
        heard: float,
        committed: list[float],
    ) -> GoogleStreamEvent | None:
        words = convert_words(best, offset, offset, float("inf"))
        if not words and best.transcript.strip():
            # No word times (e.g. translation): the result stands for one word of its own.
            words = [Word(max(committed[0], offset), heard, display_word(best.transcript))]
        # What an earlier stream already gave out comes again in the overlap: drop by time.
        kept = [w for w in words if (w.start + w.end) / 2 >= committed[0]]
        if run.rotate_at is not None:
            # Closing a stream cuts the word being spoken; its last seconds belong to the
            # next stream, which starts `overlap_s` earlier and hears them whole.
            keep_until = run.rotate_at / SAMPLE_RATE - self.stream_options.overlap_s / 2
            kept = [w for w in kept if w.end <= keep_until]
        if not kept:
            return None
        text = best.transcript.strip() if len(kept) == len(words) else ""
        return GoogleStreamEvent(
            "final",
            kept[0].start,
            kept[-1].end,
            text or "".join(w.word for w in kept).strip(),
            tuple(kept),
            stream=run.index,
            language_code=result.language_code,
        )


def _resumable(exc: Exception) -> bool:
    from google.api_core import exceptions as gexc

    return isinstance(exc, gexc.ResourceExhausted | gexc.ServiceUnavailable | gexc.DeadlineExceeded)


def _validate(options: GoogleStreamOptions) -> None:
    if options.chunk_ms <= 0:
        raise ConfigurationError("chunk_ms must be positive", hint="Google recommends 100 ms")
    if not 0 < options.rotate_after_s <= MAX_STREAM_SECONDS - 5:
        raise ConfigurationError(
            f"rotate_after_s must be above 0 and at most {MAX_STREAM_SECONDS - 5:g} s "
            "(the service ends a stream at 5 minutes)",
            hint="the default, 240 s, leaves room for slow networks",
        )
    if not 0 <= options.overlap_s * 2 < options.rotate_after_s:
        raise ConfigurationError(
            "overlap_s must be at least 0 and less than half of rotate_after_s",
            hint="a few seconds (default 4) is longer than any word, times two",
        )
