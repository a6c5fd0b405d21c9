"""N simultaneous requests over a grid of modes x cpu_threads x num_workers.

Each cell runs in its own worker process (see `yuyin.bench.worker`): its peak memory is its
own, and a cell that runs out of memory or crashes becomes a failed row instead of ending
the benchmark. Inside the worker, `run_cell` starts the requests of a round together (a
barrier) on threads and times each one from its start to its last segment.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from yuyin.bench.environment import describe_environment
from yuyin.bench.grid import MODE_HELP, CellResult, CellSetting, select_cells
from yuyin.bench.memory import MemorySampler
from yuyin.bench.runs import BenchAudio, options_to_dict, score
from yuyin.bench.worker import run_worker
from yuyin.errors import ConfigurationError, YuyinError
from yuyin.options import ModelOptions, TranscribeOptions

__all__ = ["CellRunner", "bench_concurrency", "run_cell", "worker_cell_runner"]

#: Loads a model with the given options and returns a function that transcribes once.
Factory = Callable[[ModelOptions], Callable[[], str]]
#: Measures one cell: its result (WER not yet scored) and every request's text.
CellRunner = Callable[[CellSetting], tuple[CellResult, list[str]]]


def run_cell(
    setting: CellSetting,
    requests: int,
    rounds: int,
    factory: Factory,
    model_options: ModelOptions,
    *,
    audio_seconds: float,
) -> tuple[CellResult, list[str]]:
    """Run `rounds` rounds of `requests` simultaneous transcriptions in this process.

    Args:
        setting: the mode, threads and workers.
        requests: simultaneous requests per round.
        rounds: how many rounds (latencies of all rounds are pooled).
        factory: loads a model for the given options, returns its transcribe-once function.
        model_options: the options the cell's threads and workers are applied to.
        audio_seconds: the length of the audio each request transcribes.

    Raises:
        Whatever a load or a transcription raises (the first one, after the round ends).
    """
    if requests < 1 or rounds < 1:
        raise ConfigurationError(
            "--requests and --rounds must be 1 or more", hint="e.g. --requests 4 --rounds 2"
        )
    mopts = dataclasses.replace(
        model_options, cpu_threads=setting.cpu_threads, num_workers=setting.num_workers
    )
    latencies: list[float] = []
    round_seconds: list[float] = []
    texts: list[str] = []
    load_seconds = 0.0
    with MemorySampler() as sampler:
        started = time.perf_counter()
        shared = [factory(mopts)] if setting.mode == "shared" else []
        own = [factory(mopts) for _ in range(requests)] if setting.mode == "per-thread" else []
        if setting.mode != "fresh":
            load_seconds = time.perf_counter() - started
        for _ in range(rounds):
            barrier = threading.Barrier(requests)
            spans: list[tuple[float, float, str] | None] = [None] * requests
            errors: list[BaseException] = []

            def request(
                i: int,
                barrier: threading.Barrier,
                spans: list[tuple[float, float, str] | None],
                errors: list[BaseException],
            ) -> None:
                barrier.wait()
                begin = time.perf_counter()
                try:
                    run = shared[0] if shared else own[i] if own else factory(mopts)
                    text = run()
                except BaseException as exc:  # re-raised in the calling thread below
                    errors.append(exc)
                    return
                spans[i] = (begin, time.perf_counter(), text)

            threads = [
                threading.Thread(
                    target=request, args=(i, barrier, spans, errors), name=f"yuyin-request-{i}"
                )
                for i in range(requests)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if errors:
                raise errors[0]
            done = [s for s in spans if s is not None]
            round_seconds.append(max(s[1] for s in done) - min(s[0] for s in done))
            latencies.extend(s[1] - s[0] for s in done)
            texts.extend(s[2] for s in done)
    cell = CellResult(
        setting,
        requests,
        audio_seconds,
        tuple(latencies),
        tuple(round_seconds),
        load_seconds,
        sampler.result.peak_rss_mb,
    )
    return cell, texts


def worker_cell_runner(
    audio: BenchAudio,
    model_options: ModelOptions,
    options: TranscribeOptions,
    *,
    requests: int,
    rounds: int,
    timeout: float | None = None,
) -> CellRunner:
    """A `CellRunner` that measures each cell in a fresh worker process."""

    def runner(setting: CellSetting) -> tuple[CellResult, list[str]]:
        data = run_worker(
            {
                "job": "cell",
                "audio": audio.path,
                "model_options": options_to_dict(model_options),
                "options": options_to_dict(options),
                "setting": dataclasses.asdict(setting),
                "requests": requests,
                "rounds": rounds,
            },
            timeout=timeout,
        )
        cell = CellResult(
            setting,
            requests,
            audio.duration,
            tuple(data["latencies"]),
            tuple(data["round_seconds"]),
            float(data["load_seconds"]),
            data["peak_rss_mb"],
        )
        return cell, list(data["texts"])

    return runner


def bench_concurrency(
    audio: BenchAudio,
    model_options: ModelOptions,
    options: TranscribeOptions,
    settings: Sequence[CellSetting],
    *,
    requests: int,
    rounds: int,
    runner: CellRunner | None = None,
    top: int = 3,
    tolerance: float = 0.05,
    timeout: float | None = None,
    on_cell: Callable[[CellResult], None] | None = None,
) -> dict[str, Any]:
    """Measure every cell and rank them; failed cells are rows with their error.

    Args:
        audio: the input every request transcribes.
        model_options: engine, model and device (threads and workers come from the grid).
        options: decoding options.
        settings: the grid's cells (`grid_settings`).
        requests: simultaneous requests per round.
        rounds: rounds per cell.
        runner: how a cell is measured (default: a fresh worker process per cell).
        top: how many of the best cells to report.
        tolerance: the share of the best throughput the recommended cell may give up.
        timeout: seconds before a cell's worker is killed.
        on_cell: called with each finished cell (progress).

    Returns:
        The report: `cells`, `top`, `cheapest`, `failed`, settings and environment.
    """
    if model_options.engine != "faster-whisper":
        raise ConfigurationError(
            "the concurrency grid sets CTranslate2's cpu_threads and num_workers",
            hint="it runs the faster-whisper engine only",
        )
    environment = describe_environment()
    run = runner or worker_cell_runner(
        audio, model_options, options, requests=requests, rounds=rounds, timeout=timeout
    )
    cells: list[CellResult] = []
    for setting in settings:
        try:
            cell, texts = run(setting)
            scores = [score(audio.reference, t, audio.language)["wer"] for t in texts]
            known = [s for s in scores if s is not None]
            cell = dataclasses.replace(cell, wer=max(known) if known else None)
        except YuyinError as exc:
            cell = CellResult(setting, requests, audio.duration, error=str(exc))
        except (MemoryError, RuntimeError, OSError) as exc:  # an in-process runner's failure
            cell = CellResult(
                setting, requests, audio.duration, error=f"{type(exc).__name__}: {exc}"
            )
        cells.append(cell)
        if on_cell is not None:
            on_cell(cell)
    selection = select_cells(cells, top=top, tolerance=tolerance)
    return {
        "benchmark": "concurrency",
        "audio": audio.to_dict(),
        "settings": {
            "model_options": options_to_dict(model_options),
            "options": options_to_dict(options),
            "requests": requests,
            "rounds": rounds,
            "tolerance": tolerance,
            "modes": {m: MODE_HELP[m] for m in dict.fromkeys(s.mode for s in settings)},
        },
        "environment": environment,
        "cells": [c.to_dict() for c in cells],
        "top": [c.to_dict() for c in selection.top],
        "best": selection.best.to_dict() if selection.best else None,
        "cheapest": selection.cheapest.to_dict() if selection.cheapest else None,
        "failed": [c.to_dict() for c in selection.failed],
    }
