"""Encode float samples to WAV, FLAC, MP3 or Opus bytes with PyAV, and write them atomically."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

from yuyin.audio.samples import as_channels
from yuyin.errors import ConfigurationError, OutputError
from yuyin.fileio import atomic_write_bytes

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "AUDIO_FORMATS",
    "SAMPLE_FORMATS",
    "encode_audio",
    "extension_for",
    "format_for_path",
    "sample_format_for_bits",
    "write_audio",
]

#: Sample formats of `--sample-format`: unsigned 8-bit, signed 16/24/32-bit, 32-bit float.
SAMPLE_FORMATS: tuple[str, ...] = ("u8", "s16", "s24", "s32", "f32")

_BLOCK_FRAMES = 1 << 16


@dataclass(frozen=True, slots=True)
class _Encoding:
    muxer: str
    # sample format -> (encoder, the FFmpeg sample format it is fed); None: no choice.
    codecs: dict[str | None, tuple[str, str]]
    default: str | None
    extensions: tuple[str, ...]


_ENCODINGS: dict[str, _Encoding] = {
    "wav": _Encoding(
        "wav",
        {
            "u8": ("pcm_u8", "u8"),
            "s16": ("pcm_s16le", "s16"),
            # FFmpeg feeds 24-bit PCM encoders 32-bit words and drops the low byte.
            "s24": ("pcm_s24le", "s32"),
            "s32": ("pcm_s32le", "s32"),
            "f32": ("pcm_f32le", "flt"),
        },
        "s16",
        (".wav", ".wave"),
    ),
    "flac": _Encoding("flac", {"s16": ("flac", "s16"), "s24": ("flac", "s32")}, "s16", (".flac",)),
    "mp3": _Encoding("mp3", {None: ("libmp3lame", "fltp")}, None, (".mp3",)),
    "opus": _Encoding("ogg", {None: ("libopus", "flt")}, None, (".opus", ".ogg")),
}

#: Output formats that `write_audio` and `yuyin audio convert` can write.
AUDIO_FORMATS: tuple[str, ...] = tuple(_ENCODINGS)


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The output format a file name asks for, from its extension.

    Args:
        path: the output file name.

    Raises:
        ConfigurationError: an extension that is not .wav, .flac, .mp3, .opus or .ogg.
    """
    suffix = Path(path).suffix.lower()
    for name, encoding in _ENCODINGS.items():
        if suffix in encoding.extensions:
            return name
    raise ConfigurationError(
        f"cannot tell the audio format from the name {os.fspath(path)!r}",
        hint="end the output name with .wav, .flac, .mp3, .opus or .ogg",
    )


def extension_for(audio_format: str) -> str:
    """The usual file extension of an output format (".wav", ".flac", ".mp3", ".opus").

    Args:
        audio_format: one of `AUDIO_FORMATS`.

    Raises:
        ConfigurationError: an unknown format.
    """
    return _encoding(audio_format).extensions[0]


def sample_format_for_bits(bit_depth: int | None, *, is_float: bool = False) -> str:
    """The `SAMPLE_FORMATS` entry closest to a source's bit depth (s16 when unknown).

    Args:
        bit_depth: bits per sample of the source, None for lossy sources.
        is_float: the source stores floating-point samples.
    """
    if is_float:
        return "f32"
    return {8: "u8", 24: "s24", 32: "s32"}.get(bit_depth or 16, "s16")


