"""Decoding every container to 16 kHz mono float32, and every kind of bad input."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from yuyin.audio import decode_audio, iter_audio, probe_audio
from yuyin.errors import AudioDecodeError, MediaNotFoundError

SPEECH = ["en.wav", "en.flac", "en.mp3", "en.ogg", "en.m4a", "en.webm", "video.mp4"]


@pytest.mark.parametrize("name", SPEECH)
def test_every_container_decodes_to_16k_mono_float32(data_dir, fixtures, name):
    audio, info = decode_audio(data_dir / name)
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert info.duration == pytest.approx(audio.size / 16000)
    assert info.duration == pytest.approx(fixtures[name]["duration"], abs=0.15)
    assert 0.01 < float(np.abs(audio).max()) <= 1.0
    assert info.has_video is (name == "video.mp4")


def test_stereo_44k_is_resampled_and_downmixed(data_dir, fixtures):
    audio, info = decode_audio(data_dir / "en_stereo_44k.wav")
    assert (info.sample_rate, info.channels) == (44100, 2)
    assert audio.size == pytest.approx(fixtures["en_stereo_44k.wav"]["duration"] * 16000, rel=0.01)


def test_file_objects_decode_like_paths(data_dir):
    from_path, _ = decode_audio(data_dir / "en.mp3")
    buffer = io.BytesIO((data_dir / "en.mp3").read_bytes())
    from_buffer, info = decode_audio(buffer)
    assert np.array_equal(from_path, from_buffer)
    assert info.codec.startswith("mp3")


def test_iter_audio_yields_bounded_chunks_that_add_up(data_dir):
    whole, _ = decode_audio(data_dir / "en_long.wav")
    chunks = list(iter_audio(data_dir / "en_long.wav", chunk_seconds=2.0))
    assert all(c.size == 32000 for c in chunks[:-1])
    assert 0 < chunks[-1].size <= 32000
    assert np.array_equal(np.concatenate(chunks), whole)


def test_probe_reads_the_container_without_decoding(data_dir):
    info = probe_audio(data_dir / "en_stereo_44k.wav")
    assert info.container == "wav"
    assert info.channels == 2
    assert info.duration == pytest.approx(1.9, abs=0.1)


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("missing.wav", MediaNotFoundError, "no such file"),
        ("golden", MediaNotFoundError, "is a folder"),
        ("empty.wav", AudioDecodeError, "empty (0 bytes)"),
        ("not_audio.wav", AudioDecodeError, "not a media file"),
        ("corrupt.wav", AudioDecodeError, "not a media file"),
        ("zero_length.wav", AudioDecodeError, "no audio samples"),
        ("truncated.mp3", AudioDecodeError, "truncated"),
        ("video_noaudio.mp4", AudioDecodeError, "no audio track"),
    ],
)
def test_bad_inputs_raise_one_clear_error(data_dir, name, error, message):
    with pytest.raises(error, match=re.escape(message)) as info:
        decode_audio(data_dir / name)
    assert name in info.value.message
    assert info.value.hint
    assert "\n" not in info.value.message


def test_what_is_not_a_source_is_named_with_a_hint(data_dir):
    decoded = decode_audio(data_dir / "en.wav")
    with pytest.raises(AudioDecodeError, match="from a tuple") as info:
        decode_audio(decoded)  # type: ignore[arg-type]
    assert "pass the samples" in info.value.hint
    with pytest.raises(AudioDecodeError, match="from a list"):
        probe_audio([0.0, 0.1])  # type: ignore[arg-type]
