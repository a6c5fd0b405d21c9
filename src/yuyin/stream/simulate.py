"""Driving a processor from a recording or a live source, with the right clock.

* `realtime`: audio is released as the wall clock advances (what a live microphone would
  deliver), so slow decoding shows up as latency; emission time is the wall clock.
* `comp-unaware`: `chunk_sec` of audio per step however long decoding takes; emission time
  is the audio time fed so far. Deterministic: the mode tests and benchmarks replay.
* `offline`: all audio at once, then `finish` (the plain processor decodes it in one go).
* `live`: chunks are fed as a live source yields them (microphone); wall-clock emission.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np
from numpy.typing import NDArray

from yuyin.audio import SAMPLE_RATE
from yuyin.errors import ConfigurationError
from yuyin.stream.events import StreamEvent
from yuyin.stream.processor import Clock, OnlineProcessor, StreamProcessor

__all__ = ["REPLAY_MODES", "ProcessorFactory", "replay"]

#: The ways `replay` can pace a stream.
REPLAY_MODES: tuple[str, ...] = ("realtime", "comp-unaware", "offline", "live")

#: Builds a processor given the clock its events' emission times are read from.
ProcessorFactory = Callable[[Clock], StreamProcessor]


class _Reader:
    """Reads exact sample counts from an array or an iterator of chunks."""

    def __init__(self, source: NDArray[np.float32] | Iterable[NDArray[np.float32]]) -> None:
        if isinstance(source, np.ndarray):
            self._chunks: Iterator[NDArray[np.float32]] = iter((source.reshape(-1),))
        else:
            self._chunks = iter(source)
        self._current = np.zeros(0, dtype=np.float32)
        self.exhausted = False

    def read(self, count: int) -> NDArray[np.float32]:
        parts: list[NDArray[np.float32]] = []
        need = count
        while need > 0:
            if self._current.size == 0:
                nxt = next(self._chunks, None)
                if nxt is None:
                    self.exhausted = True
                    break
                self._current = np.asarray(nxt, dtype=np.float32).reshape(-1)
                continue
            part, self._current = self._current[:need], self._current[need:]
            parts.append(part)
            need -= part.size
        if not parts:
            return np.zeros(0, dtype=np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def next_chunk(self) -> NDArray[np.float32]:
        if self._current.size:
            chunk, self._current = self._current, np.zeros(0, dtype=np.float32)
            return chunk
        nxt = next(self._chunks, None)
        if nxt is None:
            self.exhausted = True
            return np.zeros(0, dtype=np.float32)
        return np.asarray(nxt, dtype=np.float32).reshape(-1)


def replay(
    source: NDArray[np.float32] | Iterable[NDArray[np.float32]],
    make_processor: ProcessorFactory,
    *,
    mode: str = "realtime",
    chunk_sec: float = 1.0,
    start_at: float = 0.0,
    timer: Clock = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[StreamEvent]:
    """Stream 16 kHz audio through a processor; yield its events as they are emitted.

    Args:
        source: the whole recording, or an iterator of chunks (bounded memory).
        make_processor: builds the processor with the clock to stamp events with.
        mode: `realtime`, `comp-unaware`, `offline` or `live` (see the module notes).
        chunk_sec: audio released per step (`realtime`, `comp-unaware`), seconds.
        start_at: skip this much of the source; stream times stay the source's own.
        timer: the wall clock (`realtime`, `live`), seconds.
        sleep: waits for audio to "arrive" in `realtime` mode.

    Raises:
        ConfigurationError: an unknown mode or a non-positive chunk size.
    """
    if mode not in REPLAY_MODES:
        raise ConfigurationError(
            f"unknown replay mode {mode!r}", hint="use " + ", ".join(REPLAY_MODES)
        )
    if chunk_sec <= 0:
        raise ConfigurationError("the chunk size must be above 0 seconds", hint="try 1.0")
    reader = _Reader(source)
    start = round(start_at * SAMPLE_RATE)
    while start > 0 and not reader.exhausted:
        start -= reader.read(min(start, 60 * SAMPLE_RATE)).size
    position = round(start_at * SAMPLE_RATE)
    chunk = max(1, round(chunk_sec * SAMPLE_RATE))

    if mode in ("realtime", "live"):
        began = timer()

        def wall() -> float:
            return start_at + (timer() - began)

        processor = make_processor(wall)
        began = timer()  # the stream starts once its processor is ready (`wall` reads this)
        if mode == "live":
            while not reader.exhausted:
                piece = reader.next_chunk()
                if piece.size:
                    yield from processor.feed(piece)
        else:
            origin = position
            while not reader.exhausted:
                arrived = origin + int((timer() - began) * SAMPLE_RATE)
                if arrived - position < chunk:
                    sleep((chunk - (arrived - position)) / SAMPLE_RATE)
                    continue
                piece = reader.read(arrived - position)
                position += piece.size
                if piece.size:
                    yield from processor.feed(piece)
        yield from processor.finish()
        return

    def audio_clock() -> float:
        return position / SAMPLE_RATE

    processor = make_processor(audio_clock)
    if mode == "offline":
        while not reader.exhausted:
            piece = reader.read(60 * SAMPLE_RATE)
            position += piece.size
            if isinstance(processor, OnlineProcessor):
                processor.insert_audio(piece)
            elif piece.size:
                yield from processor.feed(piece)
        yield from processor.finish()
        return
    while not reader.exhausted:
        piece = reader.read(chunk)
        position += piece.size
        if piece.size:
            yield from processor.feed(piece)
    yield from processor.finish()
