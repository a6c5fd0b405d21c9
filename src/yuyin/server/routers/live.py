"""`WS /v1/audio/stream`: live transcription over a WebSocket, built on `yuyin.stream`.

Protocol: the client sends binary frames of audio — raw s16le 16 kHz mono PCM by default, or
WebM/Opus from a browser's MediaRecorder with `?format=webm` — and text frames with JSON
commands: `{"type": "flush"}` finalises what was heard so far, `{"type": "end"}` finalises
and closes. The server sends JSON events: `partial`, `committed`, `final`, `status` (see
`yuyin.stream.StreamEvent`), `error` for a protocol mistake (the stream goes on), and `done`
after `end`. Query parameters: `model`, `language`, `vac` (1/0), `format`, `api_key`
(browsers cannot set headers on a WebSocket; `Authorization: Bearer` works too).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import numpy as np
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from numpy.typing import NDArray

from yuyin.audio import iter_audio
from yuyin.errors import YuyinError
from yuyin.stream import EngineASR, StreamEvent, StreamOptions, VacOptions, processor_factory

__all__ = ["router"]

router = APIRouter(tags=["live"])
log = logging.getLogger(__name__)


def event_json(event: StreamEvent) -> dict[str, Any]:
    """The wire form of a stream event."""
    return {
        "type": event.type,
        "start": round(event.start, 3),
        "end": round(event.end, 3),
        "text": event.text,
        "words": [
            {"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3)}
            for w in event.words
        ],
        "emission_time": round(event.emission_time, 3),
        "utterance": event.utterance,
        "degradation": {
            "level": event.degradation.level,
            "compute_ratio": round(event.degradation.compute_ratio, 3),
            "actions": list(event.degradation.actions),
        },
    }


def _authorised(ws: WebSocket) -> bool:
    key = ws.app.state.settings.api_key
    if key is None:
        return True
    header = ws.headers.get("authorization", "")
    given = header.partition(" ")[2] if header.lower().startswith("bearer ") else ""
    given = given or ws.query_params.get("api_key", "")
    return hmac.compare_digest(given.encode(), key.get_secret_value().encode())


class _WebmDecoder:
    """Decodes a growing WebM/Opus byte stream in a thread, through a pipe, to 16 kHz."""

    def __init__(self, on_samples: Callable[[NDArray[np.float32]], object]) -> None:
        read_fd, write_fd = os.pipe()
        self._writer = os.fdopen(write_fd, "wb", buffering=0)
        self._reader = os.fdopen(read_fd, "rb")
        self.error: YuyinError | None = None
        self._thread = threading.Thread(target=self._run, args=(on_samples,), daemon=True)
        self._thread.start()

    def _run(self, on_samples: Callable[[NDArray[np.float32]], object]) -> None:
        try:
            for chunk in iter_audio(self._reader, chunk_seconds=0.25):
                on_samples(chunk)
        except YuyinError as exc:
            self.error = exc
        finally:
            self._reader.close()

    def write(self, data: bytes) -> None:
        """Pass bytes to the decoder (blocks while the pipe is full)."""
        self._writer.write(data)

    def close(self) -> None:
        """End of input: let the decoder drain, then stop."""
        with contextlib.suppress(OSError):
            self._writer.close()
        self._thread.join(timeout=30)


@router.websocket("/v1/audio/stream")
async def live_stream(ws: WebSocket) -> None:
    """Live transcription: audio frames in, JSON events out."""
    await ws.accept()
    if not _authorised(ws):
        await ws.send_json({"type": "error", "message": "missing or wrong API key"})
        await ws.close(code=4401)
        return
    state = ws.app.state
    params = ws.query_params
    fmt = params.get("format", "pcm")
    if fmt not in ("pcm", "webm"):
        await ws.send_json({"type": "error", "message": "format must be pcm or webm"})
        await ws.close(code=4400)
        return
    options = StreamOptions(language=params.get("language") or None)
    try:
        engine = await anyio.to_thread.run_sync(state.models.get, params.get("model") or None)
        asr = EngineASR(engine, options)
        vac = VacOptions() if params.get("vac", "1") != "0" else None
        started = time.monotonic()
        processor = processor_factory(asr, options, vac=vac)(lambda: time.monotonic() - started)
    except YuyinError as exc:
        await ws.send_json({"type": "error", "message": exc.message, "hint": exc.hint})
        await ws.close(code=4400)
        return

    # One decoding step at a time per connection, in a worker thread; audio waits in a queue.
    audio: asyncio.Queue[NDArray[np.float32] | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def send(events: list[StreamEvent]) -> None:
        for event in events:
            await ws.send_json(event_json(event))

    async def decode_loop() -> None:
        while True:
            samples = await audio.get()
            if samples is None:
                return
            await send(await anyio.to_thread.run_sync(processor.feed, samples))

    decoder_task = asyncio.create_task(decode_loop())
    webm = (
        _WebmDecoder(lambda s: loop.call_soon_threadsafe(audio.put_nowait, s))
        if fmt == "webm"
        else None
    )
    leftover = b""
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes") is not None:
                data = leftover + message["bytes"]
                if webm is not None:
                    await anyio.to_thread.run_sync(webm.write, data)
                    continue
                usable = len(data) - len(data) % 2  # an odd byte waits for its partner
                leftover = data[usable:]
                pcm = np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0
                if pcm.size:
                    await audio.put(pcm)
                continue
            command = _command(message.get("text") or "")
            if command in ("flush", "end"):
                if webm is not None:
                    await anyio.to_thread.run_sync(webm.close)
                    if webm.error is not None:
                        await ws.send_json({"type": "error", "message": webm.error.message})
                await audio.put(None)
                await decoder_task
                await send(await anyio.to_thread.run_sync(processor.finish))
                if command == "end":
                    await ws.send_json({"type": "done"})
                    await ws.close()
                    return
                processor = processor_factory(asr, options, vac=vac)(
                    lambda: time.monotonic() - started
                )
                decoder_task = asyncio.create_task(decode_loop())
                if webm is not None:
                    webm = _WebmDecoder(lambda s: loop.call_soon_threadsafe(audio.put_nowait, s))
            else:
                await ws.send_json(
                    {
                        "type": "error",
                        "message": "expected binary audio frames or "
                        '{"type": "flush"} / {"type": "end"}',
                    }
                )
    except WebSocketDisconnect:
        pass
    finally:
        # A client that vanished: stop decoding for it and let go of its buffers.
        decoder_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await decoder_task
        if webm is not None:
            webm.close()
        log.info("live stream closed after %.1f s", time.monotonic() - started)


def _command(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return ""
    return str(data.get("type", "")) if isinstance(data, dict) else ""
