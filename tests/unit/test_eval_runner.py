"""Running an evaluation with a scripted engine, and the `yuyin eval` command without a model."""

from __future__ import annotations

import dataclasses
import json
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from yuyin.cli import main
from yuyin.cli.eval import CLI_ONLY_PARAMS, eval_command
from yuyin.eval import evaluate_manifest, evaluate_pairs
from yuyin.options import ModelOptions, TranscribeOptions, VadOptions
from yuyin.types import Segment

SUMMARY_KEYS = {
    "wer", "cer", "mer", "wil", "substitutions", "deletions", "insertions", "hits",
    "reference_length", "utterances", "normalizer", "metric",
}  # fmt: skip


def _wav(path: Path, seconds: float) -> Path:
    samples = (np.sin(np.arange(int(16000 * seconds)) / 5) * 3000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.tobytes())
    return path


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    _wav(tmp_path / "a.wav", 1.0)
    _wav(tmp_path / "b.wav", 2.0)
    (tmp_path / "broken.wav").write_bytes(b"this is not audio")
    rows = [
        {"id": "a", "audio": "a.wav", "text": "Hello, world!"},
        {"id": "b", "audio": "b.wav", "text": "hello there world", "language": "en"},
        {"id": "c", "audio": "broken.wav", "text": "never decoded"},
        {"id": "d", "audio": "gone.wav", "text": "missing"},
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(map(json.dumps, rows)) + "\n")
    return path


def test_evaluate_manifest_with_one_engine_skips_bad_rows_and_times_the_rest(manifest, fake_engine):
    engine = fake_engine([Segment(0.0, 0.9, " hello world")])
    seen = []
    result = evaluate_manifest(
        manifest,
        options=TranscribeOptions(vad=False),
        engine=engine,
        on_done=lambda utt, rec, err: seen.append((utt.id, err is None)),
    )
    assert seen == [("a", True), ("b", True), ("c", False)]
    assert [u.id for u in result.utterances] == ["a", "b"]
    a, b = result.utterances
    assert a.score("wer") == 0.0  # punctuation and case normalised away
    assert a.score("wer", normalized=False) == 1.0
    assert b.score("wer") == 1 / 3
    assert result.score("wer") == 1 / 5
    assert (a.duration, b.duration) == (1.0, 2.0)
    assert a.processing_time is not None
    assert a.processing_time >= 0
    assert a.audio == str(manifest.parent / "a.wav")
    assert result.real_time_factor is not None
    assert result.real_time_factor >= 0
    assert result.metric == "wer"
    assert result.normalizer == "english"
    assert [(s.line, s.id) for s in result.skipped] == [(4, "d"), (3, "c")]
    assert "AudioDecodeError" in result.skipped[1].reason
    assert result.settings["model"] == "fake-model"
    assert result.settings["transcribe_options"]["vad"] is False
    assert [c["language"] for c in engine.calls] == [None, "en"]  # the row's language


def test_the_language_option_overrides_the_rows_and_picks_the_metric(manifest, fake_engine):
    engine = fake_engine([Segment(0.0, 0.9, " 你好")], language="zh")
    result = evaluate_manifest(
        manifest, options=TranscribeOptions(vad=False, language="zh-TW"), engine=engine
    )
    assert [c["language"] for c in engine.calls] == ["zh", "zh"]
    assert result.metric == "cer"
    assert result.normalizer == "chinese"


def test_evaluate_pairs_records_its_inputs(tmp_path):
    (tmp_path / "ref.txt").write_text("one two\nthree\n")
    (tmp_path / "hyp.txt").write_text("one too\nthree\n")
    result = evaluate_pairs(tmp_path / "hyp.txt", tmp_path / "ref.txt", normalizer="none")
    assert result.score() == 1 / 3
    assert result.settings["mode"] == "pairs"
    assert [u.line for u in result.utterances] == [1, 2]
    assert result.real_time_factor is None


def _invoke(*args: str):
    return CliRunner().invoke(main, ["eval", *args])


