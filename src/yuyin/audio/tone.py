"""Test signals: sine, logarithmic sweep, white and pink noise, silence."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from yuyin.errors import ConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["TONE_KINDS", "generate_tone"]

#: Signals `generate_tone` can make.
TONE_KINDS: tuple[str, ...] = ("sine", "sweep", "white", "pink", "silence")


def generate_tone(
    kind: str = "sine",
    *,
    frequency: float = 1000.0,
    end_frequency: float | None = None,
    duration: float = 1.0,
    sample_rate: int = 48000,
    channels: int = 1,
    level_dbfs: float | None = None,
    seed: int = 0,
) -> NDArray[np.float32]:
    """Generate a test signal shaped (channels, frames), the same in every channel.

    Args:
        kind: one of `TONE_KINDS`.
        frequency: sine frequency, or sweep start frequency, in Hz.
        end_frequency: sweep end frequency in Hz; None sweeps to 0.45 x `sample_rate`.
        duration: length in seconds.
        sample_rate: rate in Hz.
        channels: number of identical channels.
        level_dbfs: peak level for sine and sweep, RMS level for noise (noise peaks about
            10 dB higher and is clipped at full scale); None: -6 dBFS peak for sine and
            sweep, -20 dBFS RMS for noise.
        seed: random seed for noise, so the same arguments give the same samples.

    Raises:
        ConfigurationError: an unknown kind, a non-positive length, rate or channel count,
            or a frequency at or above half the sample rate.
        MissingDependencyError: the sweep needs scipy (the `audio` extra).
    """
    if kind not in TONE_KINDS:
        raise ConfigurationError(
            f"unknown signal {kind!r}", hint="choose one of " + ", ".join(TONE_KINDS)
        )
    frames = round(duration * sample_rate)
    if sample_rate <= 0 or channels < 1 or duration <= 0 or frames < 1:
        raise ConfigurationError(
            f"cannot make {duration:g} s at {sample_rate} Hz in {channels} channel(s)",
            hint="duration, sample rate and channels must be positive",
        )
    nyquist = sample_rate / 2
    top = 0.45 * sample_rate if end_frequency is None else end_frequency
    if kind in ("sine", "sweep") and not (0 < frequency < nyquist and 0 < top < nyquist):
        raise ConfigurationError(
            f"frequencies must lie between 0 and {nyquist:g} Hz (half of {sample_rate} Hz)",
            hint="lower --frequency / --end-frequency or raise --sample-rate",
        )
    if level_dbfs is None:
        level_dbfs = -20.0 if kind in ("white", "pink") else -6.0
    amplitude = 10.0 ** (level_dbfs / 20.0)
    t = np.arange(frames, dtype=np.float64) / sample_rate
    if kind == "sine":
        signal = amplitude * np.sin(2 * math.pi * frequency * t)
    elif kind == "sweep":
        try:
            from scipy.signal import chirp
        except ImportError as exc:
            raise MissingDependencyError("scipy", "audio", "the sweep signal") from exc
        method = "logarithmic" if frequency != top else "linear"
        signal = amplitude * chirp(t, f0=frequency, t1=duration, f1=top, method=method, phi=-90)
    elif kind == "silence":
        signal = np.zeros(frames)
    else:
        signal = _noise(kind, frames, seed) * amplitude
    mono = np.clip(signal, -1.0, 1.0).astype(np.float32)
    return np.repeat(mono[np.newaxis, :], channels, axis=0)


def _noise(kind: str, frames: int, seed: int) -> NDArray[np.float64]:
    """Unit-RMS white noise, or pink noise (power falling 3 dB per octave) shaped by FFT."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(frames)
    if kind == "pink":
        spectrum = np.fft.rfft(white)
        bins = np.arange(spectrum.size, dtype=np.float64)
        bins[0] = 1.0  # keep the DC bin finite; it is zeroed below
        spectrum /= np.sqrt(bins)
        spectrum[0] = 0.0
        white = np.fft.irfft(spectrum, n=frames)
    rms = float(np.sqrt(np.mean(white**2)))
    return white / rms if rms > 0 else white
