"""`yuyin emotion train|eval|predict` run for real, in subprocesses (issue 12)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

CLASSES = ["neutral", "happy", "sad", "angry"]
PNG = b"\x89PNG\r\n\x1a\n"


def yuyin(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yuyin", "emotion", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    folder = tmp_path_factory.mktemp("emotion")
    model = folder / "emotion.zip"
    result = yuyin(
        "train", str(data_dir / "emotion"), "--classes", ",".join(CLASSES), "-o", str(model),
        "--folds", "2", "--plots", str(folder / "plots"), "--json",
    )  # fmt: skip
    return model, folder, result


def test_train_json(trained):
    model, folder, result = trained
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["classes"] == CLASSES
    assert summary["label_set"] == "emotion8"
    assert summary["model_type"] == "classic"
    assert summary["clips"] == 128
    assert summary["speakers"] == 8
    cv = summary["cross_validation"]
    assert cv["speaker_independent"] is True
    assert cv["folds"] == 2
    assert cv["uar"] > 0.5  # chance is 0.25
    assert summary["model"] == str(model)
    assert model.is_file()
    for name in ("confusion.png", "learning_curve.png"):
        assert (folder / "plots" / name).read_bytes().startswith(PNG)
        assert str(folder / "plots" / name) in summary["written"]
    curve = summary["learning_curve"]
    assert len(curve["speakers"]) == len(curve["test_uar"]) >= 2


def test_predict_json_whole_file_and_per_segment(trained, data_dir, tmp_path):
    model, _, _ = trained
    transcript = tmp_path / "t.srt"  # subtitles: one emotion per cue
    transcript.write_text(
        "1\n00:00:00,000 --> 00:00:02,300\nI like to read.\n\n"
        "2\n00:00:05,300 --> 00:00:05,350\n(too short)\n"
    )
    result = yuyin(
        "predict", str(data_dir / "en.flac"), "--model", str(model), "--json", "--per-segment",
        "--transcript", str(transcript),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for item in (data, data["segments"][0]):
        assert item["label"] in CLASSES
        assert set(item["probabilities"]) == set(CLASSES)
        assert sum(item["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert item["probabilities"][item["label"]] == max(item["probabilities"].values())
    assert data["duration"] == pytest.approx(5.45, abs=0.05)
    assert data["segments"][0]["text"] == "I like to read."
    assert (data["segments"][0]["start"], data["segments"][0]["end"]) == (0.0, 2.3)
    assert data["segments"][1]["label"] is None
    assert "too short" in data["segments"][1]["error"]


def test_eval_json(trained, data_dir):
    model, _, _ = trained
    result = yuyin("eval", str(data_dir / "emotion"), "--model", str(model), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["clips"] == 128
    assert {"accuracy", "macro_f1", "uar", "confusion", "predictions"} <= set(data)
    assert sum(map(sum, data["confusion"])) == 128
    assert data["uar"] > 0.5  # its own training data


def test_predict_without_a_model_explains_how_to_train_one(data_dir):
    result = yuyin("predict", str(data_dir / "en.wav"))
    assert result.returncode == 4
    assert "error: no emotion model given" in result.stderr
    assert "yuyin emotion train" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_model_named_in_the_hint_can_come_from_the_environment(trained, data_dir):
    model, _, _ = trained
    hint = yuyin("predict", str(data_dir / "en.wav")).stderr
    assert "YUYIN_EMOTION_PREDICT_MODEL" in hint
    result = yuyin(
        "predict", str(data_dir / "en.wav"), "--json",
        env={"YUYIN_EMOTION_PREDICT_MODEL": str(model)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["label"] in CLASSES


def test_predict_per_segment_finds_the_segments_with_whisper(trained, data_dir):
    model, _, _ = trained
    result = yuyin(
        "predict", str(data_dir / "en.wav"), "-m", str(model), "--per-segment",
        "--asr-model", "tiny.en", "--language", "en", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    segments = data["segments"]
    assert len(segments) >= 2  # en.wav is two sentences
    assert all(s["text"] for s in segments)  # one emotion per subtitle line, with its text
    previous_end = 0.0
    for s in segments:
        assert previous_end <= s["start"] < s["end"] <= data["duration"] + 0.05
        previous_end = s["end"]
        assert s["label"] in CLASSES
        assert sum(s["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_bad_inputs_exit_with_clean_errors(trained, data_dir, tmp_path):
    model, _, _ = trained
    silent = yuyin("predict", str(data_dir / "silence.wav"), "-m", str(model), "--json")
    assert silent.returncode == 3
    assert "silent" in silent.stderr

    missing_classes = yuyin("train", str(data_dir / "emotion"), "-o", str(tmp_path / "m.zip"))
    assert missing_classes.returncode == 3
    assert "no samples" in missing_classes.stderr
    assert "--classes" in missing_classes.stderr

    shutil.copy(data_dir / "en.wav", tmp_path / "recording-1.wav")
    unparseable = yuyin("train", str(tmp_path), "-o", str(tmp_path / "m.zip"))
    assert unparseable.returncode == 3
    assert "'recording-1.wav' is not a RAVDESS file name" in unparseable.stderr

    old = tmp_path / "old.zip"
    with zipfile.ZipFile(model) as z:
        members = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(members["meta.json"])
    meta["format_version"] = 0
    members["meta.json"] = json.dumps(meta).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    old.write_bytes(buffer.getvalue())
    wrong_version = yuyin("predict", str(data_dir / "en.wav"), "-m", str(old))
    assert wrong_version.returncode == 4
    assert "format version 0" in wrong_version.stderr
    for r in (silent, missing_classes, unparseable, wrong_version):
        assert "Traceback" not in r.stderr
        assert r.stderr.startswith("error: ")


def test_help_describes_the_commands_and_model_trust():
    result = yuyin("--help")
    assert result.returncode == 0
    for command in ("train", "eval", "predict"):
        assert command in result.stdout
    train_help = yuyin("train", "--help").stdout
    # The docstring is dedented, not printed with its source indent.
    assert "\n  DATA is a folder of RAVDESS-named files" in train_help
    assert "RAVDESS" in train_help
    assert "speaker" in train_help
    assert "only load models you trained yourself" in " ".join(train_help.split())
