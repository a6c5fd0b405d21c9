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
from yuyin.bench.runs import BenchAudio, options_to_dict, worst_score
from yuyin.bench.worker import run_worker
from yuyin.engines import resolve_device
from yuyin.errors import ConfigurationError, YuyinError
from yuyin.options import ModelOptions, TranscribeOptions

__all__ = ["CellRunner", "bench_concurrency", "run_cell", "worker_cell_runner"]

#: Loads a model with the given options and returns a function that transcribes once.
Factory = Callable[[ModelOptions], Callable[[], str]]
#: Measures one cell: its result (WER not yet scored) and every request's text.
CellRunner = Callable[[CellSetting], tuple[CellResult, list[str]]]


#: A request's start and end (perf_counter seconds) and its text.
_Span = tuple[float, float, str]


def _round(requests: int, transcriber_for: Callable[[int], Callable[[], str]]) -> list[_Span]:
    """Start `requests` transcriptions together on threads; each one's (start, end, text).

    Raises:
        Whatever a load or a transcription raised (the first one, after every thread ended).
    """
    barrier = threading.Barrier(requests)
    spans: list[_Span | None] = [None] * requests
    errors: list[BaseException] = []

    def request(i: int) -> None:
        barrier.wait()
        begin = time.perf_counter()
        try:
            text = transcriber_for(i)()
        except BaseException as exc:  # re-raised in the calling thread below
            errors.append(exc)
            return
        spans[i] = (begin, time.perf_counter(), text)

    threads = [
        threading.Thread(target=request, args=(i,), name=f"yuyin-request-{i}")
        for i in range(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [s for s in spans if s is not None]


def _wall(spans: Sequence[_Span]) -> float:
    """A round's wall seconds: from the first request's start to the last one's end."""
    return max(s[1] for s in spans) - min(s[0] for s in spans)


def run_cell(
    setting: CellSetting,
    requests: int,
    rounds: int,
    factory: Factory,
    model_options: ModelOptions,
    *,
    audio_seconds: float,
    warmup: int = 1,
) -> tuple[CellResult, list[str]]:
    """Run `warmup` then `rounds` rounds of `requests` simultaneous transcriptions here.

    Args:
        setting: the mode, threads and workers.
        requests: simultaneous requests per round.
        rounds: how many measured rounds (latencies of all rounds are pooled).
        factory: loads a model for the given options, returns its transcribe-once function.
        model_options: the options the cell's threads and workers are applied to.
        audio_seconds: the length of the audio each request transcribes.
        warmup: rounds run first, exactly like the measured ones; their wall seconds are
            reported, not counted (a model's first decode pays one-off allocations).

    Raises:
        ConfigurationError: fewer than one request or round, or a negative warm-up.
        Whatever a load or a transcription raises (the first one, after the round ends).
    """
    if requests < 1 or rounds < 1 or warmup < 0:
        raise ConfigurationError(
            "--requests and --rounds must be 1 or more, --warmup 0 or more",
            hint="e.g. --requests 4 --rounds 2 --warmup 1",
        )
    mopts = dataclasses.replace(
        model_options, cpu_threads=setting.cpu_threads, num_workers=setting.num_workers
    )
    latencies: list[float] = []
    round_seconds: list[float] = []
    warmup_seconds: list[float] = []
    texts: list[str] = []
    with MemorySampler() as sampler:
        started = time.perf_counter()
        preloaded = 0 if setting.mode == "fresh" else setting.models(requests)
        models = [factory(mopts) for _ in range(preloaded)]
        load_seconds = time.perf_counter() - started if models else 0.0

        def transcriber_for(i: int) -> Callable[[], str]:
            # A fresh model's load is part of its request's latency, by design of the mode.
            return models[i % len(models)] if models else factory(mopts)

        for _ in range(warmup):
            warmup_seconds.append(_wall(_round(requests, transcriber_for)))
        for _ in range(rounds):
            spans = _round(requests, transcriber_for)
            round_seconds.append(_wall(spans))
            latencies.extend(s[1] - s[0] for s in spans)
            texts.extend(s[2] for s in spans)
    cell = CellResult(
        setting,
        requests,
        audio_seconds,
        tuple(latencies),
        tuple(round_seconds),
        load_seconds,
        sampler.result.peak_rss_mb,
        warmup_seconds=tuple(warmup_seconds),
    )
    return cell, texts


def worker_cell_runner(
    audio: BenchAudio,
    model_options: ModelOptions,
    options: TranscribeOptions,
    *,
    requests: int,
    rounds: int,
    warmup: int = 1,
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
                "warmup": warmup,
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
            warmup_seconds=tuple(data["warmup_seconds"]),
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
    warmup: int = 1,
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
        rounds: measured rounds per cell.
        warmup: rounds per cell run first and left out of the statistics (reported).
        runner: how a cell is measured (default: a fresh worker process per cell).
        top: how many of the best cells to report.
        tolerance: the share of the best throughput the recommended cell may give up.
        timeout: seconds before a cell's worker is killed.
        on_cell: called with each finished cell (progress).

    Returns:
        The report: `cells`, `top`, `cheapest`, `failed`, the model with the device and
        numeric type it runs on, settings and environment.
    """
    if model_options.engine != "faster-whisper":
        raise ConfigurationError(
            "the concurrency grid sets CTranslate2's cpu_threads and num_workers",
            hint="it runs the faster-whisper engine only",
        )
    environment = describe_environment()
    device, compute_type = resolve_device(model_options.device, model_options.compute_type)
    run = runner or worker_cell_runner(
        audio,
        model_options,
        options,
        requests=requests,
        rounds=rounds,
        warmup=warmup,
        timeout=timeout,
    )
    cells: list[CellResult] = []
    for setting in settings:
        try:
            cell, texts = run(setting)
            worst = worst_score(audio.reference, texts, audio.language)
            cell = dataclasses.replace(
                cell, wer=worst["wer"], cer=worst["cer"], metric=worst["metric"]
            )
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
            "warmup": warmup,
            "tolerance": tolerance,
            "modes": {m: MODE_HELP[m] for m in dict.fromkeys(s.mode for s in settings)},
        },
        "environment": environment,
        "model": model_options.model,
        "engine": model_options.engine,
        "device": device,
        "compute_type": compute_type,
        "cells": [c.to_dict() for c in cells],
        "top": [c.to_dict() for c in selection.top],
        "best": selection.best.to_dict() if selection.best else None,
        "cheapest": selection.cheapest.to_dict() if selection.cheapest else None,
        "failed": [c.to_dict() for c in selection.failed],
    }
