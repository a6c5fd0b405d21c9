"""Running one uploaded file through the pipeline: limits, temp files, slots, timeouts."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import anyio
from fastapi import Request, UploadFile

from yuyin.audio import SAMPLE_RATE, decode_audio
from yuyin.errors import InputError
from yuyin.options import TranscribeOptions
from yuyin.server.errors import ApiError
from yuyin.transcribe import transcribe
from yuyin.types import Segment, Transcript

__all__ = ["analyse_upload", "run_transcription"]

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


def _client_error(exc: InputError, folder: Path, upload: UploadFile) -> ApiError:
    """A 400 that names the client's file, never the server's private temp path."""
    name = repr(upload.filename or "upload")
    message = exc.message
    for saved in sorted((str(p) for p in folder.glob("upload*")), key=len, reverse=True):
        message = message.replace(saved, name)
    message = message.replace(str(folder), name)
    return ApiError(400, f"{message}. {exc.hint}", code=type(exc).__name__, param="file")


def _fetch_url(url: str, folder: Path, limit_bytes: int) -> str:
    """Download one media URL into the request's private folder (no shared cache).

    Without yt-dlp the URL itself comes back and FFmpeg streams it (the duration limit holds).
    """
    from yuyin.media import MediaOptions, fetch_media, list_media

    media = MediaOptions()
    entries = list_media(url, media, download_dir=folder)
    path = fetch_media(entries[0], media, download_dir=folder)
    if Path(path).is_file() and Path(path).stat().st_size > limit_bytes:
        raise ApiError(
            413,
            f"the media at that URL is larger than the {limit_bytes / 1e6:.0f} MB limit",
            code="file_too_large",
            param="url",
        )
    return path


async def run_transcription(
    request: Request,
    file: UploadFile | None,
    model: str,
    options: TranscribeOptions,
    *,
    url: str | None = None,
) -> Transcript:
    """Store the upload (or download `url`) privately, wait for a slot, transcribe, clean up.

    Raises:
        ApiError: 400 bad or empty upload, 403 URL input disabled, 413 too large/long,
            429 busy, 504 timeout.
        YuyinError: other failures (unknown model, bad language), mapped by the app.
    """
    state = request.app.state
    settings = state.settings
    limit = int(settings.max_upload_mb * 1e6)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + _CHUNK:
        raise ApiError(413, f"request too large: the limit is {limit / 1e6:.0f} MB", param="file")

    if url is not None and not settings.url_input:
        raise ApiError(
            403,
            "this server does not download URLs; upload the file instead "
            "(its operator can allow it with `yuyin serve --allow-urls`)",
            code="url_input_disabled",
            param="url",
        )
    folder = Path(tempfile.mkdtemp(prefix="yuyin-upload-", dir=state.upload_root))
    os.chmod(folder, 0o700)
    cancelled = threading.Event()
    try:
        saved_path = await _save_upload(file, folder, limit) if file is not None else None
        async with state.admission.slot():
            state.metrics.in_flight.set(state.admission.active)
            state.metrics.queue_depth.set(state.admission.waiting)

            def work() -> Transcript:
                path = saved_path or _fetch_url(str(url), folder, limit)
                audio, _ = decode_audio(path)  # before loading a model for a bad upload
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
        return result
    except InputError as exc:
        if file is None:  # the message names the URL, not a private path
            raise ApiError(400, f"{exc.message}. {exc.hint}", code=type(exc).__name__,
                           param="url") from exc  # fmt: skip
        raise _client_error(exc, folder, file) from exc
    finally:
        if file is not None:
            await file.close()
        # The worker may still hold the file after a timeout; remove the folder when it can.
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def analyse_upload(request: Request, file: UploadFile) -> bytes:
    """Draw the upload's waveform and mel spectrogram as PNG bytes (the `audio` extra).

    Raises:
        ApiError: 400 bad or empty upload, 413 too large or too long.
        MissingDependencyError: matplotlib/librosa are not installed (501).
    """
    settings = request.app.state.settings
    folder = Path(tempfile.mkdtemp(prefix="yuyin-upload-", dir=request.app.state.upload_root))
    try:
        path = await _save_upload(file, folder, int(settings.max_upload_mb * 1e6))

        def draw() -> bytes:
            from yuyin.analysis import plot_audio
            from yuyin.audio import load

            # 16 kHz mono is what the model hears and keeps long files cheap to draw.
            audio, rate = load(path, sample_rate=SAMPLE_RATE, mono=True)
            if audio.size / rate > settings.max_audio_seconds:
                raise ApiError(413, "audio too long to analyse", param="file")
            figure = plot_audio(audio, rate, kinds=("waveform", "mel"), width=10.0)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
            return buffer.getvalue()

        return await anyio.to_thread.run_sync(draw)
    except InputError as exc:
        raise _client_error(exc, folder, file) from exc
    finally:
        await file.close()
        await asyncio.to_thread(shutil.rmtree, folder, True)
