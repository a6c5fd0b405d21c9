"""Compare a capture with its reference: delay by cross-correlation, gain-matched SNR, THD+N.

The capture is aligned before anything is measured, so a device's latency is reported as
a delay and never counted as noise (the seed's loopback test did count it, issue 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.audio.samples import to_mono
from yuyin.errors import InputError, MissingDependencyError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ["Alignment", "SnrReport", "align", "is_tone", "snr", "thd_n"]

#: Share of a signal's energy near its spectral peak from which it counts as a pure tone.
_TONE_ENERGY = 0.9
#: Least share of the reference the aligned capture must cover to be compared.
_MIN_COVERAGE = 0.5


@dataclass(frozen=True, slots=True)
class Alignment:
    """Where the reference lies in the capture.

    Attributes:
        delay_samples: capture[n] matches reference[n - delay]; negative means it leads.
        delay_ms: the same in milliseconds.
        correlation: normalised cross-correlation at that lag (-1 to 1; negative: the
            capture is inverted).
    """

    delay_samples: int
    delay_ms: float
    correlation: float


@dataclass(frozen=True, slots=True)
class SnrReport:
    """A capture measured against its reference, after alignment and gain matching.

    Attributes:
        delay_samples: see `Alignment`.
        delay_ms: see `Alignment`.
        correlation: see `Alignment`.
        gain: capture ≈ gain × reference over the compared stretch (negative: inverted).
        gain_db: 20·log10(|gain|).
        snr_db: power of gain × reference over power of what is left, in dB (inf when
            nothing is left).
        compared: length of the stretch both signals cover, in seconds.
        sample_rate: rate the signals were compared at, in Hz.
        thd_n_db: for a pure-tone reference, THD+N of the capture in dB (everything but
            the fundamental over the whole signal); None otherwise.
        fundamental_hz: the tone's measured frequency in Hz; None when not a tone.
    """

    delay_samples: int
    delay_ms: float
    correlation: float
    gain: float
    gain_db: float
    snr_db: float
    compared: float
    sample_rate: int
    thd_n_db: float | None = None
    fundamental_hz: float | None = None


def align(
    reference: ArrayLike,
    captured: ArrayLike,
    sample_rate: int,
    *,
    max_delay: float | None = None,
) -> Alignment:
    """Find the lag of `captured` against `reference` by cross-correlation (scipy).

    Args:
        reference: the signal that was played, (frames,) or (channels, frames).
        captured: what was recorded, at the same rate; channels are mixed to mono.
        sample_rate: rate of both signals in Hz.
        max_delay: largest lag searched either way, in seconds; None searches all.

    Raises:
        InputError: either signal is empty or silent.
        MissingDependencyError: scipy (the `audio` extra) is not installed.
    """
    correlate, correlation_lags = _scipy_correlation()
    ref, cap = _mono(reference, "reference"), _mono(captured, "capture")
    corr = np.asarray(correlate(cap, ref, mode="full", method="auto"), dtype=np.float64)
    lags = np.asarray(correlation_lags(cap.size, ref.size, mode="full"))
    if max_delay is not None:
        keep = np.abs(lags) <= round(max_delay * sample_rate)
        corr, lags = corr[keep], lags[keep]
        if corr.size == 0:
            raise InputError("no lag is allowed", hint="raise the maximum delay")
    best = int(np.argmax(np.abs(corr)))
    scale = math.sqrt(float(np.dot(ref, ref)) * float(np.dot(cap, cap)))
    delay = int(lags[best])
    return Alignment(
        delay_samples=delay,
        delay_ms=1000.0 * delay / sample_rate,
        correlation=float(corr[best]) / scale,
    )


def snr(
    reference: ArrayLike,
    captured: ArrayLike,
    sample_rate: int,
    *,
    max_delay: float | None = None,
) -> SnrReport:
    """Align `captured` to `reference`, match gain, and report SNR (and THD+N for tones).

    Args:
        reference: the clean signal, (frames,) or (channels, frames).
        captured: the same signal after a device or codec, at the same rate.
        sample_rate: rate of both signals in Hz.
        max_delay: largest lag searched either way, in seconds; None searches all.

    Raises:
        InputError: a signal is empty or silent, or after alignment the capture covers
            less than half of the reference.
        MissingDependencyError: scipy (the `audio` extra) is not installed.
    """
    alignment = align(reference, captured, sample_rate, max_delay=max_delay)
    ref = _mono(reference, "reference").astype(np.float64)
    cap = _mono(captured, "capture").astype(np.float64)
    delay = alignment.delay_samples
    ref_start, cap_start = max(0, -delay), max(0, delay)
    length = min(ref.size - ref_start, cap.size - cap_start)
    if length < _MIN_COVERAGE * ref.size:
        raise InputError(
            f"after aligning ({alignment.delay_ms:.1f} ms), the capture covers only "
            f"{max(length, 0) / ref.size:.0%} of the reference",
            hint="record for longer than the reference plays, or check it is the same signal",
        )
    r = ref[ref_start : ref_start + length]
    c = cap[cap_start : cap_start + length]
    gain = float(np.dot(c, r) / np.dot(r, r))
    residual = c - gain * r
    signal_power = gain * gain * float(np.dot(r, r))
    noise_power = float(np.dot(residual, residual))
    thd, fundamental = (None, None)
    if is_tone(r):
        thd, fundamental = thd_n(c, sample_rate)
    return SnrReport(
        delay_samples=delay,
        delay_ms=alignment.delay_ms,
        correlation=alignment.correlation,
        gain=gain,
        gain_db=20.0 * math.log10(abs(gain)) if gain else -math.inf,
        snr_db=_ratio_db(signal_power, noise_power),
        compared=length / sample_rate,
        sample_rate=sample_rate,
        thd_n_db=thd,
        fundamental_hz=fundamental,
    )


def is_tone(audio: ArrayLike) -> bool:
    """Whether nearly all of a signal's energy sits at one frequency (a sine test tone).

    Args:
        audio: samples, (frames,) or (channels, frames).
    """
    signal = to_mono(audio).astype(np.float64)
    if signal.size < 64:
        return False
    power = np.abs(np.fft.rfft(signal * np.hanning(signal.size))) ** 2
    total = float(power.sum())
    if total <= 0:
        return False
    peak = int(np.argmax(power))
    near = float(power[max(0, peak - 4) : peak + 5].sum())
    return near / total >= _TONE_ENERGY


def thd_n(
    audio: ArrayLike, sample_rate: int, *, fundamental: float | None = None
) -> tuple[float, float]:
    """THD+N of a tone: everything but the best-fitting sine (and DC) over the whole, in dB.

    The sine's frequency, amplitude and phase are fitted by least squares (an IEEE 1057
    style sine fit, frequency refined with scipy), so no notch filter colours the result.

    Args:
        audio: a recorded tone, (frames,) or (channels, frames).
        sample_rate: rate in Hz.
        fundamental: the tone's frequency in Hz if known; None estimates it.

    Returns:
        (THD+N in dB, fundamental frequency in Hz).

    Raises:
        InputError: the signal is silent or too short to hold a cycle.
        MissingDependencyError: scipy (the `audio` extra) is not installed.
    """
    try:
        from scipy.optimize import minimize_scalar
    except ImportError as exc:
        raise MissingDependencyError("scipy", "audio", "THD+N") from exc
    signal = to_mono(audio).astype(np.float64)
    centred = signal - signal.mean()
    total = float(np.dot(centred, centred))
    if signal.size < 16 or total <= 0:
        raise InputError("the tone is silent or too short to measure", hint="record longer")
    t = np.arange(signal.size) / sample_rate

    def residual_power(frequency: float) -> float:
        basis = np.column_stack(
            [
                np.sin(2 * math.pi * frequency * t),
                np.cos(2 * math.pi * frequency * t),
                np.ones_like(t),
            ]
        )
        fit, *_ = np.linalg.lstsq(basis, signal, rcond=None)
        rest = signal - basis @ fit
        return float(np.dot(rest, rest))

    estimate = fundamental if fundamental is not None else _peak_frequency(centred, sample_rate)
    step = sample_rate / signal.size  # one FFT bin
    found: Any = minimize_scalar(
        residual_power,
        bounds=(max(estimate - step, 1e-3), min(estimate + step, sample_rate / 2)),
        method="bounded",
        options={"xatol": 1e-10 * max(estimate, 1.0)},
    )
    frequency = float(found.x)
    return _ratio_db(residual_power(frequency), total), frequency


def _peak_frequency(signal: NDArray[np.float64], sample_rate: int) -> float:
    """Peak of the Hann-windowed spectrum, zero-padded 4x (a quarter-bin first guess)."""
    n_fft = 1 << max(0, (4 * signal.size - 1).bit_length())
    power = np.abs(np.fft.rfft(signal * np.hanning(signal.size), n=n_fft))
    return (int(np.argmax(power[1:])) + 1) * sample_rate / n_fft


def _mono(audio: ArrayLike, what: str) -> NDArray[np.float32]:
    signal = to_mono(audio)
    if signal.size == 0 or not np.any(signal):
        raise InputError(
            f"the {what} is {'empty' if signal.size == 0 else 'digital silence'}",
            hint="check the file; SNR needs sound in both the reference and the capture",
        )
    return signal


def _ratio_db(numerator: float, denominator: float) -> float:
    if denominator <= 0:
        return math.inf
    if numerator <= 0:
        return -math.inf
    return 10.0 * math.log10(numerator / denominator)


def _scipy_correlation() -> tuple[Any, Any]:
    try:
        from scipy.signal import correlate, correlation_lags
    except ImportError as exc:
        raise MissingDependencyError("scipy", "audio", "delay alignment") from exc
    return correlate, correlation_lags
