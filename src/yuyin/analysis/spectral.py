"""Spectra and spectrograms: magnitude spectrum, STFT, mel, MFCC and Whisper's log-mel.

Inputs are float arrays shaped (frames,) or (channels, frames); outputs keep the leading
channel axis. librosa, scipy and faster-whisper do the signal processing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.audio.samples import resample
from yuyin.errors import ConfigurationError, InputError, MissingDependencyError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "WHISPER_MEL_BANDS",
    "Spectrogram",
    "Spectrum",
    "mel",
    "mfcc",
    "spectrum",
    "stft",
    "whisper_log_mel",
]

#: Mel band counts of Whisper's front end: 80 (tiny ... large-v2) and 128 (large-v3).
WHISPER_MEL_BANDS: tuple[int, ...] = (80, 128)
#: Whisper's input rate and frame hop (10 ms).
_WHISPER_RATE = 16000
_WHISPER_HOP = 160


@dataclass(frozen=True, slots=True)
class Spectrum:
    """A magnitude spectrum.

    Attributes:
        frequencies: centre of each bin in Hz, shaped (bins,).
        magnitude_db: level of each bin in dB relative to the loudest bin, shaped
            (..., bins); floored at -`top_db`.
    """

    frequencies: NDArray[np.float64]
    magnitude_db: NDArray[np.float64]

    @property
    def peak_frequency(self) -> float:
        """Frequency of the loudest bin (of the first channel), in Hz."""
        first = self.magnitude_db.reshape(-1, self.frequencies.size)[0]
        return float(self.frequencies[int(np.argmax(first))])


@dataclass(frozen=True, slots=True)
class Spectrogram:
    """Values over time and frequency (or band, or coefficient).

    Attributes:
        times: centre of each frame in seconds from the start of the input, (frames,).
        bins: what each row is: Hz for STFT, mel band centre in Hz for mel, the coefficient
            number for MFCC, mel band centre in Hz for Whisper's log-mel; (rows,).
        values: shaped (..., rows, frames).
        unit: what `values` measure.
    """

    times: NDArray[np.float64]
    bins: NDArray[np.float64]
    values: NDArray[np.float64]
    unit: str


def spectrum(
    audio: ArrayLike, sample_rate: int, *, n_fft: int = 4096, top_db: float = 120.0
) -> Spectrum:
    """Magnitude spectrum of the first `n_fft` samples (Hann window), in dB re the maximum.

    Shorter inputs are zero-padded to `n_fft`; silence gives -`top_db` everywhere.

    Args:
        audio: samples shaped (frames,) or (channels, frames).
        sample_rate: rate in Hz.
        n_fft: samples analysed and FFT size.
        top_db: dynamic range kept below the maximum, in dB.

    Raises:
        InputError: the input has no samples.
        MissingDependencyError: scipy (the `audio` extra) is not installed.
    """
    try:
        from scipy.fft import rfft, rfftfreq
        from scipy.signal import get_window
    except ImportError as exc:
        raise MissingDependencyError("scipy", "audio", "spectrum analysis") from exc
    signal = _signal(audio)
    head = signal[..., :n_fft]
    window = get_window("hann", head.shape[-1], fftbins=True) if head.shape[-1] > 1 else 1.0
    magnitude = np.abs(rfft(head * window, n=n_fft, axis=-1))
    return Spectrum(
        frequencies=np.asarray(rfftfreq(n_fft, 1.0 / sample_rate), dtype=np.float64),
        magnitude_db=_db(magnitude, float(magnitude.max()), top_db),
    )


def stft(
    audio: ArrayLike,
    sample_rate: int,
    *,
    n_fft: int | None = None,
    hop_length: int | None = None,
    top_db: float = 120.0,
) -> Spectrogram:
    """Short-time Fourier transform magnitude in dBFS (a full-scale sine reads 0 dB).

    Args:
        audio: samples shaped (frames,) or (channels, frames).
        sample_rate: rate in Hz.
        n_fft: window and FFT size in samples; None picks about 20-30 ms.
        hop_length: samples between frames; None is a quarter of `n_fft`.
        top_db: floor below full scale, in dB.

    Raises:
        InputError: the input has no samples.
        MissingDependencyError: librosa (the `audio` extra) is not installed.
    """
    librosa = _librosa("spectrograms")
    n_fft = n_fft or _auto_fft(sample_rate)
    hop = hop_length or n_fft // 4
    signal = _padded(audio, n_fft)
    window = librosa.filters.get_window("hann", n_fft, fftbins=True)
    magnitude = np.abs(librosa.stft(signal, n_fft=n_fft, hop_length=hop, window="hann"))
    full_scale = float(np.sum(window)) / 2.0  # the peak bin of a ±1.0 sine
    return Spectrogram(
        times=_times(librosa, magnitude.shape[-1], sample_rate, hop),
        bins=np.asarray(librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft), dtype=np.float64),
        values=_db(magnitude, full_scale, top_db, floor_at_ref=False),
        unit="dBFS",
    )


def mel(
    audio: ArrayLike,
    sample_rate: int,
    *,
    n_mels: int = 128,
    fmax: float = 8000.0,
    n_fft: int | None = None,
    hop_length: int | None = None,
    top_db: float = 80.0,
) -> Spectrogram:
    """Mel power spectrogram in dB re its maximum (librosa, Slaney mel scale).

    Args:
        audio: samples shaped (frames,) or (channels, frames).
        sample_rate: rate in Hz.
        n_mels: number of mel bands.
        fmax: highest band edge in Hz (capped at half the sample rate).
        n_fft: FFT size; None picks one fine enough for every band to hold a bin.
        hop_length: samples between frames; None is a quarter of `n_fft`.
        top_db: dynamic range kept below the maximum, in dB.

    Raises:
        InputError: the input has no samples.
        MissingDependencyError: librosa (the `audio` extra) is not installed.
    """
    librosa = _librosa("mel spectrograms")
    n_fft = n_fft or _auto_fft(sample_rate)
    hop = hop_length or n_fft // 4
    fmax = min(fmax, sample_rate / 2)
    signal = _padded(audio, n_fft)
    power = librosa.feature.melspectrogram(
        y=signal, sr=sample_rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, fmax=fmax
    )
    return Spectrogram(
        times=_times(librosa, power.shape[-1], sample_rate, hop),
        bins=np.asarray(librosa.mel_frequencies(n_mels=n_mels, fmax=fmax), dtype=np.float64),
        values=_db(np.sqrt(power), float(np.sqrt(power.max())), top_db),
        unit="dB",
    )


def mfcc(
    audio: ArrayLike,
    sample_rate: int,
    *,
    n_mfcc: int = 20,
    n_mels: int = 128,
    fmax: float = 8000.0,
    n_fft: int | None = None,
    hop_length: int | None = None,
) -> Spectrogram:
    """Mel-frequency cepstral coefficients (librosa: DCT-II of the log mel spectrogram).

    Args:
        audio: samples shaped (frames,) or (channels, frames).
        sample_rate: rate in Hz.
        n_mfcc: number of coefficients.
        n_mels: mel bands they are computed from.
        fmax: highest mel band edge in Hz (capped at half the sample rate).
        n_fft: FFT size; None as for `mel`.
        hop_length: samples between frames; None is a quarter of `n_fft`.

    Raises:
        InputError: the input has no samples.
        MissingDependencyError: librosa (the `audio` extra) is not installed.
    """
    librosa = _librosa("MFCCs")
    n_fft = n_fft or _auto_fft(sample_rate)
    hop = hop_length or n_fft // 4
    signal = _padded(audio, n_fft)
    coefficients = librosa.feature.mfcc(
        y=signal,
        sr=sample_rate,
        n_mfcc=n_mfcc,
        n_fft=n_fft,
        hop_length=hop,
        n_mels=n_mels,
        fmax=min(fmax, sample_rate / 2),
    )
    return Spectrogram(
        times=_times(librosa, coefficients.shape[-1], sample_rate, hop),
        bins=np.arange(n_mfcc, dtype=np.float64),
        values=np.asarray(coefficients, dtype=np.float64),
        unit="coefficient",
    )


def whisper_log_mel(audio: ArrayLike, sample_rate: int, *, n_mels: int = 80) -> Spectrogram:
    """Whisper's own log-mel features (faster-whisper's FeatureExtractor), as the model sees.

    The input is resampled to 16 kHz; values are log10 mel power clamped to 8 below the
    maximum and scaled as Whisper does ((x + 4) / 4), 100 frames per second.

    Args:
        audio: samples shaped (frames,) or (channels, frames); Whisper itself hears the
            mono mix.
        sample_rate: rate in Hz.
        n_mels: 80 (tiny ... large-v2) or 128 (large-v3).

    Raises:
        ConfigurationError: `n_mels` is not 80 or 128.
        InputError: the input has no samples.
        MissingDependencyError: resampling needs soxr (the `audio` extra).
    """
    if n_mels not in WHISPER_MEL_BANDS:
        raise ConfigurationError(
            f"Whisper uses 80 or 128 mel bands, not {n_mels}",
            hint="80 for tiny to large-v2, 128 for large-v3",
        )
    from faster_whisper.feature_extractor import FeatureExtractor

    signal = _signal(audio)
    at_16k = (
        resample(signal, sample_rate, _WHISPER_RATE) if sample_rate != _WHISPER_RATE else signal
    )
    extractor = FeatureExtractor(feature_size=n_mels)
    rows = at_16k.reshape(-1, at_16k.shape[-1])
    features = np.stack([np.asarray(extractor(row), dtype=np.float64) for row in rows])
    features = features.reshape(*at_16k.shape[:-1], *features.shape[-2:])
    librosa = _librosa("Whisper's log-mel band frequencies")
    return Spectrogram(
        times=np.arange(features.shape[-1], dtype=np.float64) * _WHISPER_HOP / _WHISPER_RATE,
        bins=np.asarray(
            librosa.mel_frequencies(n_mels=n_mels, fmax=_WHISPER_RATE / 2), dtype=np.float64
        ),
        values=features,
        unit="log-mel (Whisper scale)",
    )


def _librosa(feature: str) -> Any:
    try:
        import librosa
    except ImportError as exc:
        raise MissingDependencyError("librosa", "audio", feature) from exc
    return librosa


def _signal(audio: ArrayLike) -> NDArray[np.float32]:
    signal = np.asarray(audio, dtype=np.float32)
    if signal.ndim not in (1, 2) or signal.shape[-1] == 0:
        raise InputError(
            f"cannot analyse an array shaped {signal.shape}",
            hint="pass at least one sample, shaped (frames,) or (channels, frames)",
        )
    return signal


def _padded(audio: ArrayLike, n_fft: int) -> NDArray[np.float32]:
    """The signal zero-padded to at least `n_fft` samples (librosa warns on shorter)."""
    signal = _signal(audio)
    frames = signal.shape[-1]
    if frames < n_fft:
        width = [(0, 0)] * (signal.ndim - 1) + [(0, n_fft - frames)]
        signal = np.pad(signal, width)
    return np.ascontiguousarray(signal)


def _auto_fft(sample_rate: int) -> int:
    """A power of two of about 20 ms, at least 512: fine enough for 128 mel bands to 8 kHz."""
    return max(512, 1 << max(0, round(sample_rate / 48) - 1).bit_length())


def _times(librosa: Any, count: int, sample_rate: int, hop: int) -> NDArray[np.float64]:
    return np.asarray(
        librosa.frames_to_time(np.arange(count), sr=sample_rate, hop_length=hop), dtype=np.float64
    )


def _db(
    magnitude: NDArray[Any], reference: float, top_db: float, *, floor_at_ref: bool = True
) -> NDArray[np.float64]:
    """20·log10(magnitude / reference), floored `top_db` below the maximum (or below 0 dB)."""
    tiny = 1e-12
    values = 20.0 * np.log10(np.maximum(np.asarray(magnitude, dtype=np.float64), tiny))
    values -= 20.0 * np.log10(max(reference, tiny))
    if reference <= tiny:
        return np.full(values.shape, -top_db)
    floor = (values.max() if floor_at_ref else 0.0) - top_db
    return np.maximum(values, floor)
