"""Gemini Live API input transcription (`--engine gemini-live`, issue 13).

The audio goes to a Live session the way a microphone would send it: 16 kHz mono PCM16 in
0.1 s chunks, paced at real time (`realtime_factor`), then an end-of-audio signal
(`audioStreamEnd`). The service transcribes what it hears (`inputTranscription`) in pieces
that belong to turns its voice-activity detection finds; each turn becomes one segment.
Pieces are joined as the service spaced them, and turns are joined with a space except
between two CJK characters, so Chinese gets no spaces. The model's own
answers are ignored. Times are approximate: a segment ends where the audio sent had
reached when its turn completed.

The library reads no environment: `GeminiLiveOptions` carries the key. The CLI and
`GeminiLiveEngine.from_environment` (what `load_engine` uses) read GEMINI_API_KEY,
YUYIN_GEMINI_MODEL and YUYIN_GEMINI_BASE_URL.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.engines.base import EngineRun
from yuyin.errors import ConfigurationError, MissingDependencyError, ModelError
from yuyin.options import ModelOptions, TranscribeOptions
from yuyin.types import Segment, is_cjk, join_segment_texts

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "CHUNK_MS",
    "DEFAULT_MODEL",
    "MIME_TYPE",
    "GeminiLiveEngine",
    "GeminiLiveOptions",
    "TurnAssembler",
    "options_from_environment",
    "pcm16_chunks",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
#: Audio per realtime message, milliseconds (what the Live API documentation recommends).
CHUNK_MS = 100
MIME_TYPE = f"audio/pcm;rate={SAMPLE_RATE}"
DEFAULT_MODEL = "gemini-live-2.5-flash-preview"
# A space between two characters written without spaces (Han, kana, CJK punctuation).
_CJK_GAP = re.compile(
    r"(?<=[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]) (?=[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef])"
)


@dataclass(frozen=True, slots=True)
class GeminiLiveOptions:
    """How a Live session is reached and how audio is fed to it.

    Attributes:
        api_key: the Gemini API key (the CLI reads GEMINI_API_KEY); required.
        model: the Live model.
        base_url: the API root instead of Google's (`https://host:port`); the session
            runs over WebSocket with TLS there.
        ca_file: a PEM file of certificates to trust for `base_url` (e.g. a test server's).
        chunk_ms: audio per message, milliseconds.
        realtime_factor: how many times faster than real time audio is sent; 1.0 is a live
            microphone's pace, 0 sends without pausing.
        settle_s: after the end of audio, how long a silent service is waited for before
            the transcript is taken as complete.
        timeout_s: the longest wait for the service after the end of audio.
    """

    api_key: str | None = field(default=None, repr=False)
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    ca_file: str | None = None
    chunk_ms: int = CHUNK_MS
    realtime_factor: float = 1.0
    settle_s: float = 3.0
    timeout_s: float = 30.0


def options_from_environment(
    environ: Mapping[str, str] | None = None, **overrides: Any
) -> GeminiLiveOptions:
    """Build `GeminiLiveOptions` from GEMINI_API_KEY, YUYIN_GEMINI_MODEL, YUYIN_GEMINI_BASE_URL.

    Args:
        environ: the variables to read (default `os.environ`).
        overrides: any `GeminiLiveOptions` field; values that are None are ignored.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {
        "api_key": env.get("GEMINI_API_KEY") or None,
        "model": env.get("YUYIN_GEMINI_MODEL") or DEFAULT_MODEL,
        "base_url": env.get("YUYIN_GEMINI_BASE_URL") or None,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return GeminiLiveOptions(**values)


def pcm16_chunks(audio: NDArray[np.float32], chunk_ms: int = CHUNK_MS) -> list[bytes]:
    """Cut float samples into little-endian 16-bit PCM chunks of `chunk_ms` (the last shorter).

    Args:
        audio: 16 kHz mono float32 samples in [-1, 1] (clipped outside).
        chunk_ms: milliseconds per chunk.
    """
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
    size = SAMPLE_RATE * chunk_ms // 1000 * 2
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


class TurnAssembler:
    """Collects input-transcription pieces into turns, each with the audio time it ended at."""

    def __init__(self) -> None:
        self.turns: list[tuple[str, float]] = []
        self._pieces: list[str] = []

    @property
    def open(self) -> bool:
        """Whether a turn has text that no turn-complete has closed yet."""
        return bool("".join(self._pieces).strip())

    def add(self, text: str) -> None:
        """Add a transcription piece to the current turn."""
        self._pieces.append(text)

    def close(self, at: float) -> None:
        """End the current turn at audio time `at` (a turn without text is dropped)."""
        text = _join_pieces(self._pieces)
        self._pieces = []
        if text:
            self.turns.append((text, at))

    def segments(self, duration: float) -> list[Segment]:
        """The turns as segments: each from the previous turn's end to its own."""
        out: list[Segment] = []
        start = 0.0
        for index, (text, at) in enumerate(self.turns):
            end = min(max(at, start), duration)
            out.append(Segment(start=start, end=end, text=text, id=index))
            start = end
        return out

    @property
    def text(self) -> str:
        """Every turn, joined as `Transcript.text` joins segments."""
        return join_segment_texts([t for t, _ in self.turns])


def _join_pieces(pieces: list[str]) -> str:
    """Concatenate pieces as the service spaced them; no space is kept between CJK characters."""
    text = " ".join("".join(pieces).split())
    return _CJK_GAP.sub("", text)


class GeminiLiveEngine:
    """Gemini Live API input transcription; one session per `run`."""

    name = "gemini-live"
    multilingual = True

    def __init__(self, options: GeminiLiveOptions) -> None:
        if importlib.util.find_spec("google.genai") is None:
            raise MissingDependencyError("google-genai", "gemini", "the gemini-live engine")
        if not options.api_key:
            raise ConfigurationError(
                "the gemini-live engine needs a Gemini API key",
                hint="set GEMINI_API_KEY (create one in Google AI Studio)",
            )
        if options.chunk_ms <= 0 or options.realtime_factor < 0:
            raise ConfigurationError(
                "chunk_ms must be positive and realtime_factor zero or more",
                hint="the defaults are 100 ms chunks at real time (factor 1.0)",
            )
        self.options = options
        self.model_name = options.model

    @classmethod
    def from_environment(cls, model_options: ModelOptions) -> GeminiLiveEngine:
        """The engine for `--engine gemini-live`: key and defaults from the environment.

        `--model` names the Live model unless it is yuyin's default (`base`); `--api-key`
        and `--base-url` win over the environment.
        """
        default = model_options.model == ModelOptions().model
        return cls(
            options_from_environment(
                model=None if default else model_options.model,
                api_key=model_options.api_key,
                base_url=model_options.base_url,
            )
        )

    def check(self, language: str | None, options: TranscribeOptions) -> None:
        """Reject what input transcription cannot do."""
        if options.task == "translate":
            raise ConfigurationError(
                "the gemini-live engine transcribes only", hint="use --task transcribe"
            )

    def run(
        self,
        audio: NDArray[np.float32],
        *,
        language: str | None,
        options: TranscribeOptions,
        vad_filter: bool,
    ) -> EngineRun:
        """Stream the audio through one Live session and return its turns as segments.

        The session runs to the end here (it is paced in real time), so the segments are
        ready when this returns.

        Args:
            audio: 16 kHz mono float32 samples.
            language: a language code sent as a hint, or None for the service to detect.
            options: only `task` matters (transcription only).
            vad_filter: ignored: the service finds turns with its own voice detection.
        """
        self.check(language, options)
        samples = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        duration = samples.size / SAMPLE_RATE
        assembler = asyncio.run(self.transcribe_async(samples, language))
        segments = assembler.segments(duration)
        detected = language or ("zh" if any(is_cjk(c) for c in assembler.text) else "")
        return EngineRun(iter(segments), detected, 1.0, duration)

    def _client(self) -> Any:
        from google import genai
        from google.genai import types

        http: dict[str, Any] = {}
        if self.options.base_url:
            http["base_url"] = self.options.base_url
        if self.options.ca_file:
            http["async_client_args"] = {
                "ssl": ssl.create_default_context(cafile=self.options.ca_file)
            }
        return genai.Client(
            api_key=self.options.api_key,
            http_options=types.HttpOptions(**http) if http else None,
        )

    async def transcribe_async(
        self, audio: NDArray[np.float32], language: str | None
    ) -> TurnAssembler:
        """Run one session over `audio`; return the assembled turns.

        Raises:
            ConfigurationError: the key or model was refused.
            ModelError: the service failed, closed the session or could not be reached.
        """
        from google.genai import errors as genai_errors
        from google.genai import types

        transcription = types.AudioTranscriptionConfig(
            language_codes=[language] if language else None
        )
        config = types.LiveConnectConfig(
            response_modalities=[types.Modality.TEXT], input_audio_transcription=transcription
        )
        assembler = TurnAssembler()
        try:
            async with self._client().aio.live.connect(
                model=self.options.model, config=config
            ) as session:
                await self._exchange(session, audio, assembler)
        except genai_errors.APIError as exc:
            raise _translate(exc, self.options) from exc
        except (OSError, asyncio.TimeoutError) as exc:
            raise ModelError(
                f"cannot reach the Gemini Live API: {exc}",
                hint="check the network (and --base-url, if set)",
            ) from exc
        except Exception as exc:
            if not type(exc).__module__.startswith("websockets"):
                raise
            # A session the service closed (a refused key ends with 1008 policy violation).
            received = getattr(exc, "rcvd", None)
            if received is not None:
                raise _translate(
                    _Closed(received.code, received.reason or str(exc)), self.options
                ) from exc
            raise ModelError(
                f"the Gemini Live session failed: {exc}", hint="try again later"
            ) from exc
        return assembler

    async def _exchange(
        self, session: Any, audio: NDArray[np.float32], assembler: TurnAssembler
    ) -> None:
        from google.genai import types

        chunks = pcm16_chunks(audio, self.options.chunk_ms)
        sent = 0.0  # seconds of audio sent so far
        ended = asyncio.Event()
        finished = asyncio.Event()
        last_message = time.monotonic()

        async def receive() -> None:
            nonlocal last_message
            while True:
                async for message in session.receive():
                    last_message = time.monotonic()
                    content = message.server_content
                    if content is None:
                        continue
                    if content.input_transcription and content.input_transcription.text:
                        assembler.add(content.input_transcription.text)
                    if content.turn_complete:
                        assembler.close(sent)
                        if ended.is_set():
                            finished.set()

        receiver = asyncio.create_task(receive())
        try:
            started = time.monotonic()
            step = self.options.chunk_ms / 1000
            for index, chunk in enumerate(chunks):
                if self.options.realtime_factor > 0:
                    # Pace against the clock, not by sleeping a fixed step, so slow sends
                    # do not add up to a slower-than-real-time stream.
                    due = started + index * step / self.options.realtime_factor
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                await session.send_realtime_input(audio=types.Blob(data=chunk, mime_type=MIME_TYPE))
                sent += len(chunk) / 2 / SAMPLE_RATE
                if receiver.done():
                    break
            await session.send_realtime_input(audio_stream_end=True)
            ended.set()
            deadline = time.monotonic() + self.options.timeout_s
            while not finished.is_set() and not receiver.done():
                now = time.monotonic()
                quiet = now - last_message >= self.options.settle_s
                if now >= deadline or (quiet and not assembler.open):
                    break
                try:
                    await asyncio.wait_for(finished.wait(), timeout=0.05)
                except asyncio.TimeoutError:
                    continue
            if receiver.done() and receiver.exception() is not None:
                raise receiver.exception()  # type: ignore[misc]
        finally:
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)
        if assembler.open:
            assembler.close(sent)  # the service never closed the last turn: keep its text


@dataclass(frozen=True, slots=True)
class _Closed:
    code: int
    message: str


def _translate(exc: Any, options: GeminiLiveOptions) -> ConfigurationError | ModelError:
    code = int(getattr(exc, "code", 0) or 0)
    message = getattr(exc, "message", None) or str(exc)
    if code in (401, 403, 1007, 1008) or "API key" in message:
        return ConfigurationError(
            f"the Gemini Live API refused the session: {message}",
            hint="check GEMINI_API_KEY",
        )
    if code in (400, 404):
        return ConfigurationError(
            f"the Gemini Live API rejected model {options.model!r}: {message}",
            hint="set YUYIN_GEMINI_MODEL (or --model) to a Live model, e.g. " + DEFAULT_MODEL,
        )
    return ModelError(f"the Gemini Live session failed ({code}): {message}", hint="try again later")
