"""`yuyin batch` for real: both executors, a bad file, a killed run resumed, a dying worker."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yuyin.batch import JOURNAL_NAME, LocalExecutor, WorkerConfig, read_records, run_batch
from yuyin.eval import read_pairs
from yuyin.options import ModelOptions, OutputOptions, TranscribeOptions

DATA = Path(__file__).parent.parent / "data"
FAST = ["-m", "tiny.en", "-l", "en", "--beam-size", "1", "--best-of", "1", "-f", "txt,json"]


def batch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yuyin", "batch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """en.wav twice (same name, two folders), en.mp3, video.mp4 and a file that is not audio."""
    folder = tmp_path / "in"
    for rel, src in (
        ("a/en.wav", "en.wav"),
        ("b/en.wav", "en.wav"),
        ("en.mp3", "en.mp3"),
        ("video.mp4", "video.mp4"),
        ("not_audio.wav", "not_audio.wav"),
    ):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / src, folder / rel)
    return folder


def finished_keys(out: Path) -> list[str]:
    return [r["key"] for r in read_records(out / JOURNAL_NAME) if r["event"] == "finished"]


def check_run(inputs: Path, out: Path, proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 10, proc.stderr  # some failed, the others succeeded
    summary = json.loads(proc.stdout)
    assert (summary["succeeded"], summary["skipped"], summary["failed"]) == (4, 0, 1)
    assert 20 < summary["audio_seconds"] < 30
    (failure,) = summary["failures"]
    assert failure["input"].endswith("not_audio.wav")
    assert failure["type"] == "AudioDecodeError"
    assert failure["message"]
    assert len(list(out.glob("en-*.txt"))) == 3  # a/en.wav, b/en.wav, en.mp3: no collision
    assert len(list(out.glob("*.json"))) == 4
    assert not list(out.glob(".*.tmp"))
    # The combined manifest scores against a reference manifest joined by id.
    ref = out.parent / "ref.jsonl"
    rows = [json.loads(line) for line in Path(summary["manifest"]).read_text().splitlines()]
    assert len(rows) == 4
    ref.write_text("".join(json.dumps({"id": r["id"], "text": "a good book"}) + "\n" for r in rows))
    pairs, skipped = read_pairs(summary["manifest"], ref)
    assert len(pairs) == 4
    assert not skipped
    assert all("book" in p.hypothesis.lower() for p in pairs)
    return summary


def test_local_executor_two_workers(inputs, tmp_path):
    out = tmp_path / "out"
    proc = batch(str(inputs), "-o", str(out), *FAST, "--workers", "2", "--retries", "0", "--json")
    check_run(inputs, out, proc)
    # Re-running the same command redoes nothing that finished.
    again = batch(str(inputs), "-o", str(out), *FAST, "--retries", "0", "--json")
    summary = json.loads(again.stdout)
    assert (summary["succeeded"], summary["skipped"], summary["failed"]) == (0, 4, 1)
    assert sorted(finished_keys(out)) == sorted(set(finished_keys(out)))


def test_killed_run_resumes_and_does_every_file_exactly_once(tmp_path):
    folder = tmp_path / "in"
    for n in range(6):
        (folder / f"d{n}").mkdir(parents=True)
        shutil.copy(DATA / "en.wav", folder / f"d{n}" / "en.wav")
    out = tmp_path / "out"
    args = [sys.executable, "-m", "yuyin", "batch", str(folder), "-o", str(out), *FAST, "-q"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while not finished_keys(out) if (out / JOURNAL_NAME).exists() else True:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert proc.stderr is not None
        proc.stderr.close()
    done_before = len(finished_keys(out))
    assert 1 <= done_before < 6
    resumed = batch(str(folder), "-o", str(out), *FAST, "--json")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["skipped"] == done_before
    assert summary["succeeded"] == 6 - done_before
    keys = finished_keys(out)
    assert sorted(keys) == sorted({str((folder / f"d{n}" / "en.wav").resolve()) for n in range(6)})
    assert len(list(out.glob("en-*.txt"))) == 6
    assert not list(out.glob(".*.tmp"))


def test_a_worker_that_dies_fails_only_its_file(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(DATA / "en.wav", folder / "en.wav")
    shutil.copy(DATA / "en.wav", folder / "boom.wav")
    config = WorkerConfig(
        TranscribeOptions(language="en", beam_size=1, best_of=1), ModelOptions(model="tiny.en")
    )
    # The private test hook: the worker handed boom.wav exits at once, like a native crash.
    with LocalExecutor(config, workers=1, _crash_on="boom.wav") as executor:
        summary = run_batch(
            [str(folder)],
            tmp_path / "out",
            executor,
            output=OutputOptions(output_format=("txt",)),
            retries=1,
        )
    assert summary.succeeded == 1
    (failure,) = summary.failed
    assert failure.input.endswith("boom.wav")
    assert (failure.error.type, failure.attempts) == ("WorkerLost", 2)
    assert "died" in failure.error.message


def test_unreachable_ray_cluster_is_a_clear_error_not_a_hang(inputs, tmp_path):
    pytest.importorskip("ray")
    started = time.monotonic()
    proc = batch(
        str(inputs), "-o", str(tmp_path / "out"), *FAST, "--executor", "ray",
        "--ray-address", "ray://127.0.0.1:1", timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "cannot reach the Ray cluster at ray://127.0.0.1:1" in proc.stderr
    assert "hint:" in proc.stderr
    assert time.monotonic() - started < 120  # bounded: the subprocess timeout would fire


@pytest.mark.slow
def test_ray_executor_on_a_local_runtime(inputs, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "out"
    proc = batch(
        str(inputs), "-o", str(out), *FAST, "--executor", "ray", "--workers", "2",
        "--cpu-threads", "1", "--retries", "0", "--json",
    )  # fmt: skip
    summary = check_run(inputs, out, proc)
    assert summary["executor"] == "ray"


_LOST_ACTOR = """
import json, sys
from yuyin.batch import WorkerConfig, run_batch
from yuyin.batch.ray_executor import RayExecutor
from yuyin.options import ModelOptions, OutputOptions, TranscribeOptions
config = WorkerConfig(TranscribeOptions(language="en", beam_size=1, best_of=1),
                      ModelOptions(model="tiny.en", cpu_threads=1))
executor = RayExecutor(config, workers=1, _crash_on="boom.wav")
try:
    summary = run_batch([sys.argv[1]], sys.argv[2], executor, retries=1,
                        output=OutputOptions(output_format=("txt",)))
finally:
    executor.close()
print(json.dumps(summary.to_dict()))
"""


@pytest.mark.slow
def test_a_lost_ray_actor_fails_only_its_file(tmp_path):
    pytest.importorskip("ray")
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(DATA / "en.wav", folder / "en.wav")
    shutil.copy(DATA / "en.wav", folder / "boom.wav")
    # In a subprocess: Ray's own warnings stay out of this test session's warnings-as-errors.
    proc = subprocess.run(
        [sys.executable, "-c", _LOST_ACTOR, str(folder), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "RAY_DEDUP_LOGS": "0"},
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (summary["succeeded"], summary["failed"]) == (1, 1)
    (failure,) = summary["failures"]
    assert failure["input"].endswith("boom.wav")
    assert (failure["type"], failure["attempts"]) == ("WorkerLost", 2)
