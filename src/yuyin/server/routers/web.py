"""The web page (static files, no build step) and its JSON helper endpoints."""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from yuyin.formats import render
from yuyin.languages import LANGUAGES
from yuyin.options import OutputOptions, TranscribeOptions
from yuyin.server.deps import require_api_key
from yuyin.server.errors import ApiError
from yuyin.server.jobs import analyse_upload, run_transcription

__all__ = ["WEB_ROOT", "router"]

#: The folder of the page's HTML, JavaScript and CSS (shipped inside the package).
WEB_ROOT = resources.files("yuyin.server") / "web"

router = APIRouter(tags=["web page"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> HTMLResponse:
    """The single-page interface."""
    return HTMLResponse((WEB_ROOT / "index.html").read_text(encoding="utf-8"))


@router.get("/api/config")
async def config(request: Request) -> dict[str, Any]:
    """What the page needs to draw its settings: models, languages, whether a key is needed."""
    state = request.app.state
    return {
        "models": state.models.available(),
        "default_model": state.settings.default_model,
        "languages": {"zh-TW": "繁體中文 (Taiwan)", "zh-CN": "简体中文"} | LANGUAGES,
        "api_key_required": state.settings.api_key is not None,
        "max_upload_mb": state.settings.max_upload_mb,
        "url_input": state.settings.url_input,
    }


@router.post("/api/transcribe", dependencies=[Depends(require_api_key)])
async def transcribe_for_page(
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
    url: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
    task: Annotated[str, Form()] = "transcribe",
    word_timestamps: Annotated[bool, Form()] = True,
) -> dict[str, Any]:
    """Transcribe an upload (or a media URL) and return the transcript and every format."""
    if task not in ("transcribe", "translate"):
        raise ApiError(400, f"unknown task {task!r}", param="task")
    if (file is None) == (not url.strip()):
        raise ApiError(400, "send either a file or a url, not both or neither", param="file")
    options = TranscribeOptions(
        language=language or None, task=task, word_timestamps=word_timestamps
    )
    transcript = await run_transcription(
        request, file, model or "", options, url=url.strip() or None
    )
    layout = OutputOptions()
    return {
        "transcript": transcript.to_dict(),
        "formats": {fmt: render(transcript, fmt, layout) for fmt in ("txt", "srt", "vtt", "json")},
    }


@router.post("/api/analysis", dependencies=[Depends(require_api_key)])
async def analysis_for_page(request: Request, file: Annotated[UploadFile, File()]) -> Response:
    """A PNG of the upload's waveform and mel spectrogram (the page's analysis view)."""
    return Response(await analyse_upload(request, file), media_type="image/png")
