"""What the Whisper engines other than faster-whisper share: request checks and run's shape.

The transformers, openai-whisper and whisper.cpp engines decode the same Whisper weights in
other runtimes. Each subclass says how to detect a language and how to decode speech pieces;
this base checks the request, cuts the audio at voice activity and picks the language the
same way for all of them, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from yuyin.audio import SAMPLE_RATE
from yuyin.engines.base import EngineRun, check_whisper_request
from yuyin.engines.vad import speech_pieces
from yuyin.options import TranscribeOptions
from yuyin.types import Segment

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["LocalWhisperEngine", "Pieces"]

#: (start second, samples) of each stretch to decode, in order.
Pieces = Sequence[tuple[float, "NDArray[np.float32]"]]


class LocalWhisperEngine:
    """Base of the local Whisper engines without hotwords; subclasses decode the pieces."""

    name: str
    model_name: str
    multilingual: bool
    #: Whisper language codes the model knows (unused for English-only models).
    languages: Collection[str]

    def check(self, language: str | None, options: TranscribeOptions) -> None:
        """Reject requests this engine or model cannot serve, before any decoding."""
        check_whisper_request(
            self.name,
            self.model_name,
            multilingual=self.multilingual,
            languages=self.languages,
            language=language,
            options=options,
        )

    def run(
        self,
        audio: NDArray[np.float32],
        *,
        language: str | None,
        options: TranscribeOptions,
        vad_filter: bool,
    ) -> EngineRun:
        """Start decoding 16 kHz mono audio; each speech piece is decoded when consumed.

        Args:
            audio: 16 kHz mono float32 samples.
            language: a Whisper language code, or None to detect it (multilingual models;
                detected on the first speech piece).
            options: decoding options; `hotwords` and `batch_size` are not supported.
            vad_filter: decode only the stretches Silero VAD marks as speech.
        """
        self.check(language, options)
        samples = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        pieces = speech_pieces(samples, options.vad_options, vad_filter=vad_filter)
        probability = 1.0
        if not self.multilingual:
            language = "en"
        elif language is None:
            language, probability = self.detect_language(pieces[0][1] if pieces else samples)
        return EngineRun(
            segments=self._segments(pieces, language, options),
            language=language,
            language_probability=probability,
            duration=samples.size / SAMPLE_RATE,
        )

    def detect_language(self, audio: NDArray[np.float32]) -> tuple[str, float]:
        """The most likely language of the first 30 s of `audio` and its probability."""
        raise NotImplementedError

    def _segments(
        self, pieces: Pieces, language: str, options: TranscribeOptions
    ) -> Iterator[Segment]:
        """Decode `pieces` in order, times in the whole input's seconds."""
        raise NotImplementedError
