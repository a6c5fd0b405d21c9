"""Splitting for API limits: pieces within limits, cut in silence, joinable back to the source."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from yuyin.audio import load_audio, split_audio, split_points, write_audio
from yuyin.errors import ConfigurationError

RATE = 16000


def _speechlike(seconds: float, gaps: list[tuple[float, float]]) -> np.ndarray:
    """Noise bursts with digital silence in the given (start, end) gaps."""
    rng = np.random.default_rng(7)
    audio = 0.2 * rng.standard_normal(round(seconds * RATE))
    for start, end in gaps:
        audio[round(start * RATE) : round(end * RATE)] = 0.0
    return audio.astype(np.float32)


def test_pieces_respect_the_limit_and_cover_everything():
    audio = _speechlike(20.0, [])
    points = split_points(audio, RATE, max_duration=3.0)
    assert points[0][0] == 0
    assert points[-1][1] == audio.size
    for (_, end), (start, _) in itertools.pairwise(points):
        assert start == end
    assert all(0 < end - start <= 3 * RATE for start, end in points)


def test_cuts_land_in_silence_near_the_limit():
    audio = _speechlike(12.0, [(4.2, 4.5), (8.0, 8.3)])
    points = split_points(audio, RATE, max_duration=5.0)
    cuts = [end / RATE for _, end in points[:-1]]
    assert 4.2 <= cuts[0] <= 4.5
    assert 8.0 <= cuts[1] <= 8.3


def test_overlap_repeats_the_end_of_the_previous_piece():
    audio = _speechlike(10.0, [])
    points = split_points(audio, RATE, max_duration=3.0, overlap=0.5)
    for (_, end), (start, _) in itertools.pairwise(points):
        assert end - start == 0.5 * RATE


def test_short_and_empty_audio():
    assert split_points(np.zeros(10), RATE, max_duration=1.0) == [(0, 10)]
    assert split_points(np.zeros(1), RATE, max_duration=1.0) == [(0, 1)]
    assert split_points(np.zeros(0), RATE, max_duration=1.0) == []


@pytest.mark.parametrize(("max_duration", "overlap"), [(0.0, 0.0), (-1.0, 0.0), (4.0, 2.0)])
def test_bad_limits(max_duration, overlap):
    with pytest.raises(ConfigurationError):
        split_points(np.zeros(100), RATE, max_duration=max_duration, overlap=overlap)


def _join(manifest_path) -> tuple[np.ndarray, dict]:
    """Concatenate the pieces, dropping each piece's overlap with the one before."""
    manifest = json.loads(manifest_path.read_text())
    rate = manifest["sample_rate"]
    parts, position = [], 0
    for piece in manifest["pieces"]:
        samples = load_audio(manifest_path.parent / piece["file"]).samples
        skip = position - round(piece["offset"] * rate)
        assert skip >= 0
        parts.append(samples[:, skip:])
        position = round(piece["end"] * rate)
        assert round(piece["offset"] * rate) + samples.shape[1] == position
    return np.concatenate(parts, axis=1), manifest


@pytest.mark.parametrize("overlap", [0.0, 1.0])
def test_split_files_concatenate_back_to_the_original(data_dir, tmp_path, overlap):
    result = split_audio(data_dir / "en_long.wav", tmp_path, max_duration=6.0, overlap=overlap)
    assert len(result.pieces) >= 4
    assert result.manifest == tmp_path / "en_long.manifest.json"
    joined, manifest = _join(result.manifest)
    original = load_audio(data_dir / "en_long.wav").samples
    assert np.array_equal(joined, original)
    assert manifest["overlap"] == overlap
    assert manifest["duration"] == pytest.approx(original.shape[1] / RATE)
    assert all(p["duration"] <= 6.0 for p in manifest["pieces"])
    assert manifest["pieces"][0]["file"] == "en_long_001.wav"


def test_stereo_pieces_join_back(data_dir, tmp_path):
    result = split_audio(data_dir / "en_stereo_44k.wav", tmp_path, max_duration=0.5)
    joined, _ = _join(result.manifest)
    assert np.array_equal(joined, load_audio(data_dir / "en_stereo_44k.wav").samples)


def test_byte_limit_for_wav_pieces(data_dir, tmp_path):
    result = split_audio(data_dir / "en_long.wav", tmp_path, max_bytes=100_000)
    sizes = [(tmp_path / p.file).stat().st_size for p in result.pieces]
    assert all(size <= 100_000 for size in sizes)
    assert sizes == [p.bytes for p in result.pieces]
    assert len(result.pieces) >= 7  # 20.6 s at 32 kB/s


def test_byte_limit_for_compressed_pieces_is_checked_after_encoding(data_dir, tmp_path):
    result = split_audio(
        data_dir / "en_long.wav", tmp_path, max_bytes=40_000, audio_format="mp3", bitrate=32000
    )
    assert all((tmp_path / p.file).stat().st_size <= 40_000 for p in result.pieces)
    assert result.pieces[0].file.endswith(".mp3")


def test_pieces_can_be_resampled_for_an_api(data_dir, tmp_path):
    result = split_audio(
        data_dir / "en_stereo_44k.wav", tmp_path, max_duration=1.0, sample_rate=16000, channels=1
    )
    assert (result.sample_rate, result.channels) == (16000, 1)
    first = load_audio(tmp_path / result.pieces[0].file)
    assert (first.sample_rate, first.channels) == (16000, 1)


def test_limits_are_required_and_must_fit_a_second(data_dir, tmp_path):
    with pytest.raises(ConfigurationError, match="limit"):
        split_audio(data_dir / "en.wav", tmp_path)
    with pytest.raises(ConfigurationError, match="less than one second"):
        split_audio(data_dir / "en.wav", tmp_path, max_bytes=5000)
    with pytest.raises(ConfigurationError, match="unknown audio format"):
        split_audio(data_dir / "en.wav", tmp_path, max_duration=1, audio_format="aac")


def test_one_sample_file_gives_one_piece(tmp_path):
    source = write_audio(tmp_path / "one.wav", np.array([0.25]), RATE)
    result = split_audio(source, tmp_path / "out", max_duration=1.0)
    assert len(result.pieces) == 1
    assert math.isclose(result.pieces[0].duration, 1 / RATE, abs_tol=1e-6)  # 6 decimals
