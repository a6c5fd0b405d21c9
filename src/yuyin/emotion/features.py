"""Acoustic features for emotion: log-mel, MFCC with deltas, and prosody (pitch, energy, rate).

One matrix of frame features per clip (10 ms hop by default) feeds both models: the classic
model pools it into statistics, the CNN reads fixed-length windows of it. The settings are
saved with a model, so prediction computes exactly the features the model was trained on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.audio import SAMPLE_RATE
from yuyin.errors import ConfigurationError, InputError, MissingDependencyError

if TYPE_CHECKING:
    from types import ModuleType

    from numpy.typing import NDArray

__all__ = [
    "PITCH_TRACKERS",
    "FeatureOptions",
    "frame_features",
    "pooled_features",
    "single_threaded",
    "windows",
]

#: Pitch trackers: yin is fast; pyin is probabilistic, slower, with its own voicing decision.
PITCH_TRACKERS: tuple[str, ...] = ("yin", "pyin")
_EPS = 1e-10
# Dynamic range kept below a clip's loudest frame (as librosa's power_to_db top_db).
_RANGE_DB = 60.0
_FFT = 512
# Frames quieter than the loudest by this much count as unvoiced for yin (no voicing flag).
_VOICED_RANGE_DB = 30.0
# Energy peaks (roughly syllable nuclei) at least this prominent and this far apart.
_PEAK_PROMINENCE_DB = 3.0
_PEAK_DISTANCE_S = 0.08


@dataclass(frozen=True, slots=True)
class FeatureOptions:
    """How 16 kHz mono audio becomes features; stored with every model.

    Attributes:
        n_mels: mel bands of the log-mel spectrogram (up to 8 kHz).
        n_mfcc: MFCC coefficients; their first and second deltas are added.
        frame_ms: analysis window length in milliseconds.
        hop_ms: hop between frames in milliseconds.
        pitch: `yin` or `pyin` (librosa's pitch trackers).
        pitch_min_hz: lowest pitch tracked, in Hz.
        pitch_max_hz: highest pitch tracked, in Hz.
        trim_db: leading and trailing audio this many dB below the peak is cut off.
        min_duration_s: shortest clip accepted (after trimming), in seconds.
        silence_dbfs: a clip whose peak is below this level (dBFS) counts as silent.
        window_s: length of the fixed windows the CNN reads, in seconds.
    """

    n_mels: int = 40
    n_mfcc: int = 13
    frame_ms: float = 25.0
    hop_ms: float = 10.0
    pitch: str = "yin"
    pitch_min_hz: float = 60.0
    pitch_max_hz: float = 600.0
    trim_db: float = 35.0
    min_duration_s: float = 0.25
    silence_dbfs: float = -55.0
    window_s: float = 1.0

    def __post_init__(self) -> None:
        if self.pitch not in PITCH_TRACKERS:
            raise ConfigurationError(
                f"unknown pitch tracker {self.pitch!r}", hint="choose " + ", ".join(PITCH_TRACKERS)
            )
        if not 0 < self.pitch_min_hz < self.pitch_max_hz <= SAMPLE_RATE / 4:
            raise ConfigurationError(
                "the pitch range must satisfy 0 < min < max <= 4000 Hz",
                hint="e.g. 60 to 600 Hz for speech",
            )
        if min(self.n_mels, self.n_mfcc) < 1 or self.n_mfcc > self.n_mels:
            raise ConfigurationError(
                "need 1 <= n_mfcc <= n_mels", hint="the defaults are 13 MFCCs from 40 mel bands"
            )
        if not 0 < self.hop_ms <= self.frame_ms <= 1000 * _FFT / SAMPLE_RATE:
            raise ConfigurationError(
                f"need 0 < hop_ms <= frame_ms <= {1000 * _FFT / SAMPLE_RATE:g}",
                hint="the defaults are 25 ms frames every 10 ms",
            )

    @property
    def hop_length(self) -> int:
        """Hop in samples."""
        return round(SAMPLE_RATE * self.hop_ms / 1000)

    @property
    def win_length(self) -> int:
        """Analysis window in samples."""
        return round(SAMPLE_RATE * self.frame_ms / 1000)

    @property
    def window_frames(self) -> int:
        """Frames in one CNN window."""
        return max(1, round(self.window_s * 1000 / self.hop_ms))

    @property
    def frame_dims(self) -> int:
        """Columns of the frame matrix: log-mel, MFCC, deltas, energy, pitch, voicing."""
        return self.n_mels + 3 * self.n_mfcc + 3

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureOptions:
        """Options from `to_dict()` output; unknown keys are an error, missing ones default."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ConfigurationError(
                "unknown feature setting(s): " + ", ".join(sorted(unknown)),
                hint="the model was written by a different version of yuyin; retrain it",
            )
        return cls(**data)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run BLAS, OpenMP and torch (if loaded) on one thread inside the block.

    Every matrix here is small (40 x 257 filter banks, 1-second windows): thread hand-offs
    cost more than the arithmetic, and on a busy machine threads that wait for each other
    make feature extraction 3x and CNN training 10x slower (measured on 2 shared cores).
    """
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else 0
    with threadpool_limits(limits=1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)


def _librosa() -> ModuleType:
    try:
        import librosa
    except ImportError as exc:
        raise MissingDependencyError("librosa", "emotion", "emotion features") from exc
    return librosa


@functools.lru_cache(maxsize=4)
def _mel_basis(n_mels: int) -> NDArray[np.float32]:
    basis = _librosa().filters.mel(sr=SAMPLE_RATE, n_fft=_FFT, n_mels=n_mels)
    return np.asarray(basis, dtype=np.float32)


def _db(power: NDArray[Any]) -> NDArray[np.float64]:
    """Power in absolute dB, floored `_RANGE_DB` below the clip's peak.

    The floor matters: a pause of digital zeros (synthetic speech, gated recordings) would
    otherwise read as -100 dB and dominate every spread statistic.
    """
    db = 10.0 * np.log10(np.maximum(power, _EPS))
    return np.asarray(np.maximum(db, db.max() - _RANGE_DB), dtype=np.float64)


def frame_features(
    audio: NDArray[np.float32], options: FeatureOptions | None = None, *, name: str = "audio"
) -> NDArray[np.float32]:
    """Frame-level features of one clip, shaped (frames, `options.frame_dims`).

    Columns: log-mel (dB), MFCC, delta MFCC, delta-delta MFCC, RMS energy (dBFS), pitch in
    semitones relative to 100 Hz (0 where unvoiced), voicing (1 or 0).

    Args:
        audio: 16 kHz mono float32 samples.
        options: feature settings (defaults if None).
        name: how to call the clip in error messages.

    Raises:
        InputError: the clip is silent or too short (after trimming leading/trailing quiet).
        MissingDependencyError: librosa (the `emotion` extra) is not installed.
    """
    opts = options or FeatureOptions()
    samples = np.asarray(audio, dtype=np.float32).reshape(-1)
    duration = samples.size / SAMPLE_RATE
    if duration < opts.min_duration_s:
        raise InputError(
            f"{name} is too short for emotion recognition: {duration:.2f} s "
            f"(at least {opts.min_duration_s:g} s)",
            hint="give a clip of speech of a second or more",
        )
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    peak_dbfs = 20 * np.log10(max(peak, _EPS))
    if peak_dbfs < opts.silence_dbfs:
        level = f"peak {peak_dbfs:.0f} dBFS" if peak > 0 else "every sample is zero"
        raise InputError(
            f"{name} is silent ({level})",
            hint="check the recording level and that the file holds speech",
        )
    librosa = _librosa()
    hop, win = opts.hop_length, opts.win_length
    y = _trim(librosa, samples, opts)
    if y.size / SAMPLE_RATE < opts.min_duration_s:
        raise InputError(
            f"{name} holds only {y.size / SAMPLE_RATE:.2f} s of sound "
            f"(at least {opts.min_duration_s:g} s needed)",
            hint="give a clip of speech of a second or more",
        )
    spectrum = librosa.stft(y, n_fft=_FFT, hop_length=hop, win_length=win)
    power = _mel_basis(opts.n_mels) @ (np.abs(spectrum) ** 2)
    # Absolute dB (not relative to the clip's peak): loudness is part of the emotion.
    log_mel = _db(power)
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=opts.n_mfcc)
    frames = log_mel.shape[1]
    width = min(9, frames if frames % 2 else frames - 1)
    if width >= 3:
        delta = librosa.feature.delta(mfcc, width=width)
        delta2 = librosa.feature.delta(mfcc, width=width, order=2)
    else:
        delta = delta2 = np.zeros_like(mfcc)
    rms = librosa.feature.rms(y=y, frame_length=win, hop_length=hop)[0]
    energy_db = _db(rms**2)
    pitch, voiced = _pitch(librosa, y, opts, energy_db)
    n = min(frames, energy_db.size, pitch.size)
    columns = [
        log_mel[:, :n], mfcc[:, :n], delta[:, :n], delta2[:, :n],
        energy_db[None, :n], pitch[None, :n], voiced[None, :n],
    ]  # fmt: skip
    return np.ascontiguousarray(np.vstack(columns).T, dtype=np.float32)


def _trim(
    librosa: ModuleType, samples: NDArray[np.float32], opts: FeatureOptions
) -> NDArray[np.float32]:
    """Cut leading and trailing frames quieter than `trim_db` below the loudest frame.

    librosa.effects.trim does the same, but importing librosa.effects costs seconds.
    """
    hop = opts.hop_length
    level = _db(
        librosa.feature.rms(y=samples, frame_length=opts.win_length, hop_length=hop)[0] ** 2
    )
    loud = np.flatnonzero(level > level.max() - opts.trim_db)
    return samples[loud[0] * hop : min(samples.size, (loud[-1] + 1) * hop)]


def _pitch(
    librosa: ModuleType, y: NDArray[np.float32], opts: FeatureOptions, energy_db: NDArray[Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(semitones re 100 Hz with 0 where unvoiced, voicing 1/0) per frame."""
    hop = opts.hop_length
    # librosa's trackers need a period of the lowest pitch to fit in half a frame.
    frame_length = 1 << int(np.ceil(np.log2(2 * (SAMPLE_RATE / opts.pitch_min_hz + 1))))
    if y.size < frame_length:  # short clips: pad so the tracker has one full frame
        y = np.pad(y, (0, frame_length - y.size))
    fmin, fmax = opts.pitch_min_hz, opts.pitch_max_hz
    if opts.pitch == "pyin":
        f0, flag, _ = librosa.pyin(
            y, fmin=fmin, fmax=fmax, sr=SAMPLE_RATE, frame_length=frame_length, hop_length=hop
        )
        voiced = np.asarray(flag, dtype=bool) & np.isfinite(f0)
    else:
        f0 = librosa.yin(
            y, fmin=fmin, fmax=fmax, sr=SAMPLE_RATE, frame_length=frame_length, hop_length=hop
        )
        n = min(f0.size, energy_db.size)
        loud = np.zeros(f0.size, dtype=bool)
        loud[:n] = energy_db[:n] > float(np.max(energy_db)) - _VOICED_RANGE_DB
        # yin always answers; at the edges of its range it is guessing.
        voiced = loud & (f0 > fmin * 1.05) & (f0 < fmax * 0.95)
    f0 = np.where(voiced, np.nan_to_num(f0, nan=100.0), 100.0)
    semitones = 12.0 * np.log2(f0 / 100.0)
    return np.asarray(semitones, dtype=np.float64), voiced.astype(np.float64)


