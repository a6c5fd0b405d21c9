"""Loading at the native rate and channel count, levels, and sample-array helpers."""

from __future__ import annotations

import math
import wave

import numpy as np
import pytest

from yuyin.audio import (
    levels,
    load,
    load_audio,
    remix,
    resample,
    to_dbfs,
    to_mono,
    write_audio,
)
from yuyin.errors import AudioDecodeError, ConfigurationError, InputError, MediaNotFoundError


def _ramp(frames: int, channels: int) -> np.ndarray:
    """A distinct, deterministic signal per channel within ±0.9."""
    t = np.arange(frames) / frames
    return np.stack([0.9 * np.sin(2 * math.pi * (3 + c) * t) for c in range(channels)])


def write_pcm_wav(path, audio: np.ndarray, sample_rate: int, bits: int) -> None:
    """Write integer PCM with the standard library (an encoder independent of ours)."""
    full = 2 ** (bits - 1)
    ints = np.clip(np.round(audio.T * full), -full, full - 1).astype(np.int64)
    if bits == 8:  # 8-bit WAV is unsigned
        ints += 128
    width = bits // 8
    data = b"".join(int(v).to_bytes(width, "little", signed=bits > 8) for v in ints.reshape(-1))
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(audio.shape[0])
        handle.setsampwidth(width)
        handle.setframerate(sample_rate)
        handle.writeframes(data)


@pytest.mark.parametrize("bits", [8, 16, 24, 32])
@pytest.mark.parametrize("sample_rate", [8000, 44100, 96000])
@pytest.mark.parametrize("channels", [1, 2])
def test_integer_wavs_load_at_their_own_rate_depth_and_channels(
    tmp_path, bits, sample_rate, channels
):
    original = _ramp(sample_rate // 10, channels)
    path = tmp_path / f"x{bits}.wav"
    write_pcm_wav(path, original, sample_rate, bits)
    loaded = load_audio(path)
    assert loaded.samples.dtype == np.float32
    assert loaded.samples.shape == original.shape
    assert loaded.sample_rate == sample_rate
    assert loaded.channels == channels
    assert loaded.bit_depth == bits
    assert loaded.info.codec == ("pcm_u8" if bits == 8 else f"pcm_s{bits}le")
    assert loaded.duration == pytest.approx(0.1, abs=1e-4)
    # One step of the format, or float32's own precision for 32-bit integers.
    step = max(1.0 / 2 ** (bits - 1), 2.0**-23)
    assert np.max(np.abs(loaded.samples - original)) <= step


def test_float_wav_keeps_samples_exactly(tmp_path):
    original = _ramp(4800, 2).astype(np.float32)
    path = write_audio(tmp_path / "f.wav", original, 48000, sample_format="f32")
    loaded = load_audio(path)
    assert loaded.info.codec == "pcm_f32le"
    assert loaded.bit_depth == 32
    assert np.array_equal(loaded.samples, original)


def test_lossy_codecs_have_no_bit_depth_and_flac_24_is_detected(data_dir, tmp_path):
    assert load_audio(data_dir / "en.mp3").bit_depth is None
    assert load_audio(data_dir / "en.flac").bit_depth == 16
    path = write_audio(tmp_path / "x.flac", _ramp(1000, 1), 16000, sample_format="s24")
    assert load_audio(path).bit_depth == 24


def test_stereo_fixture_keeps_both_channels(data_dir):
    loaded = load_audio(data_dir / "en_stereo_44k.wav")
    assert loaded.samples.shape[0] == 2
    assert loaded.sample_rate == 44100
    assert np.array_equal(loaded.samples[0], loaded.samples[1])


def test_load_resamples_and_mixes_like_librosa(data_dir):
    audio, rate = load(data_dir / "en_stereo_44k.wav", sample_rate=16000, mono=True)
    assert rate == 16000
    assert audio.ndim == 1
    assert audio.size == pytest.approx(1.9065 * 16000, abs=2)
    frames, rate = load(data_dir / "en.wav")
    assert frames.shape == (1, 87218)
    assert rate == 16000


def test_start_and_end_select_a_stretch(data_dir):
    whole = load_audio(data_dir / "en.wav").samples
    part = load_audio(data_dir / "en.wav", start=1.0, end=1.5)
    assert part.start == 1.0
    assert np.array_equal(part.samples, whole[:, 16000:24000])
    tail = load_audio(data_dir / "en.wav", start=5.0)
    assert np.array_equal(tail.samples, whole[:, 80000:])


def test_one_sample_file_loads(tmp_path):
    path = tmp_path / "one.wav"
    write_pcm_wav(path, np.array([[0.5]]), 16000, 16)
    loaded = load_audio(path)
    assert loaded.samples.shape == (1, 1)
    assert levels(loaded.samples, 16000).peak_dbfs == pytest.approx(-6.02, abs=0.01)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("missing.wav", MediaNotFoundError),
        ("empty.wav", AudioDecodeError),
        ("zero_length.wav", AudioDecodeError),
        ("corrupt.wav", AudioDecodeError),
        ("not_audio.wav", AudioDecodeError),
        ("truncated.mp3", AudioDecodeError),
        ("video_noaudio.mp4", AudioDecodeError),
    ],
)
def test_bad_inputs_raise_clear_errors_with_hints(data_dir, name, error):
    with pytest.raises(error) as caught:
        load_audio(data_dir / name)
    assert caught.value.hint


