"""The `yuyin` command run for real in a subprocess: outputs, exit codes, bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def yuyin(*args: str, stdin: bytes | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "yuyin", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_transcribe_writes_every_format_and_prints_the_transcript(tmp_path, data_dir):
    result = yuyin("transcribe", str(data_dir / "en.wav"), "-m", "tiny.en", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "-->" in out
    assert "morning" in out.lower()
    for ext in ("txt", "srt", "vtt", "tsv", "json"):
        path = tmp_path / f"en.{ext}"
        assert path.is_file()
        assert f"wrote {path}" in result.stderr.decode()
    assert (tmp_path / "en.vtt").read_text().startswith("WEBVTT\n")
    assert (tmp_path / "en.srt").read_text().startswith("1\n00:00:0")
    data = json.loads((tmp_path / "en.json").read_text())
    assert set(data) >= {"text", "language", "duration", "segments"}
    word = data["segments"][0]["words"][0]
    assert set(word) == {"start", "end", "word", "probability"}


def test_json_summary_and_partial_failure_exit_code(tmp_path, data_dir):
    bad = tmp_path / "broken.mp3"
    shutil.copy(data_dir / "not_audio.wav", bad)
    result = yuyin(
        "transcribe", str(data_dir / "en.wav"), str(bad), str(data_dir / "video.mp4"),
        "-m", "tiny.en", "-o", str(tmp_path / "out"), "-f", "txt", "--json",
    )  # fmt: skip
    assert result.returncode == 10, result.stderr
    summary = json.loads(result.stdout)
    assert summary["succeeded"] == 2
    assert summary["failed"] == 1
    assert summary["audio_seconds"] > 5
    failed = [f for f in summary["files"] if not f["ok"]]
    assert failed[0]["input"] == str(bad)
    assert failed[0]["error"]["type"] == "AudioDecodeError"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["en.txt", "video.txt"]
    assert "error: " + str(bad) in result.stderr.decode()


def test_stdin_input(tmp_path, data_dir):
    result = yuyin(
        "transcribe", "-", "-m", "tiny.en", "-f", "txt", "-q",
        stdin=(data_dir / "en.mp3").read_bytes(), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "morning" in (tmp_path / "stdin.txt").read_text().lower()
    assert result.stdout == b""


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["missing.wav"], 3, "no such file"),
        (["{data}/not_audio.wav"], 3, "not a media file"),
        (["{data}/empty.wav"], 3, "empty"),
        (["{data}/zero_length.wav"], 3, "no audio samples"),
        (["{data}/corrupt.wav"], 3, "{data}/corrupt.wav"),
        (["{data}/truncated.mp3"], 3, "truncated"),
        (["{data}/video_noaudio.mp4"], 3, "no audio track"),
        (["{data}/golden"], 3, "no audio or video files"),
        (["{data}/en.wav", "-l", "klingon"], 2, "unknown language"),
        (["{data}/en.wav", "--compute-type", "int4"], 2, "compute type"),
        (["{data}/en.wav", "--device", "cuda"], 2, "CUDA"),
        (["{data}/en.wav", "-m", "large-v3"], 4, "could not be downloaded"),
        (["{data}/en.wav", "-o", "{data}/en.wav/out"], 6, "cannot write"),
        (["{data}/en.wav", "-f", "docx"], 2, "unknown format"),
    ],
)
def test_bad_input_is_one_clear_line_and_an_exit_code(tmp_path, data_dir, args, code, message):
    if "--device" in args:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            pytest.skip("a GPU is present")
    argv = [a.replace("{data}", str(data_dir)) for a in args]
    argv += [] if "-m" in argv else ["-m", "tiny.en"]
    argv += [] if "-f" in argv else ["-f", "txt"]
    # HF_HUB_OFFLINE makes the real hub-download path fail at once, as it does offline.
    env = {**os.environ, "YUYIN_CACHE_DIR": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "yuyin", "transcribe", *argv],
        capture_output=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
        env=env,
    )
    err = result.stderr.decode()
    assert result.returncode == code, err
    assert message.replace("{data}", str(data_dir)) in err
    assert "Traceback" not in err
    assert err.startswith("error: ") or "Error: " in err  # click's own usage errors
    if result.returncode != 2:
        assert "\nhint: " in err


def test_unknown_language_lists_the_valid_codes(data_dir):
    result = yuyin("transcribe", str(data_dir / "en.wav"), "-l", "xx", "-m", "tiny.en")
    assert result.returncode == 2
    assert "zh-TW" in result.stderr.decode()


def test_models_and_doctor_json():
    models = yuyin("models", "--json")
    assert models.returncode == 0
    rows = {r["name"]: r for r in json.loads(models.stdout)}
    assert rows["base"]["available"] is True
    assert rows["base"]["multilingual"] is True
    assert rows["tiny.en"]["multilingual"] is False
    doctor = yuyin("doctor", "--json")
    assert doctor.returncode == 0
    report = json.loads(doctor.stdout)
    assert report["packages"]["faster-whisper"]
    assert isinstance(report["cuda"]["usable"], bool)
    assert report["cuda"]["reason"]


def test_help_answers_the_questions():
    result = yuyin("transcribe", "--help")
    text = result.stdout.decode()
    assert result.returncode == 0
    for needle in ("--language", "zh-TW", "--output-format", "Exit codes", "--vad", "[default:"):
        assert needle in text


def test_models_and_doctor_tables_for_people():
    models = yuyin("models")
    lines = models.stdout.decode().splitlines()
    assert lines[0].split()[:3] == ["NAME", "LANGUAGES", "HERE"]
    base = next(line for line in lines if line.startswith("base "))
    assert "multilingual" in base
    assert " MB " in base
    doctor = yuyin("doctor").stdout.decode()
    for needle in ("faster-whisper", "ctranslate2", "cuda", "libcudnn", "tiny.en"):
        assert needle in doctor
