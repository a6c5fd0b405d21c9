"""Decode media at its own sample rate with every channel kept, for analysis and editing.

`decode_audio` gives what Whisper needs (16 kHz mono); the audio tools need the file as it
is stored: its rate, its channels, its sample format and bit depth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import av
import numpy as np

from yuyin.audio.decode import AudioSource, _info, _name, _open
from yuyin.audio.samples import resample, to_mono
from yuyin.errors import AudioDecodeError, ConfigurationError, InputError
from yuyin.types import AudioInfo

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["LoadedAudio", "load", "load_audio"]

_PCM_CODEC = re.compile(r"pcm_([suf])(\d+)")


@dataclass(frozen=True, slots=True)
class LoadedAudio:
    """Samples of the first audio track at the file's own rate, plus how they were stored.

    Attributes:
        samples: float32 array shaped (channels, frames), full scale is ±1.0.
        sample_rate: frames per second of `samples` (the file's own rate).
        info: container facts; `info.duration` is the decoded length of the whole file.
        sample_format: FFmpeg's name for the decoded sample format (s16, s32, flt, fltp...).
        bit_depth: bits per sample of PCM and lossless codecs; None for lossy codecs.
        start: where `samples` begins in the file, in seconds.
    """

    samples: NDArray[np.float32]
    sample_rate: int
    info: AudioInfo
    sample_format: str
    bit_depth: int | None
    start: float = 0.0

    @property
    def channels(self) -> int:
        """Number of channels."""
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        """Length of `samples` in seconds."""
        return self.samples.shape[1] / self.sample_rate if self.sample_rate else 0.0


def load_audio(
    source: AudioSource,
    *,
    start: float = 0.0,
    end: float | None = None,
    allow_empty: bool = False,
) -> LoadedAudio:
    """Decode the first audio track keeping its rate, channels and storage facts.

    Args:
        source: a path or a binary file object.
        start: first second to keep (0 keeps from the beginning).
        end: second to stop at; None keeps to the end of the file.
        allow_empty: return a (channels, 0) array for a file with no samples instead of raising.

    Raises:
        MediaNotFoundError: the path does not exist.
        AudioDecodeError: not media, no audio track, corrupt, truncated, or no samples.
        ConfigurationError: `start` is negative or `end` is not after `start`.
        InputError: `start` is at or past the end of the audio.
    """
    if start < 0 or (end is not None and end <= start):
        raise ConfigurationError(
            f"bad time range: start {start:g} s, end {end if end is None else f'{end:g} s'}",
            hint="start must be 0 or more and end must be after start",
        )
    name = _name(source)
    container = _open(source)
    info = _info(name, container)
    codec = container.streams.audio[0].codec_context
    sample_format = codec.format.name if codec.format is not None else ""
    format_bits = codec.format.bits if codec.format is not None else 0
    samples, sample_rate, total = _decode(name, container, info, start, end)
    duration = total / sample_rate if sample_rate else 0.0
    if total == 0 and not allow_empty:
        raise AudioDecodeError(
            f"{name} contains no audio samples (zero length)",
            hint="check the recording; the file holds an audio track with nothing in it",
        )
    # A file cut off mid-download decodes cleanly up to the cut (same test as decode_audio).
    if info.duration > 0 and duration < 0.9 * info.duration - 0.5:
        raise AudioDecodeError(
            f"{name} is truncated: only {duration:.2f} s of its declared "
            f"{info.duration:.2f} s could be decoded",
            hint="re-copy or re-download the file; `ffmpeg -i FILE fixed.wav` keeps the "
            "readable part",
        )
    if total and start >= duration:
        raise InputError(
            f"start {start:g} s is past the end of {name} ({duration:.3f} s long)",
            hint=f"choose a start below {duration:.3f} s",
        )
    return LoadedAudio(
        samples=samples,
        sample_rate=sample_rate,
        info=AudioInfo(
            path=info.path,
            container=info.container,
            codec=info.codec,
            sample_rate=sample_rate,
            channels=samples.shape[0],
            duration=duration,
            has_video=info.has_video,
        ),
        sample_format=sample_format,
        bit_depth=_bit_depth(info.codec, sample_format, format_bits, samples),
        start=start if total else 0.0,
    )


def load(
    source: AudioSource,
    *,
    sample_rate: int | None = None,
    mono: bool = False,
    start: float = 0.0,
    end: float | None = None,
) -> tuple[NDArray[np.float32], int]:
    """Decode audio as float32 numpy samples and their rate (librosa-style).

    Args:
        source: a path or a binary file object.
        sample_rate: resample to this rate in Hz (soxr, high quality); None keeps the file's.
        mono: average the channels into a 1-D array; otherwise shape is (channels, frames).
        start: first second to keep.
        end: second to stop at; None keeps to the end.

    Raises:
        MediaNotFoundError, AudioDecodeError, InputError, ConfigurationError: see `load_audio`.
        MissingDependencyError: resampling needs the `audio` extra (soxr).
    """
    loaded = load_audio(source, start=start, end=end)
    samples, rate = loaded.samples, loaded.sample_rate
    if sample_rate is not None and sample_rate != rate:
        samples = resample(samples, rate, sample_rate)
        rate = sample_rate
    if mono:
        return to_mono(samples), rate
    return samples, rate


def _decode(
    name: str,
    container: av.container.InputContainer,
    info: AudioInfo,
    start: float,
    end: float | None,
) -> tuple[NDArray[np.float32], int, int]:
    """Decode to planar float, keeping only frames inside [start, end); also count all frames."""
    resampler: av.AudioResampler | None = None
    rate = info.sample_rate
    kept: list[NDArray[np.float32]] = []
    channels = info.channels or 1
    total = 0
    try:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            if resampler is None:
                rate = frame.sample_rate or rate
                channels = frame.layout.nb_channels or channels
                # Same rate and layout: libswresample only converts the sample format.
                resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=rate)
            for out in resampler.resample(frame):
                total = _keep(_planar(out), total, rate, start, end, kept)
        if resampler is not None:
            for out in resampler.resample(None):
                total = _keep(_planar(out), total, rate, start, end, kept)
    except av.FFmpegError as exc:
        raise AudioDecodeError(
            f"{name} is corrupt or truncated (decoding failed at {total / max(rate, 1):.1f} s: "
            f"{exc.strerror or type(exc).__name__})",
            hint="re-export or re-download the file; `ffmpeg -i FILE out.wav` may salvage it",
        ) from exc
    finally:
        container.close()
    if kept:
        samples = np.concatenate(kept, axis=1).astype(np.float32, copy=False)
    else:
        samples = np.zeros((channels, 0), dtype=np.float32)
    return samples, rate, total


def _keep(
    block: NDArray[np.float32],
    position: int,
    rate: int,
    start: float,
    end: float | None,
    kept: list[NDArray[np.float32]],
) -> int:
    """Append the part of `block` (starting at frame `position`) inside the selection."""
    first = round(start * rate)
    last = None if end is None else round(end * rate)
    count = int(block.shape[1])
    lo = max(first - position, 0)
    hi = count if last is None else min(last - position, count)
    if hi > lo:
        kept.append(block[:, lo:hi])
    return position + count


def _planar(frame: av.AudioFrame) -> NDArray[np.float32]:
    """A resampled `fltp` frame as a (channels, frames) float32 array."""
    return np.asarray(frame.to_ndarray(), dtype=np.float32)


def _bit_depth(
    codec: str, sample_format: str, format_bits: int, samples: NDArray[np.float32]
) -> int | None:
    """Bits per stored sample: from the PCM codec name, else the lossless decoder's format."""
    match = _PCM_CODEC.fullmatch(codec.removesuffix("le").removesuffix("be"))
    if match:
        return int(match.group(2))
    try:
        if av.Codec(codec, "r").lossy:
            return None
    except (ValueError, av.FFmpegError):
        return None
    if sample_format.startswith("s32"):
        # FLAC, ALAC and WavPack decode 24-bit audio into 32-bit words: the low byte is zero.
        head = samples[:, : 1 << 20].astype(np.float64) * float(1 << 23)
        return 24 if np.array_equal(head, np.round(head)) else 32
    return format_bits or None
