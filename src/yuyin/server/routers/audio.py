"""`POST /v1/audio/transcriptions` and `/v1/audio/translations`, as OpenAI defines them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from yuyin.formats import to_srt, to_vtt
from yuyin.languages import LANGUAGES
from yuyin.options import DEFAULT_TEMPERATURES, TranscribeOptions
from yuyin.server.deps import require_api_key
from yuyin.server.errors import ApiError
from yuyin.server.jobs import run_transcription
from yuyin.types import Segment, Transcript

__all__ = ["router"]

router = APIRouter(prefix="/v1/audio", tags=["audio"], dependencies=[Depends(require_api_key)])

RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")


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
    result = await run_transcription(request, file, model, options)
    return _respond(result, response_format, task, granularities)


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