@pytest.fixture
def pairs(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "ref.txt").write_text("the cat sat on the mat\nhello world\n我們一起去學校\n\n")
    (tmp_path / "hyp.txt").write_text("the bat sat on mat\nhello world\n我们一起去学校\nx\n")
    return str(tmp_path / "hyp.txt"), str(tmp_path / "ref.txt")


def test_cli_scores_pairs_with_a_json_summary(pairs, tmp_path):
    hyp, ref = pairs
    out = tmp_path / "r.json"
    result = _invoke("--hyp", hyp, "--ref", ref, "--json", "--normalizer", "none",
                     "--report", str(out))  # fmt: skip
    assert result.exit_code == 10, result.output  # one empty reference was skipped
    summary = json.loads(result.stdout)
    assert set(summary) >= SUMMARY_KEYS
    assert summary["metric"] == "wer"
    assert summary["utterances"] == 3
    assert summary["skipped"] == 1
    assert summary["normalizer"] == "none"
    assert "ref.txt:4: empty reference text (skipped)" in result.stderr
    assert json.loads(out.read_text())["summary"]["wer"] == summary["wer"]


def test_cli_table_shows_metrics_and_the_worst_alignment(pairs):
    hyp, ref = pairs
    result = _invoke("--hyp", hyp, "--ref", ref, "--metric", "cer", "--bootstrap-samples", "50")
    assert result.exit_code == 10
    assert "CER" in result.stdout
    assert "95% CI" in result.stdout
    assert "[-the]" in result.stdout or "[cat→bat]" in result.stdout


def test_cli_compare_subcommand(pairs, tmp_path):
    hyp, ref = pairs
    for name, h in (("a.json", hyp), ("b.json", ref)):
        _invoke("--hyp", h, "--ref", ref, "-q", "--report", str(tmp_path / name))
    result = _invoke("compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"))
    assert result.exit_code == 0, result.output
    assert "B - A" in result.stdout
    assert "p = " in result.stdout
    as_json = _invoke("compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--json")
    data = json.loads(as_json.stdout)
    assert data["b"] == 0.0
    assert data["difference"] < 0
    assert "compare" in _invoke("--help").stdout
    assert _invoke("compare", "--help").exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "give a MANIFEST"),
        (["m.jsonl", "--hyp", "h.txt"], 2, "not both"),
        (["--hyp", "{hyp}", "--ref", "{ref}", "--report", "r.docx"], 2, "report format"),
        (["--hyp", "{hyp}", "--ref", "missing.txt"], 3, "no such file"),
        (["--hyp", "{hyp}", "--ref", "{ref}", "-l", "klingon"], 2, "unknown language"),
        (["{tmp}/empty.jsonl"], 3, "is empty"),
        (["compare", "{hyp}", "{ref}"], 3, "cannot read report"),
    ],
)
def test_cli_errors(pairs, tmp_path, args, code, message):
    hyp, ref = pairs
    (tmp_path / "empty.jsonl").write_text("")
    argv = [a.format(hyp=hyp, ref=ref, tmp=tmp_path) for a in args]
    result = _invoke(*argv)
    assert result.exit_code == code, result.output
    assert message in result.output


def test_eval_offers_every_transcription_option():
    names = {p.name for p in eval_command.params} - CLI_ONLY_PARAMS
    fields = {f.name for cls in (TranscribeOptions, ModelOptions) for f in dataclasses.fields(cls)}
    fields = (fields - {"vad_options"}) | {f"vad_{f.name}" for f in dataclasses.fields(VadOptions)}
    assert names == fields


def test_an_api_key_never_reaches_the_report(manifest, fake_engine):
    result = evaluate_manifest(
        manifest,
        options=TranscribeOptions(vad=False),
        model_options=ModelOptions(engine="openai", api_key="sk-secret-123"),
        engine=fake_engine([Segment(0.0, 0.9, " hello world")]),
    )
    assert result.settings["model_options"]["api_key"] == "<redacted>"
    assert "sk-secret-123" not in json.dumps(result.settings)