def pooled_features(
    frames: NDArray[np.float32], options: FeatureOptions | None = None
) -> NDArray[np.float32]:
    """Statistics of a frame matrix: one fixed-length vector per clip for the classic model.

    Mean and standard deviation of every spectral column; energy mean, spread and range;
    pitch mean, spread and range over voiced frames; the voiced fraction; and two
    speaking-rate proxies (energy peaks and voiced stretches per second).
    """
    opts = options or FeatureOptions()
    spectral = frames[:, : opts.n_mels + 3 * opts.n_mfcc].astype(np.float64)
    energy = frames[:, -3].astype(np.float64)
    pitch = frames[:, -2].astype(np.float64)
    voiced = frames[:, -1] > 0.5
    seconds = max(frames.shape[0] * opts.hop_ms / 1000, _EPS)
    p10, p50, p90 = np.percentile(energy, [10, 50, 90])
    voiced_pitch = pitch[voiced]
    if voiced_pitch.size:
        q10, q90 = np.percentile(voiced_pitch, [10, 90])
        pitch_stats = [voiced_pitch.mean(), voiced_pitch.std(), q10, q90, q90 - q10]
    else:
        pitch_stats = [0.0] * 5
    starts = np.count_nonzero(np.diff(voiced.astype(np.int8)) == 1) + int(voiced[:1].sum())
    prosody = [
        energy.mean(), energy.std(), p50, p90 - p10, energy.max(),
        *pitch_stats,
        voiced.mean(),
        _peak_count(energy, opts) / seconds,
        starts / seconds,
    ]  # fmt: skip
    return np.concatenate([spectral.mean(axis=0), spectral.std(axis=0), prosody]).astype(np.float32)


