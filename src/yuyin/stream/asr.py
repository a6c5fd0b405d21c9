"""The small seam between the streaming algorithm and a recogniser.

A streaming step needs one thing: transcribe this buffer, primed with this prompt, and give
word timings relative to the buffer start. `EngineASR` provides it over any yuyin `Engine`
(faster-whisper by default) with the settings streaming needs: word timestamps on, no
conditioning on previous windows (the prompt carries the context), VAD off unless asked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from yuyin.engines import Engine
from yuyin.languages import resolve_language
from yuyin.options import TranscribeOptions
from yuyin.stream.options import StreamOptions
from yuyin.text import is_phantom
from yuyin.types import Segment

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["EngineASR", "StreamASR"]


class StreamASR(Protocol):
    """One decoding step of a stream."""

    def transcribe(
        self, audio: NDArray[np.float32], *, prompt: str, language: str | None
    ) -> Sequence[Segment]:
        """Decode 16 kHz mono `audio`; segments and words timed from its first sample.

        Args:
            audio: the current buffer, 16 kHz mono float32 (may be a view; do not keep it).
            prompt: committed text that precedes the buffer ("" for none).
            language: a Whisper language code, or None to detect.
        """
        ...


class EngineASR:
    """A yuyin `Engine` as a streaming step (word timestamps, no conditioning).

    Args:
        engine: a loaded engine, e.g. `load_engine(ModelOptions(model="tiny.en"))`.
        options: the stream's task, beam size, VAD switch and language (checked now, so an
            English-only model asked for Chinese fails before any audio arrives).
    """

    def __init__(self, engine: Engine, options: StreamOptions | None = None) -> None:
        opts = options or StreamOptions()
        self.engine = engine
        self._vad = opts.vad
        self._options = TranscribeOptions(
            task=opts.task,
            beam_size=opts.beam_size,
            best_of=opts.beam_size,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad=opts.vad,
        )
        check = getattr(engine, "check", None)
        if check is not None:
            check(resolve_language(opts.language, opts.zh_script).code, self._options)

    @property
    def model_name(self) -> str:
        """The engine's model name."""
        return self.engine.model_name

    def transcribe(
        self, audio: NDArray[np.float32], *, prompt: str, language: str | None
    ) -> list[Segment]:
        """Decode the buffer; Whisper's phantom lines (subtitle credits...) are dropped.

        Args:
            audio: 16 kHz mono float32 samples.
            prompt: committed text before the buffer ("" for none).
            language: a Whisper language code, or None to detect.
        """
        options = dataclasses.replace(self._options, initial_prompt=prompt.strip() or None)
        run = self.engine.run(audio, language=language, options=options, vad_filter=self._vad)
        return [
            s
            for s in run.segments
            if s.words and not is_phantom(s.text, no_speech_prob=s.no_speech_prob)
        ]
