"""The seam every recogniser implements: audio in, lazily produced segments out."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from yuyin.errors import ConfigurationError
from yuyin.options import TranscribeOptions
from yuyin.types import Segment

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["Engine", "EngineRun", "check_english_only", "check_whisper_request"]


@dataclass(frozen=True, slots=True)
class EngineRun:
    """What an engine knows before its segments are consumed (segments are lazy)."""

    segments: Iterator[Segment]
    language: str
    language_probability: float
    duration: float


class Engine(Protocol):
    """A speech recogniser. Implementations live one per module in `yuyin.engines`."""

    name: str
    model_name: str
    multilingual: bool

    def run(
        self,
        audio: NDArray[np.float32],
        *,
        language: str | None,
        options: TranscribeOptions,
        vad_filter: bool,
    ) -> EngineRun:
        """Start decoding 16 kHz mono audio; segments are produced as they are consumed.

        Args:
            audio: 16 kHz mono float32 samples.
            language: a Whisper language code, or None to detect.
            options: decoding options (script conversion and filtering happen above).
            vad_filter: decode only the stretches voice-activity detection marks as speech.
        """
        ...


def check_english_only(model_name: str, language: str | None, options: TranscribeOptions) -> None:
    """Reject what an English-only model cannot do (another language, translation) up front."""
    if language not in (None, "en"):
        raise ConfigurationError(
            f"model {model_name!r} is English-only and cannot transcribe {language!r}",
            hint="use the multilingual model: --model base",
        )
    if options.task == "translate":
        raise ConfigurationError(
            f"model {model_name!r} is English-only and cannot translate",
            hint="use the multilingual model: --model base",
        )


def check_whisper_request(
    engine: str,
    model_name: str,
    *,
    multilingual: bool,
    languages: Collection[str],
    language: str | None,
    options: TranscribeOptions,
) -> None:
    """Reject what a Whisper engine without hotword support cannot do, before any decoding."""
    if options.hotwords:
        raise ConfigurationError(
            f"the {engine} engine does not support hotwords",
            hint="use --initial-prompt instead, or --engine faster-whisper",
        )
    if not multilingual:
        check_english_only(model_name, language, options)
    elif language is not None and language not in languages:
        raise ConfigurationError(
            f"model {model_name!r} has no language {language!r}",
            hint="use a Whisper language code such as en or zh",
        )