def test_zero_length_is_allowed_when_asked(data_dir):
    loaded = load_audio(data_dir / "zero_length.wav", allow_empty=True)
    assert loaded.samples.shape == (1, 0)
    assert loaded.duration == 0.0


def test_start_past_the_end_is_an_input_error(data_dir):
    with pytest.raises(InputError, match="past the end") as caught:
        load_audio(data_dir / "en.wav", start=9.0)
    assert "5.451" in caught.value.hint


@pytest.mark.parametrize(("start", "end"), [(-1.0, None), (2.0, 1.0), (1.0, 1.0)])
def test_bad_time_ranges_are_configuration_errors(data_dir, start, end):
    with pytest.raises(ConfigurationError):
        load_audio(data_dir / "en.wav", start=start, end=end)


def test_levels_of_known_signals():
    t = np.arange(48000) / 48000
    sine = 0.5 * np.sin(2 * math.pi * 1000 * t)
    result = levels(sine, 48000)
    assert result.peak_dbfs == pytest.approx(-6.02, abs=0.01)
    assert result.rms_dbfs == pytest.approx(-9.03, abs=0.01)
    assert result.clipped_samples == 0
    assert result.silence_ratio == 0.0
    square = np.sign(sine)
    assert levels(square, 48000).rms_dbfs == pytest.approx(0.0, abs=0.01)


def test_clipping_counts_samples_at_the_formats_largest_value():
    audio = np.array([0.0, 32767 / 32768, -1.0, 0.5, 32766 / 32768], dtype=np.float32)
    assert levels(audio, 16000, bit_depth=16).clipped_samples == 2
    assert levels(audio, 16000).clipped_samples == 1  # float: only ±1.0 and beyond
    assert levels(np.array([127 / 128]), 8000, bit_depth=8).clipped_samples == 1


def test_silence_ratio_and_per_channel_levels():
    tone = 0.1 * np.sin(2 * math.pi * 440 * np.arange(16000) / 16000)
    left = np.concatenate([tone, np.zeros(16000)])
    stereo = np.stack([left, np.zeros_like(left)])
    result = levels(stereo, 16000)
    assert result.silence_ratio == pytest.approx(0.5, abs=0.02)
    assert result.channel_peak_dbfs[0] == pytest.approx(-20.0, abs=0.01)
    assert result.channel_peak_dbfs[1] == -math.inf
    assert levels(np.zeros((2, 0)), 16000).peak_dbfs == -math.inf


def test_to_dbfs():
    assert to_dbfs(1.0) == 0.0
    assert to_dbfs(0.0) == -math.inf
    assert to_dbfs(0.1) == pytest.approx(-20.0)


def test_resample_keeps_shape_convention_and_length():
    mono = np.sin(np.arange(44100) / 10).astype(np.float32)
    out = resample(mono, 44100, 16000)
    assert out.ndim == 1
    assert out.size == 16000
    stereo = resample(np.stack([mono, mono]), 44100, 48000, quality="VHQ")
    assert stereo.shape == (2, 48000)
    assert np.array_equal(resample(mono, 16000, 16000), mono)
    with pytest.raises(ConfigurationError):
        resample(mono, 0, 16000)
    with pytest.raises(ConfigurationError):
        resample(mono, 16000, 8000, quality="best")


def test_to_mono_and_remix():
    stereo = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert np.array_equal(to_mono(stereo), [0.5, 0.5])
    assert remix(stereo, 1).shape == (1, 2)
    assert remix(np.array([0.1, 0.2]), 2).shape == (2, 2)
    assert remix(stereo, 2) is not None
    with pytest.raises(ConfigurationError):
        remix(np.zeros((6, 4)), 2)
    with pytest.raises(ConfigurationError):
        remix(stereo, 0)
    with pytest.raises(ConfigurationError):
        to_mono(np.zeros((1, 2, 3)))
