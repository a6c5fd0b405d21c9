"""The concurrency runner in-process with scripted models: who loads what, simultaneous
starts, failed cells reported and not fatal."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from yuyin.bench import BenchAudio, CellSetting, bench_concurrency, grid_settings, run_cell
from yuyin.bench.grid import CellResult
from yuyin.bench.worker import WorkerError
from yuyin.errors import ConfigurationError
from yuyin.options import ModelOptions, TranscribeOptions

AUDIO = BenchAudio("x.wav", np.zeros(16000, np.float32), "hello world", "--reference", "en")


class Models:
    """Counts loads and records which threads run at once."""

    def __init__(self, text: str = "hello world", fail: bool = False) -> None:
        self.loads: list[ModelOptions] = []
        self.running = 0
        self.runs = 0
        self.most_at_once = 0
        self.lock = threading.Lock()
        self.text = text
        self.fail = fail

    def __call__(self, options: ModelOptions):
        self.loads.append(options)

        def run() -> str:
            with self.lock:
                self.running += 1
                self.runs += 1
                self.most_at_once = max(self.most_at_once, self.running)
            time.sleep(0.02)
            with self.lock:
                self.running -= 1
            if self.fail:
                raise MemoryError("std::bad_alloc")
            return self.text

        return run


@pytest.mark.parametrize(("mode", "loads"), [("fresh", 3 * 2), ("shared", 1), ("per-thread", 3)])
def test_each_mode_loads_its_models(mode, loads):
    models = Models()
    cell, texts = run_cell(CellSetting(mode, 2, 3), 3, 2, models, ModelOptions(), audio_seconds=1.0,
                           warmup=0)  # fmt: skip
    assert len(models.loads) == loads
    assert {(o.cpu_threads, o.num_workers) for o in models.loads} == {(2, 3)}
    assert cell.ok
    assert len(cell.latencies) == 3 * 2
    assert len(cell.round_seconds) == 2
    assert texts == ["hello world"] * 6
    assert models.most_at_once == 3, "a round's requests run together"
    assert all(lat >= 0.02 for lat in cell.latencies)
    assert cell.peak_rss_mb is not None
    # Loading before the rounds is timed apart; a fresh model's load is in its latency.
    assert (cell.load_seconds == 0.0) == (mode == "fresh")


@pytest.mark.parametrize(("mode", "loads"), [("fresh", 2 * 3), ("shared", 1), ("per-thread", 2)])
def test_warmup_rounds_run_like_the_others_and_are_left_out(mode, loads):
    models = Models()
    cell, texts = run_cell(CellSetting(mode, 1, 1), 2, 2, models, ModelOptions(), audio_seconds=1.0,
                           warmup=1)  # fmt: skip
    assert len(models.loads) == loads, "a warm-up round loads what a measured round loads"
    assert models.runs == 2 * 3, "every request of the warm-up round ran"
    assert len(cell.warmup_seconds) == 1
    assert cell.warmup_seconds[0] > 0
    assert len(cell.latencies) == 2 * 2, "warm-up requests are not in the latencies"
    assert len(cell.round_seconds) == 2
    assert len(texts) == 4
    assert cell.to_dict()["warmup_seconds"] == list(cell.warmup_seconds)


def test_a_failing_request_fails_the_cell():
    with pytest.raises(MemoryError):
        run_cell(CellSetting("shared", 1, 1), 2, 1, Models(fail=True), ModelOptions(),
                 audio_seconds=1.0)  # fmt: skip


def test_bad_counts_are_refused():
    with pytest.raises(ConfigurationError):
        run_cell(CellSetting("shared", 1, 1), 0, 1, Models(), ModelOptions(), audio_seconds=1.0)
    with pytest.raises(ConfigurationError, match="--warmup"):
        run_cell(CellSetting("shared", 1, 1), 1, 1, Models(), ModelOptions(), audio_seconds=1.0,
                 warmup=-1)  # fmt: skip


def test_grid_report_keeps_going_past_failed_cells():
    settings = grid_settings(["shared", "per-thread"], [1, 2], [1])
    seen: list[CellResult] = []

    def runner(setting: CellSetting):
        if setting.cpu_threads == 2 and setting.mode == "per-thread":
            raise WorkerError("the worker process was killed by SIGKILL (out of memory?)")
        if setting.cpu_threads == 2:
            raise MemoryError("std::bad_alloc")
        text = "hello world" if setting.mode == "shared" else "hello word"
        return run_cell(setting, 2, 1, Models(text), ModelOptions(), audio_seconds=1.0)

    report = bench_concurrency(
        AUDIO, ModelOptions(model="tiny.en"), TranscribeOptions(), settings,
        requests=2, rounds=1, runner=runner, on_cell=seen.append,
    )  # fmt: skip
    assert len(seen) == len(report["cells"]) == 4
    failed = report["failed"]
    assert [(c["mode"], c["cpu_threads"]) for c in failed] == [("shared", 2), ("per-thread", 2)]
    assert "out of memory" in failed[1]["error"]
    assert "MemoryError" in failed[0]["error"]
    ok = [c for c in report["cells"] if c["ok"]]
    assert {c["mode"]: c["wer"] for c in ok} == {"shared": 0.0, "per-thread": 0.5}
    assert len(report["top"]) == 2
    assert report["best"] == report["top"][0]
    assert report["cheapest"]["ok"]
    assert report["settings"]["requests"] == 2
    assert set(report["settings"]["modes"]) == {"shared", "per-thread"}
    assert report["environment"]["usable_cores"] >= 1


def test_grid_runs_faster_whisper_only():
    with pytest.raises(ConfigurationError, match="cpu_threads"):
        bench_concurrency(AUDIO, ModelOptions(engine="transformers"), TranscribeOptions(),
                          grid_settings(["shared"], [1], [1]), requests=1, rounds=1)  # fmt: skip


def test_chinese_cells_are_judged_by_cer_and_the_model_is_named():
    audio = BenchAudio(
        "zh.wav", np.zeros(16000, np.float32), "我們一起去公園。", "--reference", "zh"
    )

    def runner(setting: CellSetting):
        # Two character edits in seven (CER 2/7), while the unsegmented "word" is simply wrong.
        return run_cell(setting, 2, 1, Models("我们一起去动物园"), ModelOptions(),
                        audio_seconds=1.0, warmup=0)  # fmt: skip

    report = bench_concurrency(
        audio, ModelOptions(model="tiny", device="cpu", compute_type="int8"), TranscribeOptions(),
        grid_settings(["shared"], [1], [1]), requests=2, rounds=1, runner=runner,
    )  # fmt: skip
    (c,) = report["cells"]
    assert c["metric"] == "cer"
    assert c["error_rate"] == c["cer"] == pytest.approx(2 / 7)
    assert c["wer"] == 1.0
    assert (report["model"], report["device"], report["compute_type"]) == ("tiny", "cpu", "int8")
    assert report["settings"]["warmup"] == 1
