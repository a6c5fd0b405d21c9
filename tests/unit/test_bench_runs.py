"""Timed runs without a model: a scripted engine, references found for fixtures, WER, tokens."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from yuyin.bench import BenchAudio, RunPlan, find_reference, load_bench_audio, measure
from yuyin.bench import runs as runs_module
from yuyin.bench.runs import (
    Measurement,
    count_tokens,
    load_transcriber,
    model_options_from_dict,
    options_to_dict,
    result_fields,
    score,
    transcribe_options_from_dict,
)
from yuyin.errors import ConfigurationError
from yuyin.options import ModelOptions, TranscribeOptions, VadOptions
from yuyin.types import Segment

AUDIO = BenchAudio("x.wav", np.zeros(32000, np.float32), "hello big world", "--reference", "en")
NO_VAD = TranscribeOptions(vad=False, language="en")


def test_reference_of_a_committed_fixture(data_dir, fixtures):
    found = find_reference(data_dir / "en.wav")
    assert found is not None
    text, language, manifest = found
    assert text == fixtures["en.wav"]["text"]
    assert language == "en"
    assert manifest.endswith("fixtures.jsonl")


def test_reference_from_a_manifest_folders_above(tmp_path):
    (tmp_path / "en" / "a").mkdir(parents=True)
    audio = tmp_path / "en" / "a" / "one.wav"
    audio.write_bytes(b"")
    rows = ["not json", json.dumps({"audio": "en/a/one.wav", "text": "one", "language": "en"})]
    (tmp_path / "manifest.jsonl").write_text("\n".join(rows) + "\n")
    assert find_reference(audio) == ("one", "en", str(tmp_path / "manifest.jsonl"))
    assert find_reference(tmp_path / "en" / "other.wav") is None


def test_given_reference_wins_and_language_is_resolved(data_dir):
    audio = load_bench_audio(data_dir / "en.wav", reference="my text", language="english")
    assert audio.reference == "my text"
    assert audio.reference_source == "--reference"
    assert audio.language == "en"
    assert audio.duration == pytest.approx(5.45, abs=0.05)
    assert audio.to_dict()["duration"] == pytest.approx(audio.duration, abs=1e-3)


def test_score_normalises_and_reports_the_primary_metric():
    s = score("Hello, big World!", "hello big word", "en")
    assert s["metric"] == "wer"
    assert s["wer"] == pytest.approx(1 / 3)
    assert s["error_rate"] == s["wer"]
    assert 0 < s["cer"] < s["wer"]
    zh = score("我們一起去公園。", "我们一起去公园", "zh")
    assert zh["metric"] == "cer"
    assert zh["cer"] == 0.0  # Simplified against Traditional is folded
    assert score(None, "anything", "en") == dict.fromkeys(("wer", "cer", "metric", "error_rate"))


def test_tokens_are_counted_with_the_models_tokenizer():
    n = count_tokens(" I like to read a good book.", "tiny.en")
    assert n is not None
    assert 6 <= n <= 10
    assert count_tokens("", "tiny.en") == 0
    assert count_tokens("hello", "no-such-model") is None


def test_options_survive_the_trip_to_a_worker():
    options = TranscribeOptions(
        beam_size=2, temperature=(0.0, 0.5), vad_options=VadOptions(max_speech_duration_s=math.inf)
    )
    data = json.loads(json.dumps(options_to_dict(options), allow_nan=False))
    assert data["vad_options"]["max_speech_duration_s"] == "inf"
    assert transcribe_options_from_dict(data) == options
    assert transcribe_options_from_dict(options_to_dict(TranscribeOptions())) == (
        TranscribeOptions()
    )
    model = ModelOptions(model="tiny.en", api_key="secret", cpu_threads=2)
    data = options_to_dict(model)
    assert "api_key" not in data
    assert model_options_from_dict(data) == dataclasses.replace(model, api_key=None)


@pytest.mark.parametrize("plan", [RunPlan(repeat=0), RunPlan(number=0), RunPlan(warmup=-1)])
def test_plans_that_measure_nothing_are_refused(plan):
    with pytest.raises(ConfigurationError):
        plan.check()


def test_variants_are_checked():
    with pytest.raises(ConfigurationError, match="variant"):
        load_transcriber(AUDIO.samples, ModelOptions(), NO_VAD, variant="fast")
    with pytest.raises(ConfigurationError, match="faster-whisper"):
        load_transcriber(AUDIO.samples, ModelOptions(engine="transformers"), NO_VAD,
                         variant="plain")  # fmt: skip


@pytest.fixture
def scripted(monkeypatch, fake_engine):
    engine = fake_engine([Segment(0.0, 1.0, " hello big"), Segment(1.0, 2.0, " world")])
    monkeypatch.setattr(runs_module, "load_engine", lambda options, shared: engine)
    return engine


def test_measure_times_warmup_and_repeats_apart(scripted):
    plan = RunPlan(warmup=2, repeat=3, number=2)
    calls = []
    m = measure(AUDIO, ModelOptions(engine="fake"), NO_VAD, plan, on_run=lambda: calls.append(1))
    assert len(scripted.calls) == 2 + 3 * 2, "every run transcribes"
    assert len(calls) == len(scripted.calls)
    assert len(m.warmup_seconds) == 2
    assert len(m.run_seconds) == 3
    assert all(t > 0 for t in (*m.warmup_seconds, *m.run_seconds))
    assert len(m.run_cpu_seconds) == 3
    assert all(t >= 0 for t in m.run_cpu_seconds)
    assert m.texts == ("hello big world",) * 3
    assert m.load.peak_rss_mb >= m.load.start_rss_mb > 0
    assert m.transcription.samples >= 1
    assert Measurement.from_dict(json.loads(json.dumps(m.to_dict()))) == m


def test_result_fields_carry_speed_accuracy_and_memory(scripted):
    m = measure(AUDIO, ModelOptions(engine="fake"), NO_VAD, RunPlan(warmup=0, repeat=2))
    row = result_fields(m, AUDIO, "tiny.en")
    assert row["wall_seconds_min"] <= row["wall_seconds"] <= row["wall_seconds_max"]
    assert row["cpu_seconds"] is not None
    assert row["cpu_seconds"] >= 0
    assert row["real_time_factor"] == pytest.approx(AUDIO.duration / row["wall_seconds"])
    assert row["tokens"] is not None
    assert row["tokens"] > 0
    assert row["tokens_per_second"] == pytest.approx(row["tokens"] / row["wall_seconds"])
    assert row["wer"] == 0.0
    assert row["distinct_texts"] == 1
    assert row["warmup_seconds"] == []
    assert row["peak_rss_mb"] > 0


def test_the_worst_runs_wer_is_reported():
    peak = runs_module.MemoryPeak(1.0, 10.0, 10.0, 10.0)
    m = Measurement("e", "yuyin", "cpu", "int8", peak, (), (1.0, 1.0), ("hello big world",
                    "hello world"), peak)  # fmt: skip
    row = result_fields(m, AUDIO, "no-such-model")
    assert row["wer"] == pytest.approx(1 / 3)
    assert row["distinct_texts"] == 2
    assert row["tokens"] is None
    assert row["tokens_per_second"] is None
