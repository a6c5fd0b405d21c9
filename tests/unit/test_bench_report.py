"""Reports for people: tables in both formats and bar charts, from real report structures
(produced by the benchmark functions with a scripted engine)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from yuyin.bench import (
    BenchAudio,
    RunPlan,
    bench_compare,
    bench_concurrency,
    bench_memory,
    bench_speed,
    compare_targets,
    format_table,
    grid_settings,
    plot_report,
    render_report,
    run_cell,
)
from yuyin.bench import compare as compare_module
from yuyin.bench import runs as runs_module
from yuyin.bench.worker import WorkerError
from yuyin.errors import ConfigurationError
from yuyin.options import ModelOptions, TranscribeOptions
from yuyin.types import Segment

AUDIO = BenchAudio("/data/x.wav", np.zeros(32000, np.float32), "hello world", "--reference", "en")
OPTIONS = TranscribeOptions(vad=False, language="en")


def test_aligned_table_right_aligns_numbers():
    text = format_table(["name", "s"], [["a", "1.50"], ["long name", "12.00"]])
    assert text.splitlines() == ["name           s", "a           1.50",
                                 "long name  12.00"]  # fmt: skip


def test_markdown_table():
    text = format_table(["name", "WER"], [["a|b", "0.100"], ["c", "-"]], "markdown")
    assert text.splitlines() == ["| name | WER |", "|---|---:|", "| a\\|b | 0.100 |", "| c | - |"]
    with pytest.raises(ConfigurationError):
        format_table(["a"], [["1"]], "html")


def _scripted(monkeypatch, fake_engine):
    engine = fake_engine([Segment(0.0, 1.0, " hello world")])
    monkeypatch.setattr(runs_module, "load_engine", lambda options, shared: engine)


def _speed(monkeypatch, fake_engine):
    _scripted(monkeypatch, fake_engine)
    return bench_speed(AUDIO, ModelOptions(model="tiny.en", device="cpu"), OPTIONS,
                       RunPlan(warmup=1, repeat=2))  # fmt: skip


def _memory(monkeypatch, fake_engine):
    _scripted(monkeypatch, fake_engine)
    return bench_memory(AUDIO, ModelOptions(model="tiny.en", device="cpu"), OPTIONS,
                        RunPlan(warmup=0, repeat=1))  # fmt: skip


def _concurrency(monkeypatch, fake_engine):
    def runner(setting):
        if setting.num_workers == 2:
            raise WorkerError("the worker process was killed by SIGKILL (out of memory?)")
        return run_cell(setting, 2, 1, lambda o: (lambda: "hello world"), ModelOptions(),
                        audio_seconds=2.0)  # fmt: skip

    return bench_concurrency(AUDIO, ModelOptions(model="tiny.en", device="cpu"), OPTIONS,
                             grid_settings(["shared", "fresh"], [1], [1, 2]), requests=2,
                             rounds=1, runner=runner)  # fmt: skip


def _compare(monkeypatch, fake_engine):
    _scripted(monkeypatch, fake_engine)

    def worker(job, *, timeout=None):
        if job["variant"] == "plain":
            raise WorkerError("ModelError: cannot load")
        mopts = runs_module.model_options_from_dict(job["model_options"])
        return runs_module.measure(AUDIO, mopts, OPTIONS, RunPlan(warmup=0, repeat=1)).to_dict()

    monkeypatch.setattr(compare_module, "run_worker", worker)
    targets = compare_targets(("int8",), only=("faster-whisper", "faster-whisper-plain"))
    return bench_compare(AUDIO, ModelOptions(model="tiny.en", device="cpu"), OPTIONS,
                         RunPlan(warmup=0, repeat=1), targets=targets, prepare=False)  # fmt: skip


MAKERS = {"speed": _speed, "memory": _memory, "concurrency": _concurrency, "compare": _compare}


@pytest.mark.parametrize("kind", list(MAKERS))
def test_tables_name_the_machine_and_the_input(kind, monkeypatch, fake_engine):
    report = MAKERS[kind](monkeypatch, fake_engine)
    assert report["benchmark"] == kind
    json.dumps(report, allow_nan=False)  # strict JSON, for jq and other tools
    for fmt in ("table", "markdown"):
        text = render_report(report, fmt)
        assert "machine: " in text
        assert f"{report['environment']['logical_cores']} cores" in text
        assert "x.wav, 2.00 s; reference from --reference" in text
        assert "faster-whisper " in text  # the library versions
    markdown = render_report(report, "markdown")
    assert "\n|---" in markdown
    assert "- machine: " in markdown


def test_table_contents(monkeypatch, fake_engine):
    speed = render_report(_speed(monkeypatch, fake_engine))
    header, row = speed.splitlines()[:2]
    assert header.split()[:3] == ["engine", "device", "compute"]
    assert header.rstrip().endswith("WER")
    assert row.split()[:4] == ["faster-whisper", "tiny.en", "cpu", "int8"]
    assert row.rstrip().endswith("0.000")
    memory = render_report(_memory(monkeypatch, fake_engine))
    assert "model load" in memory
    assert "GPU not measured: the run uses the CPU" in memory
    concurrency = render_report(_concurrency(monkeypatch, fake_engine))
    assert "failed: the worker process was killed by SIGKILL" in concurrency
    assert "top 2: 1. " in concurrency
    assert "cheapest within 5% of the best: " in concurrency
    # The model and its numeric type, the warm-up and the decoding are named under the table.
    assert "faster-whisper tiny.en on cpu (int8); 2 simultaneous requests x 1 rounds" in concurrency
    assert "after 1 warm-up round(s) (excluded)" in concurrency
    assert "decoding: beam 5, language en" in concurrency
    header = concurrency.splitlines()[0]
    assert header.split()[-2:] == ["WER", "status"]
    assert "warm-up s" in header
    # In Markdown the summary lines are a list, not one run-together paragraph.
    markdown = render_report(_concurrency(monkeypatch, fake_engine), "markdown")
    assert "\n- top 2: 1. " in markdown
    assert "\n- cheapest within 5% of the best: " in markdown
    compare = render_report(_compare(monkeypatch, fake_engine))
    assert "faster-whisper library int8" in compare
    assert "not measured:\n  faster-whisper library int8: ModelError: cannot load" in compare


@pytest.mark.parametrize("kind", list(MAKERS))
def test_plots_are_png(kind, tmp_path, monkeypatch, fake_engine):
    pytest.importorskip("matplotlib")
    report = MAKERS[kind](monkeypatch, fake_engine)
    path = plot_report(report, tmp_path / f"{kind}.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000


def test_unknown_report_kind():
    with pytest.raises(ConfigurationError):
        render_report({"benchmark": "nope"})
