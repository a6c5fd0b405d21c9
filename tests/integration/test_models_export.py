"""`yuyin models export` run for real: every format verified through its engine (ONNX on the
built-in sample, the others against CTranslate2's transcript), the hf copy, and the refusals
(non-empty folder, unknown format, a sample without its text)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")


def yuyin_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yuyin", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning:yuyin"},
        check=False,
    )


@pytest.mark.slow
def test_onnx_export_is_verified_through_sherpa_onnx(tmp_path):
    pytest.importorskip("sherpa_onnx")
    out = tmp_path / "tiny-onnx"
    result = yuyin_cli(
        "models", "export", "tiny.en", "--format", "onnx", "-o", str(out), "--verify", "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["format"] == "onnx"
    assert sorted(Path(f["path"]).name for f in report["files"]) == [
        "decoder.onnx", "encoder.onnx", "tokens.txt",
    ]  # fmt: skip
    verify = report["verify"]
    assert verify["engine"] == "sherpa-onnx"
    assert verify["metric"] == "wer"
    assert verify["error_rate"] <= 0.15, verify["text"]
    assert verify["passed"] is True
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fmt", "options", "needs", "engine"),
    [
        ("hf", [], "transformers", "transformers"),
        ("ct2", [], "ctranslate2", "faster-whisper"),
        ("openai-whisper", [], "whisper", "openai-whisper"),
        ("ggml", [], "_pywhispercpp", "whisper.cpp"),
        ("ggml", ["--dtype", "q8_0"], "_pywhispercpp", "whisper.cpp"),
    ],
)
def test_each_export_transcribes_like_ctranslate2_through_its_engine(
    tmp_path, data_dir, ct2_text, fmt, options, needs, engine
):
    # --verify with CTranslate2's own transcript as the known text: the exported weights,
    # run by another runtime, must give the same words on a clear fixture.
    pytest.importorskip(needs)
    out = tmp_path / "export"
    result = yuyin_cli(
        "models", "export", "tiny.en", "--format", fmt, "-o", str(out), *options, "--verify",
        "--verify-audio", str(data_dir / "en.wav"), "--verify-text", ct2_text,
        "--max-error-rate", "0.05", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["format"] == fmt
    assert all(Path(f["path"]).is_relative_to(out) for f in report["files"])
    verify = report["verify"]
    assert verify["engine"] == engine
    assert verify["error_rate"] <= 0.05, (verify["text"], ct2_text)
    assert verify["passed"] is True
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_hf_export_copies_the_checkpoint_and_refuses_a_non_empty_folder(tmp_path):
    out = tmp_path / "tiny-hf"
    result = yuyin_cli("models", "export", "tiny.en", "--format", "hf", "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert "exported tiny.en as hf" in result.stdout
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert config["model_type"] == "whisper"
    assert (out / "model.safetensors").is_file()
    assert not (out / ".complete").exists()

    again = yuyin_cli("models", "export", str(out), "--format", "hf", "--output-dir", str(out))
    assert again.returncode == 6
    assert "not empty" in again.stderr
    assert "Traceback" not in again.stderr


def test_bad_requests_exit_with_a_message(tmp_path, data_dir):
    unknown = yuyin_cli("models", "export", "tiny.en", "--format", "tflite", "-o", str(tmp_path))
    assert unknown.returncode == 2
    assert "tflite" in unknown.stderr
    no_text = yuyin_cli(
        "models", "export", "tiny.en", "-f", "onnx", "-o", str(tmp_path / "x"), "--verify",
        "--verify-audio", str(data_dir / "en.wav"),
    )  # fmt: skip
    assert no_text.returncode == 2
    assert "--verify-text" in no_text.stderr
    missing = yuyin_cli("models", "export", "no-such-model", "-f", "hf", "-o", str(tmp_path / "y"))
    assert missing.returncode == 4
    assert "Traceback" not in missing.stderr


def test_models_still_lists_and_export_has_help():
    listing = yuyin_cli("models", "--json")
    assert listing.returncode == 0
    assert "tiny.en" in {row["name"] for row in json.loads(listing.stdout)}
    helped = yuyin_cli("models", "export", "--help")
    assert helped.returncode == 0
    for word in ("--format", "--output-dir", "--verify", "sherpa-onnx", "whisper.cpp"):
        assert word in helped.stdout
