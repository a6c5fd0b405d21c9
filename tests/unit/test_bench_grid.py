"""Benchmark statistics and the concurrency grid's ranking: top cells, the cheapest cell
within 5 % of the best, and failed cells kept apart."""

from __future__ import annotations

import math

import pytest

from yuyin.bench import CellResult, CellSetting, grid_settings, select_cells, summarize
from yuyin.errors import ConfigurationError


def test_summarize_odd_and_even_counts():
    s = summarize([3.0, 1.0, 2.0])
    assert (s.count, s.min, s.median, s.max, s.mean) == (3, 1.0, 2.0, 3.0, 2.0)
    assert s.stdev == pytest.approx(1.0)  # sample stdev (n - 1)
    even = summarize([1.0, 2.0, 3.0, 10.0])
    assert even.median == 2.5
    assert even.mean == 4.0
    assert even.stdev == pytest.approx(math.sqrt((9 + 4 + 1 + 36) / 3))


def test_summarize_one_value_has_no_spread():
    s = summarize([0.5])
    assert (s.min, s.median, s.max, s.stdev) == (0.5, 0.5, 0.5, 0.0)
    assert s.to_dict()["count"] == 1


@pytest.mark.parametrize("values", [[], [1.0, float("nan")], [float("inf")]])
def test_summarize_rejects_empty_or_non_finite(values):
    with pytest.raises(ConfigurationError):
        summarize(values)


def test_grid_is_every_combination_in_mode_order():
    cells = grid_settings(["per-thread", "shared"], [2, 1, 2], [1])
    assert [c.label for c in cells] == ["shared t1 w1", "shared t2 w1", "per-thread t1 w1",
                                        "per-thread t2 w1"]  # fmt: skip


@pytest.mark.parametrize(
    ("modes", "threads", "workers"),
    [(["parallel"], [1], [1]), ([], [1], [1]), (["shared"], [0], [1]), (["shared"], [1], [])],
)
def test_grid_rejects_bad_axes(modes, threads, workers):
    with pytest.raises(ConfigurationError):
        grid_settings(modes, threads, workers)


def test_cost_counts_threads_of_every_loaded_model():
    assert CellSetting("shared", 2, 3).cost(4) == 6  # one model
    assert CellSetting("per-thread", 2, 1).cost(4) == 8  # a model per thread
    assert CellSetting("fresh", 1, 2).cost(3) == 6  # a model per request
    assert CellSetting("shared", 1, 1).models(8) == 1


def cell(mode, threads, workers, throughput, *, requests=2, rss=100.0, latency=1.0, error=None):
    """A cell whose two rounds give exactly `throughput` requests per second."""
    if error is not None:
        return CellResult(CellSetting(mode, threads, workers), requests, 5.0, error=error)
    per_round = requests / throughput
    return CellResult(
        CellSetting(mode, threads, workers),
        requests,
        audio_seconds=5.0,
        latencies=(latency,) * requests * 2,
        round_seconds=(per_round, per_round),
        peak_rss_mb=rss,
    )


def test_cell_throughput_latency_and_dict():
    c = cell("shared", 2, 1, 0.5, latency=3.0)
    assert c.ok
    assert c.throughput == pytest.approx(0.5)
    assert c.audio_throughput == pytest.approx(2.5)  # 5 s of audio per request
    assert c.latency is not None
    assert c.latency.mean == 3.0
    data = c.to_dict()
    assert data["real_time_factor"] == pytest.approx(2.5)
    assert data["cost_threads"] == 2
    assert data["latency_stdev"] == 0.0


def test_failed_cell_has_no_throughput():
    c = cell("fresh", 1, 1, 0, error="killed by SIGKILL (out of memory?)")
    assert not c.ok
    assert c.throughput == 0.0
    assert c.latency is None
    data = c.to_dict()
    assert data["ok"] is False
    assert data["throughput_requests_per_second"] is None
    assert data["error"].startswith("killed")


def test_top_three_best_first_and_failed_cells_apart():
    cells = [
        cell("shared", 1, 1, 1.0),
        cell("shared", 2, 1, 2.0),
        cell("per-thread", 1, 1, 1.5),
        cell("fresh", 1, 1, 0.5),
        cell("fresh", 2, 2, 0, error="out of memory"),
    ]
    sel = select_cells(cells)
    assert [c.throughput for c in sel.top] == pytest.approx([2.0, 1.5, 1.0])
    assert sel.best is sel.top[0]
    assert [c.error for c in sel.failed] == ["out of memory"]
    assert len(select_cells(cells, top=1).top) == 1


def test_cheapest_within_five_percent_of_the_best():
    best = cell("per-thread", 2, 1, 2.00)  # cost 2 x 1 x 2 models = 4
    close_cheap = cell("shared", 2, 1, 1.91)  # 4.5 % slower, cost 2
    closer_dear = cell("shared", 2, 2, 1.99)  # cost 4
    too_slow = cell("shared", 1, 1, 1.89)  # 5.5 % slower, cost 1
    sel = select_cells([best, close_cheap, closer_dear, too_slow])
    assert sel.best == best
    assert sel.cheapest == close_cheap
    # With no tolerance only the best itself qualifies.
    assert select_cells([best, close_cheap, too_slow], tolerance=0.0).cheapest == best
    # A wider tolerance lets the cheapest of all in.
    assert select_cells([best, close_cheap, too_slow], tolerance=0.10).cheapest == too_slow


def test_equal_cost_ties_go_to_fewer_models_then_less_memory():
    a = cell("per-thread", 1, 1, 1.0, requests=2, rss=500.0)  # cost 2, 2 models
    b = cell("shared", 2, 1, 1.0, requests=2, rss=400.0)  # cost 2, 1 model
    c = cell("shared", 1, 2, 1.0, requests=2, rss=300.0)  # cost 2, 1 model, least memory
    assert select_cells([a, b, c]).cheapest is c
    assert select_cells([a, b]).cheapest is b


def test_equal_throughput_ranks_lower_latency_first():
    slow = cell("shared", 1, 1, 1.0, latency=2.0)
    fast = cell("shared", 2, 1, 1.0, latency=1.0)
    assert select_cells([slow, fast]).top[0] is fast


def test_every_cell_failed():
    sel = select_cells([cell("fresh", 1, 1, 0, error="boom")])
    assert sel.top == ()
    assert sel.best is None
    assert sel.cheapest is None
    assert len(sel.failed) == 1


@pytest.mark.parametrize(("top", "tolerance"), [(0, 0.05), (3, -0.1), (3, 1.0)])
def test_selection_rejects_bad_parameters(top, tolerance):
    with pytest.raises(ConfigurationError):
        select_cells([], top=top, tolerance=tolerance)
