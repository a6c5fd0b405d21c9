"""Spectra and spectrograms of known signals."""

from __future__ import annotations

import numpy as np
import pytest
from faster_whisper.feature_extractor import FeatureExtractor

from yuyin.analysis import mel, mfcc, spectrum, stft, whisper_log_mel
from yuyin.audio import generate_tone
from yuyin.errors import ConfigurationError, InputError


@pytest.mark.parametrize("sample_rate", [8000, 16000, 44100, 48000, 96000])
def test_a_1_khz_tone_peaks_at_1_khz(sample_rate):
    tone = generate_tone("sine", frequency=1000, duration=0.5, sample_rate=sample_rate)
    result = spectrum(tone, sample_rate)
    assert result.frequencies[-1] == sample_rate / 2
    assert result.magnitude_db.max() == 0.0
    assert abs(result.peak_frequency - 1000) <= sample_rate / 4096
    assert result.magnitude_db.min() >= -120.0


def test_spectrum_of_stereo_keeps_channels_and_pads_short_input():
    stereo = np.stack([generate_tone("sine", frequency=f, duration=0.01)[0] for f in (500, 3000)])
    result = spectrum(stereo, 48000)
    assert result.magnitude_db.shape == (2, 2049)
    peaks = result.frequencies[np.argmax(result.magnitude_db, axis=-1)]
    assert abs(peaks[0] - 500) < 48000 / 4096
    assert abs(peaks[1] - 3000) < 48000 / 4096
    one = spectrum(np.array([0.5]), 16000)
    assert one.magnitude_db.shape == (2049,)


def test_silence_sits_at_the_floor():
    assert np.all(spectrum(np.zeros(5000), 16000).magnitude_db == -120.0)
    assert np.all(stft(np.zeros(5000), 16000).values == -120.0)


def test_stft_reads_a_full_scale_sine_near_0_dbfs():
    tone = generate_tone("sine", frequency=1000, duration=1.0, sample_rate=16000, level_dbfs=0)
    result = stft(tone[0], 16000, n_fft=1600)  # 10 Hz bins: 1 kHz falls on a bin
    row = int(np.argmax(result.values.max(axis=-1)))
    assert result.bins[row] == pytest.approx(1000.0)
    assert result.values[row, 5:-5].mean() == pytest.approx(0.0, abs=0.1)
    assert result.unit == "dBFS"
    assert result.times[1] - result.times[0] == pytest.approx(400 / 16000)


def test_mel_has_128_bands_to_8_khz_and_finds_the_tone():
    tone = generate_tone("sine", frequency=1000, duration=1.0, sample_rate=44100)
    result = mel(tone, 44100)
    assert result.values.shape[:2] == (1, 128)
    assert result.bins[-1] == pytest.approx(8000.0)
    band = int(np.argmax(result.values[0].mean(axis=-1)))
    assert 800 < result.bins[band] < 1250
    assert result.values.max() == 0.0
    assert mel(tone, 8000).bins[-1] == pytest.approx(4000.0)  # capped at Nyquist


def test_mfcc_shape():
    tone = generate_tone("white", duration=1.0, sample_rate=16000)
    result = mfcc(tone[0], 16000, n_mfcc=13)
    assert result.values.shape[0] == 13
    assert list(result.bins) == list(range(13))
    assert result.times.size == result.values.shape[-1]


@pytest.mark.parametrize("n_mels", [80, 128])
def test_whisper_log_mel_matches_faster_whisper_at_16k(n_mels):
    audio = generate_tone("pink", duration=2.0, sample_rate=16000, level_dbfs=-20)[0]
    result = whisper_log_mel(audio, 16000, n_mels=n_mels)
    expected = FeatureExtractor(feature_size=n_mels)(audio)
    assert result.values.shape == expected.shape
    assert np.allclose(result.values, expected)
    assert result.values.shape == (n_mels, 201)  # 100 frames per second, plus one
    assert result.times[1] == pytest.approx(0.01)


def test_whisper_log_mel_resamples_and_keeps_channels():
    stereo = generate_tone("sine", duration=1.0, sample_rate=44100, channels=2)
    result = whisper_log_mel(stereo, 44100)
    assert result.values.shape == (2, 80, 101)


@pytest.mark.parametrize("function", [spectrum, stft, mel, mfcc, whisper_log_mel])
def test_empty_input_is_an_input_error(function):
    with pytest.raises(InputError):
        function(np.zeros(0), 16000)


@pytest.mark.parametrize("function", [stft, mel, mfcc, whisper_log_mel])
def test_one_sample_works_without_warnings(function):
    result = function(np.array([0.3], dtype=np.float32), 16000)
    assert result.values.size > 0


def test_whisper_needs_80_or_128_bands():
    with pytest.raises(ConfigurationError, match="80 or 128"):
        whisper_log_mel(np.zeros(100), 16000, n_mels=64)
