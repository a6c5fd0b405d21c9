"""Encoding to WAV/FLAC/MP3/Opus and converting files, written atomically."""

from __future__ import annotations

import math

import numpy as np
import pytest

from yuyin.audio import (
    convert_audio,
    encode_audio,
    generate_tone,
    load_audio,
    write_audio,
)
from yuyin.audio.encode import extension_for, format_for_path, sample_format_for_bits
from yuyin.errors import ConfigurationError, OutputError


@pytest.mark.parametrize(
    ("sample_format", "codec", "bits"),
    [
        ("u8", "pcm_u8", 8),
        ("s16", "pcm_s16le", 16),
        ("s24", "pcm_s24le", 24),
        ("s32", "pcm_s32le", 32),
        ("f32", "pcm_f32le", 32),
    ],
)
def test_wav_sample_formats_round_trip(tmp_path, sample_format, codec, bits):
    tone = generate_tone("sine", frequency=440, duration=0.25, sample_rate=22050, channels=2)
    path = write_audio(tmp_path / "t.wav", tone, 22050, sample_format=sample_format)
    loaded = load_audio(path)
    assert loaded.info.codec == codec
    assert loaded.bit_depth == bits
    assert loaded.samples.shape == tone.shape
    assert np.max(np.abs(loaded.samples - tone)) <= 1.0 / 2 ** (bits - 1)


@pytest.mark.parametrize(
    ("name", "codec", "rate"),
    [("x.flac", "flac", 16000), ("x.mp3", "mp3", 16000), ("x.opus", "opus", 48000)],
)
def test_compressed_formats_from_the_extension(data_dir, tmp_path, name, codec, rate):
    info = convert_audio(data_dir / "en.wav", tmp_path / name)
    assert info.codec.startswith(codec)
    assert info.sample_rate == rate  # Opus always decodes at 48 kHz
    assert info.duration == pytest.approx(5.45, abs=0.05)


def test_convert_resamples_and_mixes_down(data_dir, tmp_path):
    info = convert_audio(
        data_dir / "en_stereo_44k.wav", tmp_path / "out.wav", sample_rate=16000, channels=1
    )
    assert (info.sample_rate, info.channels) == (16000, 1)
    assert info.duration == pytest.approx(1.9065, abs=0.001)
    loaded = load_audio(tmp_path / "out.wav")
    assert loaded.bit_depth == 16  # the source's depth is kept


def test_convert_keeps_24_bit_and_float_sources(tmp_path):
    tone = generate_tone("sine", duration=0.1, sample_rate=48000)
    src24 = write_audio(tmp_path / "a.wav", tone, 48000, sample_format="s24")
    assert load_audio(convert_audio(src24, tmp_path / "b.flac").path).bit_depth == 24
    src32f = write_audio(tmp_path / "c.wav", tone, 48000, sample_format="f32")
    assert load_audio(convert_audio(src32f, tmp_path / "d.wav").path).info.codec == "pcm_f32le"
    # FLAC cannot hold float: it falls back to 16-bit.
    assert load_audio(convert_audio(src32f, tmp_path / "e.flac").path).bit_depth == 16


def test_convert_a_stretch(data_dir, tmp_path):
    info = convert_audio(data_dir / "en.wav", tmp_path / "part.wav", start=1.0, end=2.5)
    assert info.duration == pytest.approx(1.5)


def test_mono_to_stereo_copies_the_channel(data_dir, tmp_path):
    convert_audio(data_dir / "en.wav", tmp_path / "s.wav", channels=2)
    loaded = load_audio(tmp_path / "s.wav")
    assert loaded.channels == 2
    assert np.array_equal(loaded.samples[0], loaded.samples[1])


def test_values_beyond_full_scale_are_clipped():
    data = encode_audio(np.array([2.0, -2.0, 0.0]), 8000, sample_format="s16")
    assert data[:4] == b"RIFF"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"audio_format": "ogg-vorbis"}, "unknown audio format"),
        ({"audio_format": "flac", "sample_format": "f32"}, "cannot store"),
        ({"audio_format": "mp3", "sample_format": "s16"}, "cannot store"),
        ({"audio_format": "opus", "sample_rate": 44100}, "44100 Hz"),
        ({"audio_format": "mp3", "sample_rate": 96000}, "96000 Hz"),
        ({"audio_format": "wav", "sample_rate": 0}, "positive"),
        ({"audio_format": "mp3", "channels": 3}, "3 channels"),
    ],
)
def test_refused_combinations_are_configuration_errors(kwargs, message):
    channels = kwargs.pop("channels", 1)
    rate = kwargs.pop("sample_rate", 48000)
    with pytest.raises(ConfigurationError, match=message) as caught:
        encode_audio(np.zeros((channels, 480)), rate, **kwargs)
    assert caught.value.hint


def test_format_names_and_extensions():
    assert format_for_path("a/B.WAV") == "wav"
    assert format_for_path("x.ogg") == "opus"
    assert extension_for("opus") == ".opus"
    assert sample_format_for_bits(None) == "s16"
    assert sample_format_for_bits(24) == "s24"
    assert sample_format_for_bits(32, is_float=True) == "f32"
    with pytest.raises(ConfigurationError, match="cannot tell the audio format"):
        format_for_path("x.aiff")
    with pytest.raises(ConfigurationError):
        extension_for("aiff")


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path):
    target = tmp_path / "keep.wav"
    write_audio(target, np.zeros(100), 16000)
    before = target.read_bytes()
    with pytest.raises(ConfigurationError):
        write_audio(target, np.zeros(100), 44100, audio_format="opus")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]


def test_unwritable_destination_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        write_audio(blocker / "sub" / "x.wav", np.zeros(10), 16000)


def test_multichannel_wav(tmp_path):
    audio = np.stack([np.full(100, 0.1 * (c + 1)) for c in range(6)])
    loaded = load_audio(write_audio(tmp_path / "six.wav", audio, 48000))
    assert loaded.channels == 6
    assert np.allclose(loaded.samples[:, 0], [0.1 * (c + 1) for c in range(6)], atol=1e-4)
    assert math.isclose(loaded.duration, 100 / 48000)
