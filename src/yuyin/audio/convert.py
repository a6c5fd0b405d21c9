"""Convert any media PyAV reads to WAV, FLAC, MP3 or Opus at a chosen rate, channels and format."""

from __future__ import annotations

import os

from yuyin.audio.decode import AudioSource, probe_audio
from yuyin.audio.encode import encode_audio, format_for_path, sample_format_for_bits
from yuyin.audio.load import load_audio
from yuyin.audio.samples import remix, resample
from yuyin.fileio import atomic_write_bytes
from yuyin.types import AudioInfo

__all__ = ["convert_audio"]

# What each format can keep of a source's sample format (anything else falls back to s16).
_KEEPS = {"wav": {"u8", "s16", "s24", "s32", "f32"}, "flac": {"s16", "s24"}}


def convert_audio(
    source: AudioSource,
    destination: str | os.PathLike[str],
    *,
    sample_rate: int | None = None,
    channels: int | None = None,
    sample_format: str | None = None,
    bitrate: int | None = None,
    quality: str = "HQ",
    start: float = 0.0,
    end: float | None = None,
) -> AudioInfo:
    """Decode `source`, resample with soxr, remix, encode and write `destination` atomically.

    Args:
        source: any media file (or binary file object) with an audio track.
        destination: output path; .wav, .flac, .mp3, .opus or .ogg picks the format.
        sample_rate: output rate in Hz; None keeps the source's.
        channels: output channel count; None keeps the source's (1 mixes down).
        sample_format: u8, s16, s24, s32 or f32 (wav), s16 or s24 (flac); None keeps the
            source's where the format can hold it, else s16.
        bitrate: bits per second for mp3 and opus; None uses the encoder's default.
        quality: soxr preset (QQ, LQ, MQ, HQ, VHQ).
        start: first second of the source to keep.
        end: second of the source to stop at; None keeps to the end.

    Raises:
        MediaNotFoundError, AudioDecodeError, InputError: the source cannot be used.
        ConfigurationError: a combination the output format cannot store.
        MissingDependencyError: resampling needs the `audio` extra.
        OutputError: the output cannot be written.
    """
    audio_format = format_for_path(destination)
    loaded = load_audio(source, start=start, end=end)
    rate = sample_rate or loaded.sample_rate
    samples = remix(loaded.samples, channels or loaded.channels)
    samples = resample(samples, loaded.sample_rate, rate, quality=quality)
    if sample_format is None and audio_format in _KEEPS:
        # Lossy decoders output float too, but their sources have no bit depth to keep.
        is_float = loaded.bit_depth is not None and loaded.sample_format.startswith(("flt", "dbl"))
        kept = sample_format_for_bits(loaded.bit_depth, is_float=is_float)
        sample_format = kept if kept in _KEEPS[audio_format] else "s16"
    data = encode_audio(
        samples, rate, audio_format=audio_format, sample_format=sample_format, bitrate=bitrate
    )
    return probe_audio(atomic_write_bytes(destination, data))
