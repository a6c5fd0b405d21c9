"""Honest speed, memory and concurrency benchmarks, and side-by-side engine comparisons (issue 10).

Usage::

    from yuyin.bench import RunPlan, bench_speed, load_bench_audio, render_report

    audio = load_bench_audio("talk.wav", reference="the known text")
    report = bench_speed(audio, ModelOptions(model="tiny.en"), TranscribeOptions(), RunPlan())
    print(report["real_time_factor"], report["wer"])
    print(render_report(report, "markdown"))

Every run consumes every segment, model loading and warm-up are timed apart, every result
carries its WER when the reference is known, and the machine is recorded with it.
"""

from yuyin.bench.compare import Target, bench_compare, compare_targets
from yuyin.bench.concurrency import bench_concurrency, run_cell
from yuyin.bench.environment import describe_environment, describe_machine
from yuyin.bench.grid import MODES, CellResult, CellSetting, Selection, grid_settings, select_cells
from yuyin.bench.memory import MemoryPeak, MemorySampler
from yuyin.bench.report import TABLE_FORMATS, format_table, plot_report, render_report
from yuyin.bench.runs import (
    BenchAudio,
    Measurement,
    RunPlan,
    find_reference,
    load_bench_audio,
    measure,
)
from yuyin.bench.speed import bench_memory, bench_speed
from yuyin.bench.stats import Summary, summarize

__all__ = [
    "MODES",
    "TABLE_FORMATS",
    "BenchAudio",
    "CellResult",
    "CellSetting",
    "Measurement",
    "MemoryPeak",
    "MemorySampler",
    "RunPlan",
    "Selection",
    "Summary",
    "Target",
    "bench_compare",
    "bench_concurrency",
    "bench_memory",
    "bench_speed",
    "compare_targets",
    "describe_environment",
    "describe_machine",
    "find_reference",
    "format_table",
    "grid_settings",
    "load_bench_audio",
    "measure",
    "plot_report",
    "render_report",
    "run_cell",
    "select_cells",
    "summarize",
]
