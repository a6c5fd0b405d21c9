"""Signal levels: peak and RMS in dBFS, clipped samples, how much of a file is silence."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from yuyin.audio.samples import as_channels, to_mono

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["Levels", "frame_rms", "levels", "to_dbfs"]

#: Frames quieter than this count as silence in `Levels.silence_ratio`.
SILENCE_THRESHOLD_DBFS = -50.0


@dataclass(frozen=True, slots=True)
class Levels:
    """Level facts of a signal; dBFS is relative to a full-scale square wave (±1.0).

    Attributes:
        peak_dbfs: highest absolute sample over all channels (-inf for digital silence).
        rms_dbfs: root mean square over all channels and samples (-inf for silence).
        clipped_samples: samples at or beyond the largest value the bit depth can hold.
        silence_ratio: fraction of frames (`frame_ms` long, mono mix) below the threshold.
        channel_peak_dbfs: `peak_dbfs` of each channel.
        channel_rms_dbfs: `rms_dbfs` of each channel.
    """

    peak_dbfs: float
    rms_dbfs: float
    clipped_samples: int
    silence_ratio: float
    channel_peak_dbfs: tuple[float, ...]
    channel_rms_dbfs: tuple[float, ...]


def to_dbfs(amplitude: float) -> float:
    """Convert a linear amplitude (1.0 = full scale) to dBFS; 0 gives -inf.

    Args:
        amplitude: linear level, 1.0 being full scale.
    """
    return 20.0 * math.log10(amplitude) if amplitude > 0 else -math.inf


def frame_rms(audio: ArrayLike, frame_length: int) -> NDArray[np.float64]:
    """RMS of consecutive, non-overlapping frames of a 1-D signal (the last may be shorter).

    Args:
        audio: a 1-D signal.
        frame_length: samples per frame (1 or more).
    """
    signal = np.asarray(audio, dtype=np.float64).reshape(-1)
    frame_length = max(1, int(frame_length))
    count = -(-signal.size // frame_length)
    padded = np.zeros(count * frame_length)
    padded[: signal.size] = signal**2
    sums = padded.reshape(count, frame_length).sum(axis=1)
    lengths = np.full(count, frame_length, dtype=np.float64)
    if count:
        lengths[-1] = signal.size - (count - 1) * frame_length
    rms: NDArray[np.float64] = np.sqrt(sums / lengths)
    return rms


def levels(
    audio: ArrayLike,
    sample_rate: int,
    *,
    bit_depth: int | None = None,
    silence_threshold_dbfs: float = SILENCE_THRESHOLD_DBFS,
    frame_ms: float = 20.0,
) -> Levels:
    """Measure peak and RMS level, clipping and the share of silence.

    Args:
        audio: samples shaped (frames,) or (channels, frames), full scale ±1.0.
        sample_rate: rate in Hz (sets the silence frame length).
        bit_depth: bits of the integer format the samples came from; sets the clipping level
            to its largest value (e.g. 32767/32768 for 16 bits). None or 32 and more: ±1.0.
        silence_threshold_dbfs: frames with an RMS below this count as silence.
        frame_ms: frame length for the silence ratio, in milliseconds.
    """
    frames = as_channels(audio).astype(np.float64)
    if frames.shape[1] == 0:
        none = tuple(-math.inf for _ in range(frames.shape[0]))
        return Levels(-math.inf, -math.inf, 0, 0.0, none, none)
    peaks = np.abs(frames).max(axis=1)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    clip_level = 1.0
    if bit_depth is not None and bit_depth < 32:
        full = float(1 << (bit_depth - 1))
        clip_level = (full - 1.0) / full
    per_frame = frame_rms(to_mono(frames), round(sample_rate * frame_ms / 1000.0))
    silent = per_frame < 10.0 ** (silence_threshold_dbfs / 20.0)
    return Levels(
        peak_dbfs=to_dbfs(float(peaks.max())),
        rms_dbfs=to_dbfs(float(np.sqrt(np.mean(rms**2)))),
        clipped_samples=int(np.count_nonzero(np.abs(frames) >= clip_level)),
        silence_ratio=float(np.mean(silent)),
        channel_peak_dbfs=tuple(to_dbfs(float(p)) for p in peaks),
        channel_rms_dbfs=tuple(to_dbfs(float(r)) for r in rms),
    )
