"""Any OpenAI-compatible transcription API (OpenAI itself, another yuyin server, ...).

Audio is sent as 16 kHz mono 16-bit WAV in pieces below the API's 25 MB upload limit, with
`verbose_json` and word + segment timestamps, and mapped back onto one timeline.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.engines.base import EngineRun
from yuyin.errors import ConfigurationError, InputError, MissingDependencyError, ModelError
from yuyin.languages import LANGUAGES
from yuyin.options import TranscribeOptions
from yuyin.types import Segment, Word, is_cjk

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["OpenAIEngine"]

_SAMPLE_RATE = 16000
#: 10 minutes of 16 kHz 16-bit mono is 19.2 MB, under OpenAI's 25 MB upload limit.
PIECE_SECONDS = 600.0
_NAME_TO_CODE = {name: code for code, name in LANGUAGES.items()}


def _wav_bytes(audio: NDArray[np.float32]) -> bytes:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(_SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, dict) else getattr(obj, key, default)


class OpenAIEngine:
    """Transcribes through `POST {base_url}/audio/transcriptions` with the official SDK."""

    name = "openai"
    multilingual = True

    def __init__(self, model: str, *, base_url: str | None, api_key: str | None) -> None:
        try:
            import openai
        except ImportError as exc:
            raise MissingDependencyError("openai", "openai", "the openai engine") from exc
        if not api_key:
            raise ConfigurationError(
                "the openai engine needs an API key",
                hint="set OPENAI_API_KEY (any value for a yuyin server without a key)",
            )
        self.model_name = model
        self._openai = openai
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=2)

    def close(self) -> None:
        """Close the HTTP connections (also done when the engine is garbage-collected)."""
        self._client.close()

    def __del__(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    def run(
        self,
        audio: NDArray[np.float32],
        *,
        language: str | None,
        options: TranscribeOptions,
        vad_filter: bool,
    ) -> EngineRun:
        """Send the audio piece by piece; segments arrive as each piece is answered."""
        duration = audio.size / _SAMPLE_RATE
        piece = int(PIECE_SECONDS * _SAMPLE_RATE)
        first = self._request(audio[:piece], language, options)
        detected = _NAME_TO_CODE.get(str(_get(first, "language", "")).lower(), language or "")

        def produce() -> Iterator[Segment]:
            index = 0
            for start in range(0, max(audio.size, 1), piece):
                reply = first if start == 0 else self._request(audio[start : start + piece],
                                                               language, options)  # fmt: skip
                for seg in self._segments(reply, start / _SAMPLE_RATE, index):
                    index += 1
                    yield seg

        return EngineRun(produce(), detected or language or "", 1.0, duration)

    def _request(
        self, audio: NDArray[np.float32], language: str | None, options: TranscribeOptions
    ) -> Any:
        kwargs: dict[str, Any] = {
            "model": self.model_name,
            "file": ("audio.wav", _wav_bytes(audio), "audio/wav"),
            "response_format": "verbose_json",
            "timestamp_granularities": ["segment", "word"]
            if options.word_timestamps
            else ["segment"],
            "temperature": options.temperature[0],
        }
        if language:
            kwargs["language"] = language
        if options.initial_prompt:
            kwargs["prompt"] = options.initial_prompt
        api = (
            self._client.audio.translations
            if options.task == "translate"
            else self._client.audio.transcriptions
        )
        if options.task == "translate":
            dropped = ("language", "timestamp_granularities")  # not part of translations
            kwargs = {k: v for k, v in kwargs.items() if k not in dropped}
        try:
            return api.create(**kwargs)
        except self._openai.AuthenticationError as exc:
            raise ConfigurationError(
                f"the API at {self._client.base_url} refused the key", hint="check OPENAI_API_KEY"
            ) from exc
        except self._openai.BadRequestError as exc:
            raise InputError(
                f"the API rejected the audio: {exc.message}",
                hint="check the language code and that the API accepts WAV uploads",
            ) from exc
        except self._openai.APIConnectionError as exc:
            raise ModelError(
                f"cannot reach {self._client.base_url}",
                hint="check --base-url and the network, or use a local engine",
            ) from exc
        except self._openai.APIStatusError as exc:
            raise ModelError(
                f"the API at {self._client.base_url} answered {exc.status_code}: {exc.message}",
                hint="retry later, or use a local engine (--engine faster-whisper)",
            ) from exc

    @staticmethod
    def _segments(reply: Any, offset: float, first_id: int) -> Iterator[Segment]:
        words = []
        for w in _get(reply, "words") or []:
            text = str(_get(w, "word")).strip()
            # Whisper marks word starts with a space, except in scripts written without them.
            text = text if text and is_cjk(text[0]) else " " + text
            start, end = float(_get(w, "start")) + offset, float(_get(w, "end")) + offset
            words.append(Word(start, end, text, 1.0))
        segments = _get(reply, "segments") or []
        if not segments:
            text = str(_get(reply, "text", "")).strip()
            if text:
                end = words[-1].end if words else offset
                yield Segment(offset, end, text, tuple(words), id=first_id)
            return
        for i, seg in enumerate(segments):
            start = float(_get(seg, "start")) + offset
            end = float(_get(seg, "end")) + offset
            mine = tuple(w for w in words if start - 0.01 <= w.start < end + 0.01)
            yield Segment(
                start,
                end,
                str(_get(seg, "text", "")),
                mine,
                id=first_id + i,
                avg_logprob=float(_get(seg, "avg_logprob", 0.0) or 0.0),
                no_speech_prob=float(_get(seg, "no_speech_prob", 0.0) or 0.0),
                compression_ratio=float(_get(seg, "compression_ratio", 0.0) or 0.0),
                temperature=float(_get(seg, "temperature", 0.0) or 0.0),
            )