def encode_audio(
    audio: ArrayLike,
    sample_rate: int,
    *,
    audio_format: str = "wav",
    sample_format: str | None = None,
    bitrate: int | None = None,
) -> bytes:
    """Encode float samples (±1.0 full scale, clipped beyond) into a complete audio file.

    Args:
        audio: samples shaped (frames,) or (channels, frames).
        sample_rate: rate of `audio` in Hz; MP3 and Opus accept only their standard rates.
        audio_format: one of `AUDIO_FORMATS` (wav, flac, mp3, opus).
        sample_format: one of `SAMPLE_FORMATS` for wav (all) and flac (s16, s24); None
            picks s16. MP3 and Opus have no sample format.
        bitrate: target bits per second for mp3 and opus; None uses the encoder's default.

    Raises:
        ConfigurationError: a format, sample format, rate or channel count the codec refuses.
        OutputError: the encoder failed.
    """
    encoding = _encoding(audio_format)
    key = sample_format if sample_format is not None else encoding.default
    if key not in encoding.codecs:
        choices = ", ".join(k for k in encoding.codecs if k) or "none (the codec decides)"
        raise ConfigurationError(
            f"{audio_format} cannot store sample format {sample_format}",
            hint=f"sample formats for {audio_format}: {choices}",
        )
    codec_name, av_format = encoding.codecs[key]
    frames = as_channels(audio)
    channels = frames.shape[0]
    _check_rate_and_channels(audio_format, codec_name, sample_rate, channels)
    layout = av.AudioLayout(f"{channels}c")  # FFmpeg's default layout for that count
    buffer = io.BytesIO()
    try:
        with av.open(buffer, mode="w", format=encoding.muxer) as container:
            stream = container.add_stream(codec_name, rate=sample_rate, layout=layout)
            context = stream.codec_context
            context.format = av_format
            if bitrate is not None:
                context.bit_rate = bitrate
            context.open()
            resampler = av.AudioResampler(
                format=av_format,
                layout=layout,
                rate=sample_rate,
                frame_size=context.frame_size or None,
            )
            clipped = np.clip(frames, -1.0, 1.0)
            for at in range(0, clipped.shape[1], _BLOCK_FRAMES):
                block = np.ascontiguousarray(clipped[:, at : at + _BLOCK_FRAMES])
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
                frame.sample_rate = sample_rate
                frame.pts = at
                frame.time_base = Fraction(1, sample_rate)
                for out in resampler.resample(frame):
                    container.mux(stream.encode(out))
            for out in resampler.resample(None):
                container.mux(stream.encode(out))
            container.mux(stream.encode(None))
    except (av.FFmpegError, ValueError) as exc:
        raise OutputError(
            f"the {codec_name} encoder failed: {exc}",
            hint="try another format, sample rate or bitrate",
        ) from exc
    return buffer.getvalue()


def _encoding(audio_format: str) -> _Encoding:
    encoding = _ENCODINGS.get(audio_format)
    if encoding is None:
        raise ConfigurationError(
            f"unknown audio format {audio_format!r}",
            hint="choose one of " + ", ".join(AUDIO_FORMATS),
        )
    return encoding


def _check_rate_and_channels(
    audio_format: str, codec: str, sample_rate: int, channels: int
) -> None:
    if sample_rate <= 0:
        raise ConfigurationError(
            f"sample rate must be positive, not {sample_rate}", hint="e.g. 16000 or 48000"
        )
    rates = av.Codec(codec, "w").audio_rates
    if rates and sample_rate not in rates:
        allowed = ", ".join(str(r) for r in sorted(rates))
        raise ConfigurationError(
            f"{audio_format} cannot be written at {sample_rate} Hz",
            hint=f"choose --sample-rate from {allowed}",
        )
    if channels < 1 or (audio_format in ("mp3", "opus") and channels > 2):
        raise ConfigurationError(
            f"{audio_format} cannot hold {channels} channels here",
            hint="use --channels 1 or 2, or write wav/flac",
        )


def write_audio(
    path: str | os.PathLike[str],
    audio: ArrayLike,
    sample_rate: int,
    *,
    audio_format: str | None = None,
    sample_format: str | None = None,
    bitrate: int | None = None,
) -> Path:
    """Encode and write an audio file atomically (a temporary file, then a rename).

    Args:
        path: output file; its extension picks the format unless `audio_format` is given.
        audio: samples shaped (frames,) or (channels, frames), ±1.0 full scale.
        sample_rate: rate of `audio` in Hz.
        audio_format: one of `AUDIO_FORMATS`; None reads it from the extension.
        sample_format: see `encode_audio`.
        bitrate: see `encode_audio`, in bits per second.

    Raises:
        ConfigurationError: see `encode_audio`.
        OutputError: encoding failed or the file cannot be written.
    """
    chosen = audio_format or format_for_path(path)
    data = encode_audio(
        audio, sample_rate, audio_format=chosen, sample_format=sample_format, bitrate=bitrate
    )
    return atomic_write_bytes(path, data)
