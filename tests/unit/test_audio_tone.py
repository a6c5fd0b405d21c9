"""Test-signal generator: known frequencies, levels and spectra."""

from __future__ import annotations

import math

import numpy as np
import pytest

from yuyin.analysis import spectrum
from yuyin.audio import TONE_KINDS, generate_tone, levels
from yuyin.errors import ConfigurationError


def test_sine_has_its_frequency_and_peak_level():
    tone = generate_tone("sine", frequency=1000, duration=1.0, sample_rate=48000, level_dbfs=-6)
    assert tone.shape == (1, 48000)
    assert tone.dtype == np.float32
    assert levels(tone, 48000).peak_dbfs == pytest.approx(-6.0, abs=0.01)
    assert spectrum(tone, 48000).peak_frequency == pytest.approx(1000, abs=48000 / 4096)


def test_channels_are_identical():
    tone = generate_tone("pink", duration=0.1, sample_rate=8000, channels=3)
    assert tone.shape == (3, 800)
    assert np.array_equal(tone[0], tone[2])


@pytest.mark.parametrize("kind", ["white", "pink"])
def test_noise_level_is_rms_and_seeded(kind):
    noise = generate_tone(kind, duration=2.0, sample_rate=16000, level_dbfs=-30, seed=3)
    assert levels(noise, 16000).rms_dbfs == pytest.approx(-30.0, abs=0.1)
    again = generate_tone(kind, duration=2.0, sample_rate=16000, level_dbfs=-30, seed=3)
    assert np.array_equal(noise, again)


def test_pink_noise_falls_3_db_per_octave():
    noise = generate_tone("pink", duration=20.0, sample_rate=16000, level_dbfs=-20)[0]
    power = np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(noise.size, 1 / 16000)

    def band(low: float) -> float:
        return float(power[(freqs >= low) & (freqs < 2 * low)].sum())

    # Equal power per octave: pink noise's signature.
    assert 10 * math.log10(band(1000) / band(250)) == pytest.approx(0.0, abs=1.0)


def test_sweep_covers_its_range_and_silence_is_zero():
    sweep = generate_tone("sweep", frequency=100, end_frequency=4000, duration=2.0,
                          sample_rate=16000)[0]  # fmt: skip
    assert spectrum(sweep[:2048], 16000, n_fft=2048).peak_frequency < 300
    assert spectrum(sweep[-2048:], 16000, n_fft=2048).peak_frequency > 3000
    assert not np.any(generate_tone("silence", duration=0.5))


def test_every_kind_is_generated():
    for kind in TONE_KINDS:
        assert generate_tone(kind, duration=0.01, sample_rate=8000).shape == (1, 80)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "square"},
        {"duration": 0.0},
        {"sample_rate": 0},
        {"channels": 0},
        {"frequency": 30000, "sample_rate": 48000},
        {"kind": "sweep", "end_frequency": 9000, "sample_rate": 16000},
    ],
)
def test_impossible_signals_are_configuration_errors(kwargs):
    with pytest.raises(ConfigurationError):
        generate_tone(**kwargs)
