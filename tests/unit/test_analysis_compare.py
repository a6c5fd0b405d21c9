"""Delay, gain-matched SNR and THD+N on signals whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from yuyin.analysis import align, is_tone, snr, thd_n
from yuyin.audio import generate_tone, load
from yuyin.errors import InputError


def _capture(reference: np.ndarray, delay: int, gain: float, snr_db: float, seed: int = 0):
    """reference delayed by `delay` samples, scaled by `gain`, plus white noise at `snr_db`."""
    rng = np.random.default_rng(seed)
    shifted = np.concatenate([np.zeros(delay), reference]) if delay >= 0 else reference[-delay:]
    signal = gain * shifted
    power = np.mean((gain * reference) ** 2)
    noise = rng.standard_normal(signal.size) * math.sqrt(power / 10 ** (snr_db / 10))
    return signal + noise


@pytest.mark.parametrize(
    ("delay", "gain", "snr_db"),
    [(123, 0.5, 20.0), (0, 1.0, 40.0), (4410, 0.05, 10.0), (-200, 2.0, 30.0), (1, 0.8, 3.0)],
)
def test_speech_delay_and_snr_are_recovered(data_dir, delay, gain, snr_db):
    reference, rate = load(data_dir / "en.wav", mono=True)
    report = snr(reference, _capture(reference, delay, gain, snr_db), rate)
    assert abs(report.delay_samples - delay) <= 1
    assert report.delay_ms == pytest.approx(1000 * delay / rate, abs=1000 / rate)
    assert report.snr_db == pytest.approx(snr_db, abs=0.5)
    assert report.gain == pytest.approx(gain, rel=0.05)
    assert report.thd_n_db is None  # speech is not a tone


def test_white_noise_reference_at_48k():
    reference = generate_tone("white", duration=1.0, sample_rate=48000, level_dbfs=-20)[0]
    report = snr(reference, _capture(reference, 2400, 0.3, 25.0, seed=4), 48000)
    assert report.delay_samples == 2400
    assert report.delay_ms == pytest.approx(50.0)
    assert report.snr_db == pytest.approx(25.0, abs=0.5)


def test_latency_is_not_counted_as_noise():
    """The seed's bug: an unaligned comparison turns a 10 ms delay into a poor SNR."""
    reference = generate_tone("pink", duration=1.0, sample_rate=16000)[0]
    delayed = np.concatenate([np.zeros(160), reference])
    report = snr(reference, delayed, 16000)
    assert report.snr_db == math.inf
    assert report.delay_ms == pytest.approx(10.0)


def test_inverted_polarity_is_found():
    reference = generate_tone("white", duration=0.5, sample_rate=16000)[0]
    report = snr(reference, -0.5 * reference, 16000)
    assert report.gain == pytest.approx(-0.5)
    assert report.correlation == pytest.approx(-1.0)
    assert report.gain_db == pytest.approx(-6.02, abs=0.01)


def test_stereo_inputs_are_mixed_to_mono():
    reference = generate_tone("white", duration=0.5, sample_rate=16000, channels=2)
    captured = np.concatenate([np.zeros((2, 50)), reference], axis=1)
    assert align(reference, captured, 16000).delay_samples == 50


def test_max_delay_limits_the_search():
    reference = generate_tone("white", duration=0.5, sample_rate=8000)[0]
    captured = np.concatenate([np.zeros(800), reference])
    assert align(reference, captured, 8000).delay_samples == 800
    limited = align(reference, captured, 8000, max_delay=0.05)
    assert abs(limited.delay_samples) <= 400


def test_tone_thd_n_with_a_known_harmonic():
    rate = 48000
    t = np.arange(rate) / rate
    tone = 0.5 * np.sin(2 * math.pi * 1000 * t)
    distorted = tone + 0.005 * np.sin(2 * math.pi * 2000 * t)  # 1 %: -40 dB
    value, fundamental = thd_n(distorted, rate)
    assert value == pytest.approx(-40.0, abs=0.1)
    assert fundamental == pytest.approx(1000.0, abs=0.01)
    clean, _ = thd_n(tone, rate)
    assert clean < -100


def test_snr_reports_thd_n_for_tone_references():
    reference = generate_tone("sine", frequency=997, duration=1.0, sample_rate=48000)[0]
    report = snr(reference, _capture(reference, 300, 0.7, 30.0), 48000)
    assert report.delay_samples == 300
    assert report.snr_db == pytest.approx(30.0, abs=0.5)
    assert report.thd_n_db == pytest.approx(-30.0, abs=0.5)
    assert report.fundamental_hz == pytest.approx(997.0, abs=0.05)


def test_is_tone():
    assert is_tone(generate_tone("sine", duration=0.5, sample_rate=16000))
    assert not is_tone(generate_tone("white", duration=0.5, sample_rate=16000))
    assert not is_tone(generate_tone("sweep", duration=0.5, sample_rate=16000))
    assert not is_tone(np.zeros(1000))
    assert not is_tone(np.ones(3))


@pytest.mark.parametrize(
    ("reference", "captured", "message"),
    [
        (np.zeros(1000), np.ones(1000), "reference is digital silence"),
        (np.ones(1000), np.zeros(1000), "capture is digital silence"),
        (np.zeros(0), np.ones(10), "reference is empty"),
    ],
)
def test_silent_or_empty_signals_are_input_errors(reference, captured, message):
    with pytest.raises(InputError, match=message) as caught:
        snr(reference, captured, 16000)
    assert caught.value.hint


def test_a_capture_much_shorter_than_the_reference_is_refused():
    reference = generate_tone("white", duration=1.0, sample_rate=8000)[0]
    with pytest.raises(InputError, match="covers only"):
        snr(reference, reference[:2000], 8000)


def test_thd_n_needs_sound():
    with pytest.raises(InputError):
        thd_n(np.zeros(1000), 8000)
