"""Batch throughput: audio hours per hour for 1 and 2 local workers and a local Ray runtime.

The same files (copies of the committed English fixtures, each a distinct input) go
through each executor into a fresh output folder, in one run of this script, and the table
prints each variant's throughput and its ratio to one local worker. Worker start-up (model
load, Ray start) is part of the wall time, as a user sees it; `--copies` grows the job so
start-up weighs less.

    .venv/bin/python bench/batch.py [--copies 4] [--model tiny.en] [--no-ray]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from yuyin.batch import Executor, LocalExecutor, WorkerConfig, run_batch
from yuyin.options import ModelOptions, OutputOptions, TranscribeOptions

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ("en.wav", "en_long.wav", "en.mp3")


def _inputs(folder: Path, copies: int) -> Path:
    for n in range(copies):
        for name in FIXTURES:
            (folder / f"c{n}").mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / "tests" / "data" / name, folder / f"c{n}" / name)
    return folder


def _measure(make: Callable[[], Executor], inputs: Path, out: Path) -> tuple[float, float, int]:
    executor = make()
    started = time.perf_counter()
    try:
        summary = run_batch([str(inputs)], out, executor, output=OutputOptions(("txt",)))
    finally:
        executor.close()
    elapsed = time.perf_counter() - started
    if summary.failed:
        raise SystemExit(f"{len(summary.failed)} file(s) failed: {summary.failed[0]}")
    return summary.audio_seconds, elapsed, summary.succeeded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=4, help="copies of the fixture set")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray variant")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    options = TranscribeOptions(language="en", beam_size=1, best_of=1)
    # Each variant uses every core: one worker with all threads, or N workers sharing them.
    one = WorkerConfig(options, ModelOptions(model=args.model, cpu_threads=cores))
    split = WorkerConfig(options, ModelOptions(model=args.model))
    variants: dict[str, Callable[[], Executor]] = {
        "local, 1 worker": lambda: LocalExecutor(one, workers=1),
        "local, 2 workers": lambda: LocalExecutor(split, workers=2),
    }
    if not args.no_ray:
        from yuyin.batch.ray_executor import RayExecutor

        variants["ray (local runtime), 2 actors"] = lambda: RayExecutor(split, workers=2)
    with tempfile.TemporaryDirectory(prefix="yuyin-bench-batch-") as tmp:
        inputs = _inputs(Path(tmp) / "in", args.copies)
        rows = []
        for n, (name, make) in enumerate(variants.items()):
            audio, elapsed, files = _measure(make, inputs, Path(tmp) / f"out{n}")
            rows.append((name, files, audio, elapsed, audio / elapsed))
    print(f"model {args.model}, {platform.machine()}, {cores} cores, greedy decoding")
    print(
        f"{'variant':32} {'files':>5} {'audio s':>8} {'wall s':>7} {'audio h/h':>10} {'ratio':>6}"
    )
    base = rows[0][4]
    for name, files, audio, elapsed, rate in rows:
        print(f"{name:32} {files:5d} {audio:8.1f} {elapsed:7.1f} {rate:10.1f} {rate / base:5.2f}x")


if __name__ == "__main__":
    main()
