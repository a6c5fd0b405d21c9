"""Choosing the processor for a stream: plain, voice-activity controlled, or two-pass."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from yuyin.stream.asr import StreamASR
from yuyin.stream.events import StreamEvent
from yuyin.stream.options import StreamOptions, VacOptions
from yuyin.stream.processor import Clock, OnlineProcessor, validate_stream_options
from yuyin.stream.twopass import TwoPassProcessor
from yuyin.stream.vac import VacProcessor

__all__ = ["MeasuredProcessor", "processor_factory"]


class MeasuredProcessor(Protocol):
    """A stream processor that also reports the time it spent decoding."""

    @property
    def compute_sec(self) -> float:
        """Seconds spent decoding so far."""
        ...

    def feed(self, samples: NDArray[np.float32]) -> list[StreamEvent]:
        """Take the next samples (see `StreamProcessor.feed`)."""
        ...

    def finish(self) -> list[StreamEvent]:
        """End the stream (see `StreamProcessor.finish`)."""
        ...


def processor_factory(
    asr: StreamASR,
    options: StreamOptions | None = None,
    *,
    vac: VacOptions | None = None,
    accurate: StreamASR | None = None,
    offset: float = 0.0,
    timer: Clock = time.perf_counter,
) -> Callable[[Clock], MeasuredProcessor]:
    """A function building one processor per stream with the given clock.

    Args:
        asr: the recogniser (the fast one in two-pass mode).
        options: stream options, checked now.
        vac: voice-activity control; None decodes everything (unless two-pass).
        accurate: a second recogniser for finals: two-pass mode (implies voice activity).
        offset: stream time of the first sample, seconds (`--start-at`).
        timer: measures compute time.

    Raises:
        ConfigurationError: bad stream options.
    """
    opts = options or StreamOptions()
    validate_stream_options(opts)

    def make(clock: Clock) -> MeasuredProcessor:
        if accurate is not None:
            return TwoPassProcessor(
                asr, accurate, opts, vac, offset=offset, clock=clock, timer=timer
            )
        if vac is not None:
            return VacProcessor(asr, opts, vac, offset=offset, clock=clock, timer=timer)
        return OnlineProcessor(asr, opts, offset=offset, clock=clock, timer=timer)

    return make
