"""`yuyin audio ...` run for real in subprocesses: JSON reports, files written, bad input."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from yuyin.audio import load, write_audio

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def yuyin(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yuyin", "audio", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def ok_json(*args: str) -> dict:
    result = yuyin(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_info_json_of_the_mono_fixture(data_dir):
    info = ok_json("info", str(data_dir / "en.wav"))
    assert info["duration"] == pytest.approx(5.451, abs=0.001)
    assert (info["sample_rate"], info["channels"]) == (16000, 1)
    assert (info["container"], info["codec"], info["bit_depth"]) == ("wav", "pcm_s16le", 16)
    assert -3 < info["peak_dbfs"] < 0
    assert -30 < info["rms_dbfs"] < -15
    assert info["clipped_samples"] == 0
    assert 0.05 < info["silence_ratio"] < 0.5


def test_info_json_of_the_stereo_44k_fixture(data_dir):
    info = ok_json("info", str(data_dir / "en_stereo_44k.wav"))
    assert (info["sample_rate"], info["channels"]) == (44100, 2)
    assert info["duration"] == pytest.approx(1.9065, abs=0.001)
    assert info["channel_peak_dbfs"][0] == info["channel_peak_dbfs"][1]


def test_info_levels_of_the_tone_and_silence_fixtures(data_dir):
    hum = ok_json("info", str(data_dir / "hum.wav"))
    assert hum["peak_dbfs"] == pytest.approx(-20.0, abs=0.05)
    assert hum["rms_dbfs"] == pytest.approx(-23.0, abs=0.05)
    silence = ok_json("info", str(data_dir / "silence.wav"))
    assert silence["peak_dbfs"] is None  # -inf has no JSON spelling
    assert silence["silence_ratio"] == 1.0


def test_info_text(data_dir):
    result = yuyin("info", str(data_dir / "en_stereo_44k.wav"))
    assert result.returncode == 0, result.stderr
    assert "44100 Hz" in result.stdout
    assert "channel 2" in result.stdout


def test_convert_then_info(data_dir, tmp_path):
    out = tmp_path / "en16k.flac"
    converted = ok_json(
        "convert", str(data_dir / "en_stereo_44k.wav"), str(out), "-r", "16000", "-c", "1"
    )
    assert converted["sample_rate"] == 16000
    assert converted["channels"] == 1
    assert ok_json("info", str(out))["codec"] == "flac"


def test_split_writes_pieces_and_a_manifest(data_dir, tmp_path):
    summary = ok_json(
        "split", str(data_dir / "en_long.wav"), "-o", str(tmp_path),
        "--max-duration", "8", "--overlap", "0.5",
    )  # fmt: skip
    manifest = json.loads((tmp_path / "en_long.manifest.json").read_text())
    assert len(manifest["pieces"]) == len(summary["pieces"]) >= 3
    for piece in manifest["pieces"]:
        assert (tmp_path / piece["file"]).is_file()
        assert piece["duration"] <= 8.0
    offsets = [p["offset"] for p in manifest["pieces"]]
    assert offsets == sorted(offsets)
    assert manifest["pieces"][-1]["end"] == pytest.approx(manifest["duration"])


def test_split_by_size(data_dir, tmp_path):
    result = yuyin(
        "split", str(data_dir / "en_long.wav"), "-o", str(tmp_path), "--max-bytes", "200k"
    )
    assert result.returncode == 0, result.stderr
    pieces = sorted(tmp_path.glob("en_long_*.wav"))
    assert len(pieces) >= 4
    assert all(p.stat().st_size <= 200_000 for p in pieces)


def test_plot_writes_pngs(data_dir, tmp_path):
    out = tmp_path / "en.png"
    result = yuyin("plot", str(data_dir / "en_stereo_44k.wav"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(PNG_MAGIC)
    result = yuyin(
        "plot", str(data_dir / "en.wav"), "-o", str(tmp_path / "z.png"), "--kind",
        "waveform,whisper", "--start", "1", "--end", "2", "--separate", "--whisper-mels", "128",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "en.png",
        "z_waveform.png",
        "z_whisper.png",
    ]


def test_tone_then_snr_against_an_mp3_copy(tmp_path):
    tone = tmp_path / "tone.wav"
    made = ok_json("tone", str(tone), "--frequency", "1000", "--duration", "1")
    assert made["sample_rate"] == 48000
    mp3 = tmp_path / "tone.mp3"
    assert yuyin("convert", str(tone), str(mp3), "--bitrate", "128k").returncode == 0
    report = ok_json("snr", str(tone), str(mp3))
    assert abs(report["delay_ms"]) < 1.0
    assert report["snr_db"] > 40
    assert report["fundamental_hz"] == pytest.approx(1000, abs=0.1)
    assert report["thd_n_db"] < -40


def test_snr_finds_a_delay_between_files(data_dir, tmp_path):
    speech, rate = load(data_dir / "en.wav")
    delayed = write_audio(
        tmp_path / "late.wav", np.concatenate([np.zeros((1, 4000)), speech], axis=1), rate
    )
    report = ok_json("snr", str(data_dir / "en.wav"), str(delayed))
    assert report["delay_ms"] == pytest.approx(250.0, abs=0.07)
    assert report["snr_db"] is None  # a perfect copy: infinite SNR has no JSON spelling
    text = yuyin("snr", str(data_dir / "en.wav"), str(delayed))
    assert "250.000 ms" in text.stdout
    assert "inf dB" in text.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("info", "empty.wav"),
        ("info", "corrupt.wav"),
        ("info", "not_audio.wav"),
        ("info", "missing.wav"),
        ("plot", "zero_length.wav", "-o", "{tmp}/x.png"),
        ("plot", "en.wav", "-o", "{tmp}/x.png", "--start", "60"),
        ("convert", "video_noaudio.mp4", "{tmp}/x.wav"),
        ("split", "truncated.mp3", "--max-duration", "1", "-o", "{tmp}"),
        ("snr", "silence.wav", "en.wav"),
    ],
)
def test_bad_input_exits_3_with_an_error_line(data_dir, tmp_path, args):
    resolved = [
        a.format(tmp=tmp_path) if "{tmp}" in a else str(data_dir / a) if "." in a else a
        for a in args
    ]
    result = yuyin(*resolved)
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("error: ")
    assert "\nhint: " in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("split", "en.wav"),
        ("convert", "en.wav", "x.aiff"),
        ("convert", "en.wav", "x.opus", "-r", "44100"),
        ("plot", "en.wav", "-o", "x.jpg"),
        ("tone", "x.wav", "--frequency", "30000"),
    ],
)
def test_bad_options_exit_2(data_dir, tmp_path, args):
    resolved = [str(data_dir / a) if a == "en.wav" else a for a in args]
    result = yuyin(*resolved, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "error: " in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_devices_without_a_sound_system_says_so():
    result = yuyin("devices")
    assert "Traceback" not in result.stderr
    try:
        importlib.import_module("sounddevice")
    except OSError:  # PortAudio itself is missing, as on a bare server
        assert result.returncode == 2
        assert "PortAudio" in result.stderr
        assert "apt-get install libportaudio2" in result.stderr
    else:
        assert result.returncode == 0
