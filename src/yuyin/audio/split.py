"""Cut long audio into pieces that fit an API's limits, preferring cut points in silence.

Each piece's `offset` in the manifest is where it starts in the source, so transcripts of
the pieces can be shifted back onto one timeline (issue 6).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from yuyin.audio.decode import AudioSource, _name
from yuyin.audio.encode import encode_audio, extension_for
from yuyin.audio.levels import frame_rms
from yuyin.audio.load import load_audio
from yuyin.audio.samples import as_channels, remix, resample, to_mono
from yuyin.errors import ConfigurationError, OutputError
from yuyin.fileio import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["Piece", "SplitResult", "split_audio", "split_points"]

#: Bytes per sample of each sample format, for the size of PCM pieces.
_BYTES = {"u8": 1, "s16": 2, "s24": 3, "s32": 4, "f32": 4}
# Room for the WAV/FLAC header and FFmpeg's LIST chunk; sizes are checked after encoding.
_HEADER_BYTES = 4096
_ATTEMPTS = 6


@dataclass(frozen=True, slots=True)
class Piece:
    """One written piece and where it sits in the source.

    Attributes:
        index: 1-based position of the piece.
        file: file name, relative to the manifest's folder.
        offset: start in the source, in seconds (add it to the piece's timestamps).
        end: end in the source, in seconds.
        duration: length of the piece, in seconds.
        bytes: size of the written file.
    """

    index: int
    file: str
    offset: float
    end: float
    duration: float
    bytes: int


@dataclass(frozen=True, slots=True)
class SplitResult:
    """What `split_audio` wrote: the manifest and the pieces it lists."""

    manifest: Path
    pieces: tuple[Piece, ...]
    sample_rate: int
    channels: int
    duration: float


def split_points(
    audio: ArrayLike,
    sample_rate: int,
    *,
    max_duration: float,
    overlap: float = 0.0,
    search_duration: float | None = None,
    frame_ms: float = 10.0,
) -> list[tuple[int, int]]:
    """Plan pieces no longer than `max_duration`, cut at the quietest frame near each limit.

    Args:
        audio: samples shaped (frames,) or (channels, frames); the mono mix is measured.
        sample_rate: rate in Hz.
        max_duration: longest piece, in seconds.
        overlap: seconds each piece repeats of the previous one (0 for none).
        search_duration: how far back from each limit to look for silence, in seconds;
            None looks back a quarter of `max_duration`, at most 5 s.
        frame_ms: length of the frames whose RMS is compared, in milliseconds.

    Returns:
        (start, end) frame indices, end exclusive; consecutive pieces overlap by
        `overlap`. Empty audio gives an empty list.

    Raises:
        ConfigurationError: a non-positive length, or an overlap of half a piece or more.
    """
    if max_duration <= 0 or sample_rate <= 0:
        raise ConfigurationError(
            f"pieces need a positive length (got {max_duration:g} s)",
            hint="e.g. --max-duration 30",
        )
    if overlap < 0 or overlap >= max_duration / 2:
        raise ConfigurationError(
            f"overlap {overlap:g} s must be at least 0 and under half the piece "
            f"length ({max_duration:g} s)",
            hint="use a shorter --overlap or longer pieces",
        )
    mono = to_mono(audio)
    total = mono.size
    limit = max(1, int(max_duration * sample_rate))
    overlap_n = round(overlap * sample_rate)
    search = min(5.0, max_duration / 4) if search_duration is None else search_duration
    # Keep every cut far enough past the previous start that each piece moves forward.
    window = max(0, min(round(search * sample_rate), (limit - overlap_n) // 2))
    frame = max(1, round(frame_ms * sample_rate / 1000))
    points: list[tuple[int, int]] = []
    start = 0
    while total - start > limit:
        hard = start + limit
        cut = hard
        if window >= frame:
            rms = frame_rms(mono[hard - window : hard], frame)
            quietest = len(rms) - 1 - int(np.argmin(rms[::-1]))  # the latest of equals
            cut = min(hard, hard - window + quietest * frame + frame // 2)
        points.append((start, cut))
        start = cut - overlap_n
    if total:
        points.append((start, total))
    return points


def split_audio(
    source: AudioSource,
    output_dir: str | os.PathLike[str],
    *,
    max_duration: float | None = None,
    max_bytes: int | None = None,
    overlap: float = 0.0,
    audio_format: str = "wav",
    sample_rate: int | None = None,
    channels: int | None = None,
    sample_format: str | None = None,
    bitrate: int | None = None,
    search_duration: float | None = None,
    stem: str | None = None,
) -> SplitResult:
    """Write pieces of `source` within the limits, then a JSON manifest with their offsets.

    Args:
        source: any media file with an audio track.
        output_dir: folder for the pieces and `<stem>.manifest.json`.
        max_duration: longest piece in seconds; None: limited by `max_bytes` only.
        max_bytes: largest piece file in bytes; None: limited by `max_duration` only.
        overlap: seconds each piece repeats of the previous one.
        audio_format: format of the pieces (wav, flac, mp3, opus).
        sample_rate: rate of the pieces in Hz; None keeps the source's.
        channels: channels of the pieces; None keeps the source's.
        sample_format: sample format of wav/flac pieces; None: s16.
        bitrate: bits per second of mp3/opus pieces; None: the encoder's default.
        search_duration: see `split_points`.
        stem: file name stem of the pieces; None uses the source's.

    Raises:
        ConfigurationError: no limit given, or a limit too small for one second of audio.
        MediaNotFoundError, AudioDecodeError: the source cannot be read.
        OutputError: a piece cannot be written or cannot be made small enough.
    """
    if max_duration is None and max_bytes is None:
        raise ConfigurationError(
            "split needs a limit", hint="give --max-duration SECONDS and/or --max-bytes SIZE"
        )
    extension = extension_for(audio_format)
    loaded = load_audio(source)
    rate = sample_rate or loaded.sample_rate
    samples = resample(remix(loaded.samples, channels or loaded.channels), loaded.sample_rate, rate)
    stem = stem or Path(_name(source)).stem or "audio"
    folder = Path(output_dir)
    longest = max_duration if max_duration is not None else float("inf")
    if max_bytes is not None:
        per_second = _bytes_per_second(audio_format, sample_format, bitrate, rate, samples)
        room = max_bytes - _HEADER_BYTES
        if room < per_second:
            raise ConfigurationError(
                f"{max_bytes} bytes hold less than one second of {audio_format} audio",
                hint="raise --max-bytes or use a compressed --format (mp3, opus)",
            )
        longest = min(longest, room / per_second)
    for _ in range(_ATTEMPTS):
        pieces = _write_pieces(
            samples, rate, folder, (stem, extension), longest, overlap,
            search_duration, max_bytes, (audio_format, sample_format, bitrate),
        )  # fmt: skip
        if isinstance(pieces, tuple):
            break
        longest *= pieces  # shrink by the overshoot and plan again
    else:
        raise OutputError(
            f"could not make {audio_format} pieces smaller than {max_bytes} bytes",
            hint="raise --max-bytes, or lower --bitrate / --sample-rate",
        )
    manifest = folder / f"{stem}.manifest.json"
    duration = samples.shape[1] / rate
    body = {
        "source": _name(source),
        "sample_rate": rate,
        "channels": int(samples.shape[0]),
        "duration": round(duration, 6),
        "format": audio_format,
        "max_duration": max_duration,
        "max_bytes": max_bytes,
        "overlap": overlap,
        "pieces": [asdict(p) for p in pieces],
    }
    atomic_write_text(manifest, json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    return SplitResult(manifest, pieces, rate, int(samples.shape[0]), duration)


def _bytes_per_second(
    audio_format: str,
    sample_format: str | None,
    bitrate: int | None,
    rate: int,
    samples: ArrayLike,
) -> float:
    """A first estimate of the piece size per second; real sizes are checked after encoding."""
    channels = as_channels(samples).shape[0]
    if audio_format in ("wav", "flac"):
        # FLAC is rarely larger than PCM; when it is, the size check shrinks the pieces.
        return float(rate * channels * _BYTES[sample_format or "s16"])
    return (bitrate or 128_000) / 8 * 1.05


def _write_pieces(
    samples: ArrayLike,
    rate: int,
    folder: Path,
    names: tuple[str, str],
    longest: float,
    overlap: float,
    search_duration: float | None,
    max_bytes: int | None,
    encoding: tuple[str, str | None, int | None],
) -> tuple[Piece, ...] | float:
    """Encode and write each planned piece; a float is the factor to shrink pieces by."""
    audio_format, sample_format, bitrate = encoding
    frames = as_channels(samples)
    points = split_points(
        frames, rate, max_duration=longest, overlap=overlap, search_duration=search_duration
    )
    width = max(3, len(str(len(points))))
    pieces: list[Piece] = []
    for index, (start, end) in enumerate(points, start=1):
        data = encode_audio(
            frames[:, start:end],
            rate,
            audio_format=audio_format,
            sample_format=sample_format,
            bitrate=bitrate,
        )
        if max_bytes is not None and len(data) > max_bytes:
            return 0.97 * max_bytes / len(data)
        name = f"{names[0]}_{index:0{width}d}{names[1]}"
        atomic_write_bytes(folder / name, data)
        pieces.append(
            Piece(
                index=index,
                file=name,
                offset=round(start / rate, 6),
                end=round(end / rate, 6),
                duration=round((end - start) / rate, 6),
                bytes=len(data),
            )
        )
    return tuple(pieces)
