"""Decode any media PyAV can open into 16 kHz mono float32, whole or in chunks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import av
import numpy as np

from yuyin.errors import AudioDecodeError, MediaNotFoundError
from yuyin.types import AudioInfo

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["SAMPLE_RATE", "AudioSource", "decode_audio", "iter_audio", "probe_audio"]

#: The sample rate Whisper and Silero VAD expect.
SAMPLE_RATE = 16000

AudioSource = str | os.PathLike[str] | IO[bytes]


def _name(source: AudioSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def _open(source: AudioSource) -> av.container.InputContainer:
    if not isinstance(source, (str, os.PathLike)) and not callable(getattr(source, "read", None)):
        kind = type(source).__name__
        hint = "pass a path, a URL, a binary file object or 16 kHz float32 samples"
        if isinstance(source, tuple):  # decode_audio's (samples, info) passed on whole
            hint = "decode_audio returns (samples, info): pass the samples"
        raise AudioDecodeError(f"cannot read audio from a {kind}", hint=hint)
    name = _name(source)
    if isinstance(source, str) and _is_url(source):
        return _open_url(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise MediaNotFoundError(f"no such file: {name}", hint="check the path")
        if path.is_dir():
            raise MediaNotFoundError(
                f"{name} is a folder, not a media file",
                hint="pass the files, or the folder to `yuyin transcribe`, which looks inside it",
            )
        if path.stat().st_size == 0:
            raise AudioDecodeError(f"{name} is empty (0 bytes)", hint="check the file was copied")
    try:
        container = av.open(source if not isinstance(source, os.PathLike) else os.fspath(source))
    except av.FFmpegError as exc:
        raise AudioDecodeError(
            f"{name} is not a media file PyAV can read ({exc.strerror or type(exc).__name__})",
            hint="pass an audio or video file (wav, flac, mp3, m4a, ogg, opus, webm, mp4, mkv...)",
        ) from exc
    if not isinstance(container, av.container.InputContainer):  # av.open's union return type
        raise AudioDecodeError(f"{name} opened for writing", hint="pass a readable input")
    return container


def _is_url(text: str) -> bool:
    return text.split("://", 1)[0].lower() in ("http", "https")


def _open_url(url: str) -> av.container.InputContainer:
    # Direct media links are read by FFmpeg's own HTTP client as a stream, so nothing is
    # stored; pages that need a site-specific extractor (YouTube...) are not media links.
    try:
        container = av.open(url, timeout=(15.0, 60.0))
    except av.FFmpegError as exc:
        raise AudioDecodeError(
            f"cannot read media from {url} ({exc.strerror or type(exc).__name__})",
            hint="check the link opens a media file (not a web page) and that you are online; "
            "or download it and pass the file",
        ) from exc
    if not isinstance(container, av.container.InputContainer):
        raise AudioDecodeError(f"{url} opened for writing", hint="pass a readable input")
    return container


def _info(name: str, container: av.container.InputContainer) -> AudioInfo:
    if not container.streams.audio:
        container.close()
        raise AudioDecodeError(
            f"{name} has no audio track",
            hint="pass a file with sound; `yuyin audio info` shows what a file holds",
        )
    stream = container.streams.audio[0]
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    else:
        duration = 0.0
    return AudioInfo(
        path=name,
        container=container.format.name,
        codec=stream.codec_context.name,
        sample_rate=stream.codec_context.sample_rate or 0,
        channels=stream.codec_context.channels or 0,
        duration=duration,
        has_video=bool(container.streams.video),
    )


def probe_audio(source: AudioSource) -> AudioInfo:
    """Read container facts (codec, rate, channels, declared duration) without decoding."""
    container = _open(source)
    try:
        return _info(_name(source), container)
    finally:
        container.close()


def iter_audio(
    source: AudioSource, *, sample_rate: int = SAMPLE_RATE, chunk_seconds: float = 30.0
) -> Iterator[NDArray[np.float32]]:
    """Yield the first audio track as mono float32 chunks of about `chunk_seconds` each.

    Memory stays bounded by one chunk however long the input is.

    Raises:
        MediaNotFoundError: the path does not exist.
        AudioDecodeError: not media, no audio track, or corrupt data.
    """
    name = _name(source)
    container = _open(source)
    _info(name, container)
    yield from _decode(name, container, sample_rate, chunk_seconds)


def _decode(
    name: str, container: av.container.InputContainer, sample_rate: int, chunk_seconds: float
) -> Iterator[NDArray[np.float32]]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunk_samples = max(1, int(chunk_seconds * sample_rate))
    pending: list[NDArray[np.float32]] = []
    pending_len = 0
    decoded = 0
    try:
        stream = container.streams.audio[0]
        frames = container.decode(stream)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                frame = None
            for out in resampler.resample(frame):
                samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                pending.append(samples)
                pending_len += samples.size
                decoded += samples.size
            while pending_len >= chunk_samples:
                joined = np.concatenate(pending)
                yield joined[:chunk_samples]
                rest = joined[chunk_samples:]
                pending, pending_len = ([rest] if rest.size else []), rest.size
            if frame is None:
                break
    except av.FFmpegError as exc:
        at = decoded / sample_rate
        raise AudioDecodeError(
            f"{name} is corrupt or truncated (decoding failed at {at:.1f} s: "
            f"{exc.strerror or type(exc).__name__})",
            hint="re-export or re-download the file; `ffmpeg -i FILE out.wav` may salvage it",
        ) from exc
    finally:
        container.close()
    if pending_len:
        yield np.concatenate(pending)


def decode_audio(
    source: AudioSource, *, sample_rate: int = SAMPLE_RATE
) -> tuple[NDArray[np.float32], AudioInfo]:
    """Decode the first audio track to mono float32 at `sample_rate`, opening the file once.

    Args:
        source: a path or a binary file object (e.g. standard input read into memory).
        sample_rate: output rate in Hz.

    Raises:
        MediaNotFoundError: the path does not exist.
        AudioDecodeError: not media, empty, no audio track, corrupt data or no samples.
    """
    name = _name(source)
    container = _open(source)
    info = _info(name, container)
    chunks = list(_decode(name, container, sample_rate, chunk_seconds=60.0))
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if audio.size == 0:
        raise AudioDecodeError(
            f"{name} contains no audio samples (zero length)",
            hint="check the recording; the file holds an audio track with nothing in it",
        )
    decoded_duration = audio.size / sample_rate
    # A file cut off mid-download decodes cleanly up to the cut, so compare with the length
    # its header declares (generous margin: VBR estimates are approximate).
    if info.duration > 0 and decoded_duration < 0.9 * info.duration - 0.5:
        raise AudioDecodeError(
            f"{name} is truncated: only {decoded_duration:.1f} s of its declared "
            f"{info.duration:.1f} s could be decoded",
            hint="re-copy or re-download the file; to keep the readable part run "
            "`ffmpeg -i FILE fixed.wav` and transcribe that",
        )
    return audio, AudioInfo(
        path=info.path,
        container=info.container,
        codec=info.codec,
        sample_rate=info.sample_rate,
        channels=info.channels,
        duration=decoded_duration,
        has_video=info.has_video,
    )
