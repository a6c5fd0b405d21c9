"""`yuyin eval` run for real: the embedded models on the generated English and Mandarin fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SUMMARY_KEYS = {
    "wer", "cer", "mer", "wil", "substitutions", "deletions", "insertions", "hits",
    "reference_length", "utterances", "normalizer", "metric",
}  # fmt: skip
# Bounds as in test_transcribe_real.py: robotic espeak-ng speech, read back nearly perfectly.
EN_MAX_WER = 0.15
ZH_MAX_CER = 0.30


def yuyin(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yuyin", "eval", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def _relative(target: Path, start: Path) -> str:
    return os.path.relpath(target, start)


@pytest.fixture(scope="module")
def english_run(tmp_path_factory, data_dir, fixtures):
    """tiny.en on en.wav and en_long.wav, from a JSONL manifest with relative paths, plus
    one missing file and one malformed line; reports in every format."""
    folder = tmp_path_factory.mktemp("en")
    rows = [
        json.dumps({"id": name, "audio": _relative(data_dir / name, folder),
                    "text": fixtures[name]["text"], "language": "en"})
        for name in ("en.wav", "en_long.wav")
    ]  # fmt: skip
    rows.insert(1, json.dumps({"audio": "missing.wav", "text": "nothing here"}))
    rows.append("{this is not json")
    (folder / "test.jsonl").write_text("\n".join(rows) + "\n")
    reports = [str(folder / f"run.{ext}") for ext in ("json", "md", "html")]
    result = yuyin(
        "test.jsonl", "-m", "tiny.en", "--json",
        *(arg for path in reports for arg in ("--report", path)),
        cwd=folder,
    )  # fmt: skip
    return folder, result


def test_english_manifest_json_summary(english_run):
    _folder, result = english_run
    assert result.returncode == 10, result.stderr  # two rows were skipped
    summary = json.loads(result.stdout)
    assert set(summary) >= SUMMARY_KEYS
    assert summary["metric"] == "wer"
    assert summary["normalizer"] == "english"
    assert summary["utterances"] == 2
    assert summary["skipped"] == 2
    assert 0.0 <= summary["wer"] <= EN_MAX_WER
    assert 0.0 <= summary["cer"] <= summary["wer"] + 0.05
    assert summary["reference_length"] > 80
    assert summary["rtf"] > 0
    assert summary["model"] == "tiny.en"
    low, high = summary["ci95"]["wer"]
    assert low <= summary["wer"] <= high


def test_bad_rows_are_reported_with_line_numbers(english_run):
    folder, result = english_run
    assert "test.jsonl:2: audio file not found" in result.stderr
    assert "test.jsonl:4: malformed JSON" in result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((folder / "run.json").read_text())
    assert sorted(s["line"] for s in report["skipped"]) == [2, 4]


def test_reports_record_the_run(english_run):
    folder, _ = english_run
    report = json.loads((folder / "run.json").read_text())
    settings = report["settings"]
    assert settings["model"] == "tiny.en"
    assert settings["transcribe_options"]["beam_size"] == 5
    assert settings["device"] in ("cpu", "cuda")
    assert settings["manifest_format"] == "jsonl"
    assert {u["id"] for u in report["utterances"]} == {"en.wav", "en_long.wav"}
    assert all(u["duration"] > 5 for u in report["utterances"])
    md = (folder / "run.md").read_text()
    assert "| WER |" in md
    assert "95% CI" in md
    html = (folder / "run.html").read_text()
    assert html.startswith("<!doctype html>")
    assert "tiny.en" in html


def test_mandarin_csv_manifest_in_traditional_script(tmp_path, data_dir, fixtures):
    wav = _relative(data_dir / "zh.wav", tmp_path)
    (tmp_path / "zh.csv").write_text(f"audio,text\n{wav},{fixtures['zh.wav']['text']}\n")
    result = yuyin("zh.csv", "-m", "base", "-l", "zh-TW", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["metric"] == "cer"
    assert summary["normalizer"] == "chinese"
    assert summary["unit"] == "char"
    assert 0.0 <= summary["cer"] <= ZH_MAX_CER
    assert summary["cer"] <= summary["orthographic"]["cer"]  # punctuation is not an error


def test_kaldi_folder_and_human_readable_output(tmp_path, data_dir, fixtures):
    (tmp_path / "wav.scp").write_text(f"utt1 {_relative(data_dir / 'en.wav', tmp_path)}\n")
    (tmp_path / "text").write_text(f"utt1 {fixtures['en.wav']['text']}\n")
    result = yuyin(str(tmp_path), "-m", "tiny.en", "--beam-size", "1")
    assert result.returncode == 0, result.stderr
    assert "WER" in result.stdout
    assert "real-time factor" in result.stdout
    assert "1 utterances scored, 0 skipped" in result.stdout


def test_hyp_ref_mode_and_compare(tmp_path, english_run):
    folder, _ = english_run
    (tmp_path / "ref.txt").write_text("I like to read a good book\n我們一起去公園\n")
    (tmp_path / "hyp.txt").write_text("I like to read a book\n我们一起去公园\n")
    result = yuyin("--hyp", "hyp.txt", "--ref", "ref.txt", "--json", "--normalizer", "basic",
                   "--report", "pairs.json", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["utterances"] == 2
    assert 0.0 < summary["wer"] < 1.0
    assert summary["rtf"] is None

    same = yuyin("compare", str(folder / "run.json"), str(folder / "run.json"), "--json")
    assert same.returncode == 0, same.stderr
    data = json.loads(same.stdout)
    assert data["difference"] == 0.0
    assert data["p_value"] == 1.0
    mismatch = yuyin("compare", str(folder / "run.json"), str(tmp_path / "pairs.json"))
    assert mismatch.returncode == 2
    assert "error: " in mismatch.stderr


def test_an_empty_manifest_is_a_clear_error(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    result = yuyin("empty.jsonl", "-m", "tiny.en", cwd=tmp_path)
    assert result.returncode == 3
    assert "error: manifest" in result.stderr
    assert "is empty" in result.stderr
    assert "hint: " in result.stderr


def test_an_english_only_model_refuses_chinese_before_decoding(tmp_path, data_dir):
    (tmp_path / "zh.jsonl").write_text(
        json.dumps({"audio": str(data_dir / "zh.wav"), "text": "我們"}, ensure_ascii=False)
    )
    result = yuyin("zh.jsonl", "-m", "tiny.en", "-l", "zh-TW", cwd=tmp_path)
    assert result.returncode == 2
    assert "English-only" in result.stderr
    assert "hint: use the multilingual model" in result.stderr
