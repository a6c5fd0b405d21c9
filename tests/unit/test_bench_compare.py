"""`compare` without running models: rows come from the registry, failures are rows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from yuyin.bench import BenchAudio, RunPlan, bench_compare, compare_targets
from yuyin.bench import compare as compare_module
from yuyin.bench.compare import RESULT_KEYS
from yuyin.bench.memory import MemoryPeak
from yuyin.bench.runs import Measurement
from yuyin.bench.worker import WorkerError
from yuyin.engines import ENGINES
from yuyin.errors import ConfigurationError
from yuyin.options import ModelOptions, TranscribeOptions

AUDIO = BenchAudio("x.wav", np.zeros(16000, np.float32), "hello world", "--reference", "en")


@pytest.fixture
def registry(monkeypatch):
    """The registry with a local engine that is installed, one that is not, and a cloud one."""
    base = ENGINES["faster-whisper"]
    extra = {
        "local-here": dataclasses.replace(base, name="local-here", module="json", extra="x"),
        "local-missing": dataclasses.replace(
            base, name="local-missing", module="no_such_module_here", extra="missing"
        ),
        "cloud": dataclasses.replace(base, name="cloud", module="json", local=False),
    }
    for name, info in extra.items():
        monkeypatch.setitem(ENGINES, name, info)
    return extra


def test_targets_follow_the_registry(registry):
    targets = compare_targets(("int8", "float32"))
    names = [t.name for t in targets]
    assert names[:3] == ["faster-whisper", "faster-whisper", "faster-whisper-plain"]
    assert [t.compute_type for t in targets[:3]] == ["int8", "float32", "int8"]
    assert targets[2].variant == "plain"
    assert "local-here" in names
    assert "local-missing" in names
    assert "cloud" not in names
    assert all(ENGINES[t.engine].local for t in targets)
    assert {n for n, info in ENGINES.items() if info.local} <= {t.engine for t in targets}
    by_name = {t.name: t for t in targets}
    assert by_name["local-here"].skip is None
    assert by_name["local-missing"].skip == "not installed: pip install 'yuyin[missing]'"


def test_only_keeps_named_rows_and_rejects_unknown_ones(registry):
    targets = compare_targets(("int8",), only=("faster-whisper-plain", "local-here"))
    assert [t.name for t in targets] == ["faster-whisper-plain", "local-here"]
    with pytest.raises(ConfigurationError, match="cloud"):
        compare_targets(("int8",), only=("cloud",))
    with pytest.raises(ConfigurationError):
        compare_targets(())


def _measurement(job):
    peak = MemoryPeak(0.5, 100.0, 150.0, 160.0)
    text = "hello world" if job["variant"] == "yuyin" else "hello word"
    return Measurement(
        job["model_options"]["engine"], job["variant"], "cpu",
        job["model_options"]["compute_type"], peak, (0.3,), (0.2, 0.25), (text, text), peak,
    ).to_dict()  # fmt: skip


def test_every_row_has_the_same_fields_and_failures_are_rows(registry, monkeypatch):
    jobs = []

    def fake_worker(job, *, timeout=None):
        jobs.append(job)
        if job["model_options"]["engine"] == "local-here":
            raise WorkerError("ModelError: cannot convert the weights", hint="see the log")
        return {"loaded": True} if job.get("load_only") else _measurement(job)

    monkeypatch.setattr(compare_module, "run_worker", fake_worker)
    rows_seen: list[dict] = []
    report = bench_compare(
        AUDIO, ModelOptions(model="tiny.en", device="cpu"), TranscribeOptions(beam_size=1),
        RunPlan(warmup=1, repeat=2), targets=compare_targets(), on_row=rows_seen.append,
    )  # fmt: skip
    rows = report["engines"]
    assert rows == rows_seen
    assert [r["label"] for r in rows] == [t.label for t in compare_targets()]
    assert {"local-here", "local-missing"} <= {r["name"] for r in rows}
    for row in rows:
        assert set(RESULT_KEYS) <= set(row), row["name"]
    good = {r["label"]: r for r in rows if r["ok"]}
    assert good["faster-whisper int8"]["wer"] == 0.0
    assert good["faster-whisper library int8"]["wer"] == 0.5  # the plain path's own text
    assert good["faster-whisper float32"]["compute_type"] == "float32"
    assert good["faster-whisper int8"]["real_time_factor"] == pytest.approx(1.0 / 0.225)
    bad = {r["name"]: r for r in rows if not r["ok"]}
    assert bad["local-here"]["error"]["message"] == "ModelError: cannot convert the weights"
    assert bad["local-missing"]["error"]["message"].startswith("not installed")
    assert bad["local-here"]["wer"] is None
    # A missing engine never reaches a worker; the others are prepared, then measured.
    engines = [j["model_options"]["engine"] for j in jobs]
    assert "local-missing" not in engines
    assert [j.get("load_only", False) for j in jobs[:2]] == [True, False]
    assert all(j["options"]["beam_size"] == 1 for j in jobs), "same decoding for every engine"
    assert {"engine": "cloud", "reason": "not a local engine (a cloud service)"} in (
        report["skipped"]
    )


def test_no_comparison_without_a_reference():
    audio = dataclasses.replace(AUDIO, reference=None, reference_source=None)
    with pytest.raises(ConfigurationError, match="WER"):
        bench_compare(audio, ModelOptions(), TranscribeOptions(), RunPlan(), targets=[])
