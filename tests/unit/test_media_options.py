"""Media options, URL handling without the network, separation and stems (no model)."""

from __future__ import annotations

import dataclasses
import json

import click
import numpy as np
import pytest

from yuyin.audio import decode_audio
from yuyin.cli.transcribe import MEDIA_PARAMS, transcribe_command
from yuyin.errors import ConfigurationError, MissingDependencyError, ModelNotFoundError
from yuyin.formats import to_json
from yuyin.media import (
    MediaOptions,
    canonical_url,
    is_youtube_url,
    list_media,
    separate_vocals,
    validate_media_options,
    write_stems,
)
from yuyin.media import download as download_module
from yuyin.media.mixes import make_music, mix_at_snr, rms
from yuyin.media.separate import HTDEMUCS_WEIGHTS, _blocks, demucs_weights, separate_light
from yuyin.types import Segment, Transcript


def test_media_flags_map_one_to_one_to_media_options():
    fields = {f.name: f.default for f in dataclasses.fields(MediaOptions)}
    assert set(fields) == MEDIA_PARAMS
    params = {p.name: p for p in transcribe_command.params if p.name in MEDIA_PARAMS}
    assert set(params) == MEDIA_PARAMS
    for name, param in params.items():
        assert isinstance(param, click.Option)
        assert f"--{name.replace('_', '-')}" in param.opts
        assert param.default == fields[name], name


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (MediaOptions(stems="out"), "--separate-vocals"),
        (MediaOptions(subtitle_font="x.ttf"), "--subtitle-font"),
        (MediaOptions(quality="8k"), "quality"),
        (MediaOptions(separator="spleeter"), "separator"),
        (MediaOptions(stems_format="ogg", separate_vocals=True), "stems_format"),
    ],
)
def test_impossible_media_options_are_configuration_errors(options, message):
    with pytest.raises(ConfigurationError, match=message) as info:
        validate_media_options(options)
    assert info.value.hint


def test_wants_video():
    assert not MediaOptions().wants_video
    assert MediaOptions(quality="low").wants_video
    assert MediaOptions(embed_subtitles=True).wants_video


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://youtu.be/abc123?t=5", "https://www.youtube.com/watch?v=abc123"),
        ("https://www.youtube.com/watch?v=abc123&t=9s", "https://www.youtube.com/watch?v=abc123"),
        ("https://m.youtube.com/shorts/abc123", "https://www.youtube.com/watch?v=abc123"),
        ("https://www.youtube.com/playlist?list=PL1", "https://www.youtube.com/playlist?list=PL1"),
        ("https://example.com/a/ep1.mp3#x", "https://example.com/a/ep1.mp3"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


def test_youtube_hosts():
    assert is_youtube_url("https://youtu.be/x")
    assert is_youtube_url("https://music.youtube.com/watch?v=x")
    assert not is_youtube_url("https://notyoutube.com/watch?v=x")


def test_without_yt_dlp_direct_links_stream_and_youtube_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setattr(download_module, "has_yt_dlp", lambda: False)
    (entry,) = list_media(
        "https://example.com/pod/ep%201.mp3", MediaOptions(), download_dir=tmp_path
    )
    assert entry.name == "ep 1"
    assert download_module.fetch_media(entry, MediaOptions(), download_dir=tmp_path) == entry.url
    with pytest.raises(MissingDependencyError, match="YouTube") as info:
        list_media("https://youtu.be/abc", MediaOptions(), download_dir=tmp_path)
    assert info.value.hint == "pip install 'yuyin[media]'"


def test_segments_carry_an_empty_speaker_in_json():
    transcript = Transcript((Segment(0.0, 1.0, " hi"),), "en", 1.0)
    assert json.loads(to_json(transcript))["segments"][0]["speaker"] == ""


# --- separation --------------------------------------------------------------------------


def test_mix_at_snr_hits_the_requested_ratio():
    speech = np.sin(np.linspace(0, 2000, 32000)).astype(np.float32) * 0.1
    music = make_music(3.0)
    mix = mix_at_snr(speech, music, 5.0)
    measured = 20 * np.log10(rms(speech) / rms(mix - speech))
    assert measured == pytest.approx(5.0, abs=0.01)
    assert np.array_equal(make_music(3.0, seed=4), make_music(3.0, seed=4))


def test_blocks_cross_fade_back_to_the_input():
    signal = np.random.default_rng(0).standard_normal(50_000).astype(np.float32)
    out = _blocks(signal, 16_000, 4_000, lambda block: block)
    np.testing.assert_allclose(out, signal, atol=1e-5)


def test_light_separation_removes_repeating_music_and_keeps_a_partition():
    music = make_music(8.0, seed=2)
    stems = separate_light(music)
    assert stems.vocals.shape == music.shape
    np.testing.assert_allclose(stems.vocals + stems.accompaniment, music, atol=1e-5)
    # Music alone: the vocal stem is at least 4 dB below the input (measured: about -6 dB).
    assert rms(stems.vocals) < 0.63 * rms(music)


def test_light_separation_keeps_speech_over_music(data_dir):
    speech, _ = decode_audio(data_dir / "en.wav")
    mix = mix_at_snr(speech, make_music(7.0, seed=1), -10.0)
    vocals = separate_light(mix).vocals
    music = mix - speech
    # Speech-to-music ratio in the vocal stem beats the mix's -10 dB (projection on speech).
    gain = float(np.dot(vocals, speech) / np.dot(speech, speech))
    residual = vocals - gain * speech
    assert 20 * np.log10(rms(gain * speech) / rms(residual)) > -10.0 + 3.0
    assert rms(music) > 0


def test_demucs_not_installed_says_what_to_install():
    with pytest.raises(MissingDependencyError, match="demucs") as info:
        separate_vocals(np.zeros(16000, np.float32), separator="demucs")
    assert "pip install demucs" in info.value.hint
    assert HTDEMUCS_WEIGHTS in info.value.hint


def test_auto_separator_falls_back_to_light_without_demucs():
    stems = separate_vocals(np.zeros(16000, np.float32), separator="auto")
    assert stems.method == "light"


def test_missing_demucs_weights_name_the_file_and_where_from(tmp_path):
    with pytest.raises(ModelNotFoundError, match=HTDEMUCS_WEIGHTS) as info:
        demucs_weights(tmp_path)
    assert "dl.fbaipublicfiles.com" in info.value.hint
    assert "--separator light" in info.value.hint
    (tmp_path / HTDEMUCS_WEIGHTS).write_bytes(b"x")
    assert demucs_weights(tmp_path) == tmp_path / HTDEMUCS_WEIGHTS


@pytest.mark.parametrize("audio_format", ["wav", "flac", "mp3"])
def test_write_stems_in_each_format(tmp_path, audio_format):
    stems = separate_light(make_music(2.0))
    written = write_stems(stems, tmp_path, "song", audio_format)
    assert set(written) == {"vocals", "accompaniment"}
    for path in written.values():
        samples, info = decode_audio(path)
        assert path.endswith(f".{audio_format}")
        assert abs(info.duration - 2.0) < 0.1
        assert samples.size > 0


def test_batch_treats_spellings_of_one_video_as_one_item():
    from yuyin.batch import expand_inputs

    got = expand_inputs(["https://youtu.be/abc", "https://www.youtube.com/watch?v=abc&t=3"])
    assert [i.key for i in got.items] == ["https://www.youtube.com/watch?v=abc"]
    assert got.items[0].source == "https://youtu.be/abc"
    assert len(got.duplicates) == 1
