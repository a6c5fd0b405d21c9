"""`POST /v1/audio/transcriptions` and `/v1/audio/translations`, as OpenAI defines them."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from yuyin.audio import SAMPLE_RATE, decode_audio
from yuyin.errors import InputError
from yuyin.formats import to_srt, to_vtt
from yuyin.languages import LANGUAGES
from yuyin.options import DEFAULT_TEMPERATURES, TranscribeOptions
from yuyin.server.deps import require_api_key
from yuyin.server.errors import ApiError
from yuyin.transcribe import transcribe
from yuyin.types import Segment, Transcript

__all__ = ["router"]

router = APIRouter(prefix="/v1/audio", tags=["audio"], dependencies=[Depends(require_api_key)])

RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
_CHUNK = 1 << 20


class _CancelledError(Exception):
    """Raised inside the worker thread to stop decoding after a timeout."""


async def _save_upload(upload: UploadFile, folder: Path, limit_bytes: int) -> Path:
    # Only the extension of the client's file name is kept (FFmpeg probes the content anyway),
    # so no part of a request ever names a path.
    suffix = Path(upload.filename or "").suffix.lower()
    suffix = suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ""
    target = folder / f"upload{suffix}"
    size = 0
    with target.open("wb") as out:
        while chunk := await upload.read(_CHUNK):
            size += len(chunk)
            if size > limit_bytes:
                raise ApiError(
                    413,
                    f"file too large: the limit is {limit_bytes / 1e6:.0f} MB",
                    code="file_too_large",
                    param="file",
                )
            out.write(chunk)
    if size == 0:
        raise ApiError(400, "the uploaded file is empty", code="empty_file", param="file")
    return target


def _options(
    task: str, language: str | None, prompt: str | None, temperature: float, words: bool
) -> TranscribeOptions:
    # OpenAI: temperature 0 means "start at 0 and raise it on failure", i.e. the ladder.
    ladder = DEFAULT_TEMPERATURES if temperature == 0 else (temperature,)
    if not 0.0 <= temperature <= 1.0:
        raise ApiError(400, "temperature must be between 0 and 1", param="temperature")
    return TranscribeOptions(
        language=language or None,
        task=task,
        initial_prompt=prompt or None,
        temperature=ladder,
        word_timestamps=words,
    )


def _segment_json(seg: Segment) -> dict[str, Any]:
    return {
        "id": seg.id,
        "seek": 0,
        "start": round(seg.start, 3),
        "end": round(seg.end, 3),
        "text": seg.text,
        "tokens": [],
        "temperature": seg.temperature,
        "avg_logprob": round(seg.avg_logprob, 4),
        "compression_ratio": round(seg.compression_ratio, 4),
        "no_speech_prob": round(seg.no_speech_prob, 4),
    }


def _respond(t: Transcript, fmt: str, task: str, granularities: list[str]) -> Response:
    if fmt == "text":
        return PlainTextResponse(t.text + "\n")
    if fmt == "srt":
        return PlainTextResponse(to_srt(t))
    if fmt == "vtt":
        return PlainTextResponse(to_vtt(t), media_type="text/vtt")
    if fmt == "json":
        return JSONResponse({"text": t.text})
    body: dict[str, Any] = {
        "task": task,
        "language": LANGUAGES.get(t.language, t.language),
        "duration": round(t.duration, 3),
        "text": t.text,
    }
    if "segment" in granularities or not granularities:
        body["segments"] = [_segment_json(s) for s in t.segments]
    if "word" in granularities:
        body["words"] = [
            {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3)}
            for w in t.words
        ]
    return JSONResponse(body)


async def _handle(
    request: Request,
    task: str,
    file: UploadFile,
    model: str,
    language: str | None,
    prompt: str | None,
    response_format: str,
    temperature: float,
    granularities: list[str],
) -> Response:
    state = request.app.state
    settings = state.settings
    if response_format not in RESPONSE_FORMATS:
        raise ApiError(
            400,
            f"unsupported response_format {response_format!r}; use one of "
            + ", ".join(RESPONSE_FORMATS),
            param="response_format",
        )
    bad = [g for g in granularities if g not in ("word", "segment")]
    if bad:
        raise ApiError(
            400, f"unknown timestamp granularity {bad[0]!r}", param="timestamp_granularities"
        )
    options = _options(task, language, prompt, temperature, "word" in granularities)
    limit = int(settings.max_upload_mb * 1e6)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + _CHUNK:
        raise ApiError(413, f"request too large: the limit is {limit / 1e6:.0f} MB", param="file")

    folder = Path(tempfile.mkdtemp(prefix="yuyin-upload-", dir=state.upload_root))
    os.chmod(folder, 0o700)
    cancelled = threading.Event()
    path: Path | None = None
    try:
        path = await _save_upload(file, folder, limit)
        saved_path = path
        async with state.admission.slot():
            state.metrics.in_flight.set(state.admission.active)
            state.metrics.queue_depth.set(state.admission.waiting)

            def work() -> Transcript:
                audio, _ = decode_audio(saved_path)  # before loading a model for a bad upload
                if audio.size / SAMPLE_RATE > settings.max_audio_seconds:
                    raise ApiError(
                        413,
                        f"audio too long: {audio.size / SAMPLE_RATE:.0f} s, the limit is "
                        f"{settings.max_audio_seconds:.0f} s",
                        code="audio_too_long",
                        param="file",
                    )

                def check(_: Segment) -> None:
                    if cancelled.is_set():
                        raise _CancelledError

                engine = state.models.get(model)
                return transcribe(audio, options=options, engine=engine, on_segment=check)

            started = time.perf_counter()
            try:
                with anyio.fail_after(settings.request_timeout_s):
                    result = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
            except TimeoutError:
                cancelled.set()
                raise ApiError(
                    504, "transcription timed out; send shorter audio", code="timeout"
                ) from None
            finally:
                state.metrics.in_flight.set(max(0, state.admission.active - 1))
            elapsed = time.perf_counter() - started
        if result.duration > 0:
            state.metrics.audio_seconds.inc(result.duration)
            state.metrics.real_time_factor.observe(elapsed / result.duration)
        return _respond(result, response_format, task, granularities)
    except InputError as exc:
        # Name the client's file, never the server's private temp path.
        saved = str(path) if path is not None else str(folder)
        message = exc.message.replace(saved, repr(file.filename or "upload"))
        raise ApiError(
            400, f"{message}. {exc.hint}", code=type(exc).__name__, param="file"
        ) from exc
    finally:
        await file.close()
        # The worker may still hold the file after a timeout; remove the folder when it can.
        await asyncio.to_thread(shutil.rmtree, folder, True)


Upload = Annotated[UploadFile, File(description="The audio or video file.")]
Granularities = Annotated[list[str], Form(alias="timestamp_granularities[]")]


@router.post("/transcriptions")
async def transcriptions(
    request: Request,
    file: Upload,
    model: Annotated[str, Form()] = "whisper-1",
    language: Annotated[str | None, Form()] = None,
    prompt: Annotated[str | None, Form()] = None,
    response_format: Annotated[str, Form()] = "json",
    temperature: Annotated[float, Form()] = 0.0,
    timestamp_granularities: Granularities = [],  # noqa: B006 - FastAPI copies defaults
) -> Response:
    """Transcribe speech in its own language (OpenAI `audio.transcriptions.create`)."""
    return await _handle(
        request, "transcribe", file, model, language, prompt, response_format, temperature,
        timestamp_granularities,
    )  # fmt: skip


@router.post("/translations")
async def translations(
    request: Request,
    file: Upload,
    model: Annotated[str, Form()] = "whisper-1",
    prompt: Annotated[str | None, Form()] = None,
    response_format: Annotated[str, Form()] = "json",
    temperature: Annotated[float, Form()] = 0.0,
) -> Response:
    """Translate speech into English text (OpenAI `audio.translations.create`)."""
    return await _handle(
        request, "translate", file, model, None, prompt, response_format, temperature, []
    )
