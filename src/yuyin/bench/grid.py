"""The concurrency grid: its cells, their results, and which settings to recommend.

A cell is one way of serving N simultaneous requests: a mode (a fresh model per request, one
model shared by every thread, or one model per thread) with CTranslate2's `cpu_threads` and
`num_workers`. Cells are ranked by throughput; the recommendation is the cheapest cell whose
throughput is within a tolerance (5 %) of the best, where a cell's cost is the CPU threads it
asks for (`cpu_threads x num_workers x` loaded models), then the memory it used.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from yuyin.bench.stats import Summary, summarize
from yuyin.errors import ConfigurationError

__all__ = ["MODES", "CellResult", "CellSetting", "Selection", "grid_settings", "select_cells"]

#: Ways of serving simultaneous requests, in the order reports list them.
MODES: tuple[str, ...] = ("fresh", "shared", "per-thread")

MODE_HELP: dict[str, str] = {
    "fresh": "a model loaded for each request (the load is part of its latency)",
    "shared": "one model loaded before, shared by every request thread",
    "per-thread": "one model per request thread, loaded before",
}


@dataclass(frozen=True, slots=True)
class CellSetting:
    """One point of the grid.

    Attributes:
        mode: `fresh`, `shared` or `per-thread`.
        cpu_threads: CTranslate2 threads per model replica (1 or more).
        num_workers: CTranslate2 workers per model (parallel requests one model serves).
    """

    mode: str
    cpu_threads: int
    num_workers: int

    def models(self, requests: int) -> int:
        """How many models are loaded at once to serve `requests` simultaneous requests."""
        return 1 if self.mode == "shared" else requests

    def cost(self, requests: int) -> int:
        """CPU threads the setting asks for: cpu_threads x num_workers x loaded models."""
        return self.cpu_threads * self.num_workers * self.models(requests)

    @property
    def label(self) -> str:
        """A short name such as `shared t2 w1`."""
        return f"{self.mode} t{self.cpu_threads} w{self.num_workers}"


def grid_settings(
    modes: Sequence[str], cpu_threads: Sequence[int], num_workers: Sequence[int]
) -> list[CellSetting]:
    """Every combination of mode x cpu_threads x num_workers, in report order.

    Raises:
        ConfigurationError: an unknown mode, a thread or worker count below 1, or an empty axis.
    """
    for mode in modes:
        if mode not in MODES:
            raise ConfigurationError(
                f"unknown concurrency mode {mode!r}", hint="use any of: " + ", ".join(MODES)
            )
    if not modes or not cpu_threads or not num_workers:
        raise ConfigurationError(
            "the grid is empty", hint="give at least one mode, thread count and worker count"
        )
    if min(cpu_threads) < 1 or min(num_workers) < 1:
        raise ConfigurationError(
            "--cpu-threads and --num-workers values must be 1 or more",
            hint="e.g. --cpu-threads 1,2 --num-workers 1,2",
        )
    return [
        CellSetting(m, t, w)
        for m, t, w in itertools.product(
            [m for m in MODES if m in modes], sorted(set(cpu_threads)), sorted(set(num_workers))
        )
    ]


@dataclass(frozen=True, slots=True)
class CellResult:
    """What one cell measured, or why it failed.

    Attributes:
        setting: the grid point.
        requests: simultaneous requests per round.
        audio_seconds: length of the audio each request transcribes.
        latencies: every request's seconds from start to its last segment, all rounds.
        round_seconds: wall seconds of each round (all requests started together).
        load_seconds: seconds spent loading models before the rounds (not in latency);
            in `fresh` mode loads are inside each request's latency and this is 0.
        peak_rss_mb: the worker process's peak resident memory, in MiB.
        wer: word error rate of the request that scored worst (None without a reference).
        cer: its character error rate.
        metric: the rate to read first, `wer` or `cer` (for Chinese), None without a
            reference.
        error: why the cell failed (out of memory, a crash, a timeout), else None.
        warmup_seconds: wall seconds of each warm-up round (not in any statistic).
    """

    setting: CellSetting
    requests: int
    audio_seconds: float
    latencies: tuple[float, ...] = ()
    round_seconds: tuple[float, ...] = ()
    load_seconds: float = 0.0
    peak_rss_mb: float | None = None
    wer: float | None = None
    cer: float | None = None
    metric: str | None = None
    error: str | None = None
    warmup_seconds: tuple[float, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the cell ran every request."""
        return self.error is None and bool(self.latencies) and bool(self.round_seconds)

    @property
    def latency(self) -> Summary | None:
        """Request latency statistics (None for a failed cell)."""
        return summarize(self.latencies) if self.ok else None

    @property
    def throughput(self) -> float:
        """Requests completed per wall second (0 for a failed cell)."""
        if not self.ok:
            return 0.0
        return self.requests * len(self.round_seconds) / sum(self.round_seconds)

    @property
    def audio_throughput(self) -> float:
        """Audio seconds transcribed per wall second (x real time; 0 for a failed cell)."""
        return self.throughput * self.audio_seconds

    @property
    def error_rate(self) -> float | None:
        """The error rate named by `metric` (CER for Chinese, else WER), None unscored."""
        return self.cer if self.metric == "cer" else self.wer

    @property
    def cost(self) -> int:
        """CPU threads the setting asks for (see `CellSetting.cost`)."""
        return self.setting.cost(self.requests)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        latency = self.latency
        return {
            "mode": self.setting.mode,
            "cpu_threads": self.setting.cpu_threads,
            "num_workers": self.setting.num_workers,
            "label": self.setting.label,
            "requests": self.requests,
            "models": self.setting.models(self.requests),
            "cost_threads": self.cost,
            "ok": self.ok,
            "error": self.error,
            "latency_mean": latency.mean if latency else None,
            "latency_stdev": latency.stdev if latency else None,
            "latency_min": latency.min if latency else None,
            "latency_max": latency.max if latency else None,
            "latencies": list(self.latencies),
            "round_seconds": list(self.round_seconds),
            "warmup_seconds": list(self.warmup_seconds),
            "load_seconds": self.load_seconds,
            "throughput_requests_per_second": self.throughput if self.ok else None,
            "real_time_factor": self.audio_throughput if self.ok else None,
            "peak_rss_mb": self.peak_rss_mb,
            "wer": self.wer,
            "cer": self.cer,
            "metric": self.metric,
            "error_rate": self.error_rate,
        }


