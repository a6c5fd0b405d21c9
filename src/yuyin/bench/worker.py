"""One measurement in a fresh process, so each engine or grid cell has its memory to itself
and a crash or an out-of-memory kill costs one row, not the benchmark.

The parent writes a JSON job on stdin; the worker prints one line starting with `MARKER`
followed by the JSON result (libraries may print their own lines to stdout too). Jobs:

    {"job": "measure", "audio": PATH, "model_options": {...}, "options": {...},
     "plan": {...}, "variant": "yuyin", "gpu_index": null, "load_only": false}
    {"job": "cell", "audio": PATH, "model_options": {...}, "options": {...},
     "setting": {"mode": ..., "cpu_threads": ..., "num_workers": ...},
     "requests": N, "rounds": R, "warmup": W}

Run as `python -m yuyin.bench.worker`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import traceback
from typing import Any

from yuyin.errors import YuyinError

__all__ = ["MARKER", "WorkerError", "main", "run_job", "run_worker"]

#: Prefix of the result line on the worker's stdout.
MARKER = "YUYIN-BENCH-RESULT "

log = logging.getLogger(__name__)


class WorkerError(YuyinError):
    """A worker process that crashed, was killed or timed out (reported as a failed row)."""


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job in this process and return its JSON-ready result."""
    from yuyin.audio import decode_audio
    from yuyin.bench.concurrency import run_cell
    from yuyin.bench.grid import CellSetting
    from yuyin.bench.runs import (
        BenchAudio,
        RunPlan,
        load_transcriber,
        measure,
        model_options_from_dict,
        transcribe_options_from_dict,
    )
    from yuyin.options import ModelOptions

    samples, info = decode_audio(job["audio"])
    audio = BenchAudio(info.path, samples)  # the parent scores: no reference needed here
    model_options = model_options_from_dict(job["model_options"])
    options = transcribe_options_from_dict(job["options"])
    if job["job"] == "cell":

        def factory(mopts: ModelOptions) -> Any:
            return load_transcriber(audio.samples, mopts, options).run

        cell, texts = run_cell(
            CellSetting(**job["setting"]),
            job["requests"],
            job["rounds"],
            factory,
            model_options,
            audio_seconds=audio.duration,
            warmup=job.get("warmup", 1),
        )
        return {**cell.to_dict(), "texts": texts}
    if job.get("load_only"):
        # Conversions and caches on first use happen here, outside any measurement.
        load_transcriber(audio.samples, model_options, options, variant=job["variant"])
        return {"loaded": True}
    result = measure(
        audio,
        model_options,
        options,
        RunPlan(**job["plan"]),
        variant=job["variant"],
        gpu_index=job.get("gpu_index"),
    )
    return result.to_dict()


def main() -> None:
    """Read a job from stdin, run it, print the marked result line."""
    job = json.loads(sys.stdin.read())
    try:
        result: dict[str, Any] = {"ok": True, "result": run_job(job)}
    except YuyinError as exc:
        result = {
            "ok": False,
            "error": {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint},
        }
    except Exception as exc:  # MemoryError, CTranslate2's RuntimeError: a failed row
        result = {
            "ok": False,
            "error": {
                "type": type(exc).__name__,
                "message": str(exc) or type(exc).__name__,
                "hint": traceback.format_exc(limit=3),
            },
        }
    sys.stdout.write("\n" + MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the worker process was killed by {name}{hint}"
    return f"the worker process exited with status {code}"


def run_worker(job: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
    """Run `job` in a fresh Python process and return its result.

    Args:
        job: see the module docstring.
        timeout: seconds before the worker is killed.

    Raises:
        WorkerError: the worker crashed, was killed, timed out, or reported an error
            (the message says which).
    """
    env = dict(os.environ)
    # The worker's own stderr (library warnings) is kept for the error message only.
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "yuyin.bench.worker"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise WorkerError(
            f"timed out after {timeout:.0f} s", hint="raise --timeout, or use a smaller setting"
        ) from exc
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise WorkerError(
            _describe_exit(proc.returncode) + (": " + " | ".join(tail) if tail else ""),
            hint="run it alone with -v to see the worker's log",
        )
    data: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    if not data["ok"]:
        error = data["error"]
        raise WorkerError(f"{error['type']}: {error['message']}", hint=error.get("hint", ""))
    result: dict[str, Any] = data["result"]
    return result


if __name__ == "__main__":
    main()
