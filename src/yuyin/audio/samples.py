"""Operations on sample arrays: resampling (soxr), down-mixing and channel changes.

Arrays are float32, shaped (frames,) for mono or (channels, frames); full scale is ±1.0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from yuyin.errors import ConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["RESAMPLE_QUALITIES", "as_channels", "remix", "resample", "to_mono"]

#: soxr quality presets, fastest to best ("HQ" is soxr's own default).
RESAMPLE_QUALITIES: tuple[str, ...] = ("QQ", "LQ", "MQ", "HQ", "VHQ")


def as_channels(audio: ArrayLike) -> NDArray[np.float32]:
    """Return `audio` as a float32 (channels, frames) array; a 1-D array becomes one channel.

    Args:
        audio: samples shaped (frames,) or (channels, frames).

    Raises:
        ConfigurationError: the array has more than two dimensions.
    """
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim == 1:
        return array[np.newaxis, :]
    if array.ndim != 2:
        raise ConfigurationError(
            f"audio must be shaped (frames,) or (channels, frames), not {array.shape}",
            hint="pass one signal per row",
        )
    return array


def to_mono(audio: ArrayLike) -> NDArray[np.float32]:
    """Average all channels into one 1-D float32 signal (a 1-D input is returned as is).

    Args:
        audio: samples shaped (frames,) or (channels, frames).
    """
    mono: NDArray[np.float32] = as_channels(audio).mean(axis=0, dtype=np.float32)
    return mono


def remix(audio: ArrayLike, channels: int) -> NDArray[np.float32]:
    """Change the channel count: 1 averages, N from mono copies it, N from N keeps it.

    Args:
        audio: samples shaped (frames,) or (channels, frames).
        channels: wanted number of channels (1 or more).

    Raises:
        ConfigurationError: no sensible mapping (e.g. 6 channels to 2; mix to mono first).
    """
    array = as_channels(audio)
    have = array.shape[0]
    if channels < 1:
        raise ConfigurationError(f"channels must be 1 or more, not {channels}", hint="use 1 or 2")
    if channels == have:
        return array
    if channels == 1:
        return to_mono(array)[np.newaxis, :]
    if have == 1:
        return np.repeat(array, channels, axis=0)
    raise ConfigurationError(
        f"cannot map {have} channels to {channels}",
        hint="convert to mono (--channels 1) or keep the channel count",
    )


def resample(
    audio: ArrayLike, sample_rate: int, target_rate: int, *, quality: str = "HQ"
) -> NDArray[np.float32]:
    """Resample with soxr (band-limited, linear phase), keeping the array's shape convention.

    Args:
        audio: samples shaped (frames,) or (channels, frames).
        sample_rate: rate of `audio` in Hz.
        target_rate: wanted rate in Hz.
        quality: a soxr preset from `RESAMPLE_QUALITIES`.

    Raises:
        ConfigurationError: a rate that is not positive, or an unknown quality.
        MissingDependencyError: soxr (the `audio` extra) is not installed.
    """
    if sample_rate <= 0 or target_rate <= 0:
        raise ConfigurationError(
            f"sample rates must be positive (got {sample_rate} Hz to {target_rate} Hz)",
            hint="use a rate such as 16000, 44100 or 48000",
        )
    if quality not in RESAMPLE_QUALITIES:
        raise ConfigurationError(
            f"unknown resampling quality {quality!r}",
            hint="choose one of " + ", ".join(RESAMPLE_QUALITIES),
        )
    array = np.asarray(audio, dtype=np.float32)
    if sample_rate == target_rate:
        return array
    try:
        import soxr
    except ImportError as exc:
        raise MissingDependencyError("soxr", "audio", "resampling") from exc
    frames = as_channels(array)
    if frames.shape[1] == 0:
        return np.zeros((*array.shape[:-1], 0), dtype=np.float32)
    # soxr wants (frames, channels), C-contiguous.
    out = soxr.resample(np.ascontiguousarray(frames.T), sample_rate, target_rate, quality=quality)
    result = np.ascontiguousarray(np.asarray(out, dtype=np.float32).T)
    return result[0] if array.ndim == 1 else result