@dataclass(frozen=True, slots=True)
class Selection:
    """The grid's verdict.

    Attributes:
        top: the best cells by throughput, best first (at most `top` of them).
        cheapest: the lowest-cost cell within `tolerance` of the best throughput.
        failed: cells that did not run (out of memory, crashed, timed out).
        tolerance: the fraction of the best throughput a cheaper cell may give up.
    """

    top: tuple[CellResult, ...]
    cheapest: CellResult | None
    failed: tuple[CellResult, ...]
    tolerance: float

    @property
    def best(self) -> CellResult | None:
        """The cell with the highest throughput (None when every cell failed)."""
        return self.top[0] if self.top else None


def _speed_key(cell: CellResult) -> tuple[float, float]:
    latency = cell.latency
    # Highest throughput first; on a tie the lower mean latency wins.
    return (-cell.throughput, latency.mean if latency else float("inf"))


def select_cells(
    cells: Iterable[CellResult], *, top: int = 3, tolerance: float = 0.05
) -> Selection:
    """Rank cells by throughput and pick the cheapest one within `tolerance` of the best.

    Args:
        cells: measured cells, failed ones included.
        top: how many of the best cells to keep.
        tolerance: a cell qualifies as "as good" when its throughput is at least
            (1 - tolerance) x the best's; 0.05 is 5 %.

    Raises:
        ConfigurationError: `top` below 1 or `tolerance` outside [0, 1).
    """
    if top < 1 or not 0.0 <= tolerance < 1.0:
        raise ConfigurationError(
            "top must be 1 or more and tolerance in [0, 1)", hint="e.g. top=3, tolerance=0.05"
        )
    all_cells = list(cells)
    good = sorted((c for c in all_cells if c.ok), key=_speed_key)
    failed = tuple(c for c in all_cells if not c.ok)
    if not good:
        return Selection((), None, failed, tolerance)
    floor = good[0].throughput * (1.0 - tolerance)
    near = [c for c in good if c.throughput >= floor]
    cheapest = min(
        near,
        key=lambda c: (
            c.cost,
            c.setting.models(c.requests),
            c.peak_rss_mb if c.peak_rss_mb is not None else float("inf"),
            *_speed_key(c),
        ),
    )
    return Selection(tuple(good[:top]), cheapest, failed, tolerance)