def _peak_count(energy_db: NDArray[np.float64], opts: FeatureOptions) -> int:
    """Energy peaks (a proxy for syllables) in a lightly smoothed energy contour."""
    from scipy.signal import find_peaks

    smooth = np.convolve(energy_db, np.ones(3) / 3, mode="same")
    distance = max(1, round(_PEAK_DISTANCE_S * 1000 / opts.hop_ms))
    peaks, _ = find_peaks(smooth, prominence=_PEAK_PROMINENCE_DB, distance=distance)
    return len(peaks)


def windows(
    frames: NDArray[np.float32], options: FeatureOptions | None = None
) -> NDArray[np.float32]:
    """Fixed-length windows of a frame matrix for the CNN, shaped (windows, frames, dims).

    Windows overlap by half and the last one ends with the clip; a clip shorter than one
    window is repeated to fill it (the CNN pools over time, so repetition adds no cue).
    """
    opts = options or FeatureOptions()
    size = opts.window_frames
    if frames.shape[0] < size:
        reps = -(-size // frames.shape[0])
        return np.tile(frames, (reps, 1))[None, :size]
    step = max(1, size // 2)
    starts = list(range(0, frames.shape[0] - size + 1, step))
    if starts[-1] != frames.shape[0] - size:
        starts.append(frames.shape[0] - size)
    return np.stack([frames[s : s + size] for s in starts])
