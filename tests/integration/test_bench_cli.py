"""`yuyin bench` run for real: tiny.en on the 5 s English fixture, one repeat, a tiny grid.

Every field is checked for presence and plausibility (real-time factor > 0, WER within the
bound the other real-model tests use); wall-clock times are never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from yuyin.bench.worker import WorkerError, run_worker

# As in test_transcribe_real.py: robotic espeak-ng speech, read back nearly perfectly.
EN_MAX_WER = 0.15
SPEED_KEYS = {
    "benchmark", "audio", "settings", "environment", "model", "engine", "variant", "device",
    "compute_type", "load_seconds", "warmup_seconds", "wall_seconds", "wall_seconds_min",
    "wall_seconds_max", "wall_seconds_mean", "wall_seconds_stdev", "run_seconds", "cpu_seconds",
    "real_time_factor", "tokens", "tokens_per_second", "peak_rss_mb", "wer", "cer", "metric",
    "error_rate", "distinct_texts", "text",
}  # fmt: skip
ENVIRONMENT_KEYS = {"cpu", "logical_cores", "usable_cores", "memory_mb", "os", "python",
                    "gpus", "libraries", "load_average"}  # fmt: skip
FAST = ["-m", "tiny.en", "--beam-size", "1", "--device", "cpu"]


def bench(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "yuyin", "bench", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def check_environment(report: dict) -> None:
    env = report["environment"]
    assert set(env) >= ENVIRONMENT_KEYS
    assert env["logical_cores"] >= 1
    assert {"faster-whisper", "ctranslate2", "yuyin"} <= set(env["libraries"])


def check_audio(report: dict, fixtures: dict) -> None:
    audio = report["audio"]
    assert audio["duration"] == pytest.approx(fixtures["en.wav"]["duration"], abs=0.05)
    assert audio["reference"] == fixtures["en.wav"]["text"]
    assert audio["reference_source"].endswith("fixtures.jsonl")


def check_speed_fields(row: dict, duration: float) -> None:
    assert 0 < row["wall_seconds_min"] <= row["wall_seconds"] <= row["wall_seconds_max"]
    assert row["wall_seconds_stdev"] >= 0
    assert row["cpu_seconds"] > 0
    assert row["real_time_factor"] == pytest.approx(duration / row["wall_seconds"], rel=0.01)
    assert row["real_time_factor"] > 0
    assert row["load_seconds"] > 0
    assert 10 <= row["tokens"] <= 40  # 19 words
    assert row["tokens_per_second"] > 0
    assert row["peak_rss_mb"] > 50
    assert row["metric"] == "wer"
    assert 0.0 <= row["wer"] <= EN_MAX_WER, row["text"]
    assert 0.0 <= row["cer"] <= row["wer"] + 0.05
    assert row["distinct_texts"] == 1
    assert "morning" in row["text"].lower()


def test_speed(tmp_path, data_dir, fixtures):
    plot, saved = tmp_path / "speed.png", tmp_path / "speed.json"
    report = bench("speed", "--audio", str(data_dir / "en.wav"), *FAST, "--repeat", "1",
                   "--warmup", "1", "--plot", str(plot), "--save", str(saved))  # fmt: skip
    assert json.loads(saved.read_text()) == report
    assert set(report) >= SPEED_KEYS
    assert report["benchmark"] == "speed"
    assert (report["engine"], report["variant"]) == ("faster-whisper", "yuyin")
    assert (report["device"], report["compute_type"]) == ("cpu", "int8")
    assert len(report["warmup_seconds"]) == 1
    assert report["warmup_seconds"][0] > 0
    assert len(report["run_seconds"]) == 1
    assert report["settings"]["options"]["beam_size"] == 1
    assert report["settings"]["repeat"] == 1
    check_speed_fields(report, report["audio"]["duration"])
    check_audio(report, fixtures)
    check_environment(report)
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_memory(data_dir, fixtures):
    report = bench("memory", "--audio", str(data_dir / "en.wav"), *FAST)
    assert report["benchmark"] == "memory"
    load, run = report["load"], report["transcription"]
    assert report["baseline_rss_mb"] > 20
    # tiny.en in int8 is ~40 MB of weights: loading it must show.
    assert load["growth_mb"] > 20
    assert load["peak_rss_mb"] >= report["baseline_rss_mb"] + load["growth_mb"] - 1
    assert load["seconds"] > 0
    assert run["seconds"] > 0
    assert run["peak_rss_mb"] > report["baseline_rss_mb"]
    assert run["samples"] >= 1
    assert report["os_peak_rss_mb"] >= max(load["peak_rss_mb"], run["peak_rss_mb"]) - 1
    assert report["gpu"] is None
    assert report["gpu_skipped"] == "the run uses the CPU"
    assert report["warmup_seconds"] == []
    check_speed_fields(report, report["audio"]["duration"])
    check_audio(report, fixtures)
    check_environment(report)


@pytest.mark.slow
def test_concurrency_tiny_grid(data_dir, fixtures):
    report = bench("concurrency", "--audio", str(data_dir / "en.wav"), *FAST,
                   "--cpu-threads", "1", "--num-workers", "1", "--requests", "2",
                   "--rounds", "1")  # fmt: skip
    cells = report["cells"]
    assert [c["mode"] for c in cells] == ["fresh", "shared", "per-thread"]
    for c in cells:
        assert c["ok"], c["error"]
        assert len(c["latencies"]) == 2
        assert 0 < c["latency_min"] <= c["latency_mean"] <= c["latency_max"]
        assert c["latency_stdev"] >= 0
        assert c["throughput_requests_per_second"] > 0
        assert c["real_time_factor"] > 0
        assert c["peak_rss_mb"] > 50
        assert 0.0 <= c["wer"] <= EN_MAX_WER
        assert (c["metric"], c["error_rate"]) == ("wer", c["wer"])
        assert len(c["warmup_seconds"]) == 1
        assert c["warmup_seconds"][0] > 0
    assert [c["models"] for c in cells] == [2, 1, 2]
    assert [c["cost_threads"] for c in cells] == [2, 1, 2]
    assert len(report["top"]) == 3
    assert report["best"] == report["top"][0]
    assert report["cheapest"] in report["top"]
    assert report["failed"] == []
    assert report["settings"]["requests"] == 2
    assert report["settings"]["warmup"] == 1
    assert (report["model"], report["device"], report["compute_type"]) == ("tiny.en", "cpu", "int8")
    check_audio(report, fixtures)
    check_environment(report)


@pytest.mark.slow
def test_compare_rows_and_a_failing_row(data_dir, fixtures):
    report = bench("compare", "--audio", str(data_dir / "en.wav"), *FAST,
                   "--only", "faster-whisper,faster-whisper-plain",
                   "--compute-types", "int8,int3", "--repeat", "1", "--warmup", "0",
                   "--no-prepare")  # fmt: skip
    rows = {r["label"]: r for r in report["engines"]}
    assert list(rows) == ["faster-whisper int8", "faster-whisper int3",
                          "faster-whisper library int8"]  # fmt: skip
    keys = set(report["engines"][0])
    assert all(set(r) == keys for r in report["engines"]), "every row has the same fields"
    assert SPEED_KEYS - {"benchmark", "audio", "settings", "environment", "model"} <= keys
    for label in ("faster-whisper int8", "faster-whisper library int8"):
        assert rows[label]["ok"], rows[label]["error"]
        check_speed_fields(rows[label], report["audio"]["duration"])
    assert rows["faster-whisper library int8"]["variant"] == "plain"
    bad = rows["faster-whisper int3"]
    assert not bad["ok"]
    assert "int3" in bad["error"]["message"]
    assert bad["wer"] is None
    check_audio(report, fixtures)
    check_environment(report)


def test_a_worker_that_fails_is_reported(tmp_path):
    job = {"job": "measure", "audio": str(tmp_path / "missing.wav"), "model_options": {},
           "options": {}, "plan": {}, "variant": "yuyin"}  # fmt: skip
    with pytest.raises(WorkerError, match=r"MediaNotFoundError: .*missing\.wav"):
        run_worker(job, timeout=120)
