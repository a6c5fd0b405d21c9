"""Benchmark reports for people: terminal or Markdown tables, and bar charts (PNG).

Every table ends with the machine, the libraries and the input it was measured on, so a
pasted table always says where its numbers come from.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yuyin.bench.environment import describe_machine
from yuyin.errors import ConfigurationError, MissingDependencyError
from yuyin.fileio import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["TABLE_FORMATS", "format_table", "plot_report", "render_report", "require_matplotlib"]

#: `--format` choices.
TABLE_FORMATS: tuple[str, ...] = ("table", "markdown")


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{float(value):.{digits}f}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], fmt: str = "table") -> str:
    """Lay out rows under headers: aligned columns (`table`) or a Markdown pipe table.

    Columns whose cells all look numeric are right-aligned.

    Raises:
        ConfigurationError: an unknown format.
    """
    if fmt not in TABLE_FORMATS:
        raise ConfigurationError(
            f"unknown table format {fmt!r}", hint="use one of: " + ", ".join(TABLE_FORMATS)
        )

    def numeric(cell: str) -> bool:
        head = cell.split(" ")[0].rstrip("x%")
        return head in ("-", "") or head.replace(".", "", 1).lstrip("+-").isdigit()

    right = [all(numeric(r[i]) for r in rows) and bool(rows) for i in range(len(headers))]
    if fmt == "markdown":
        lines = ["| " + " | ".join(headers) + " |"]
        lines.append("|" + "|".join("---:" if r else "---" for r in right) + "|")
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        ]
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def _footer(report: dict[str, Any], fmt: str) -> str:
    env = report["environment"]
    audio = report["audio"]
    libraries = ", ".join(f"{k} {v}" for k, v in env.get("libraries", {}).items())
    reference = (
        f"reference from {Path(audio['reference_source']).name}"
        if audio.get("reference_source") and audio["reference_source"] != "--reference"
        else "reference from --reference"
        if audio.get("reference")
        else "no reference: WER not measured (give --reference)"
    )
    lines = [
        f"machine: {describe_machine(env)}",
        f"libraries: {libraries}",
        f"audio: {Path(audio['path']).name}, {audio['duration']:.2f} s; {reference}",
    ]
    settings = report.get("settings", {})
    if "repeat" in settings:
        lines.append(
            f"runs: {settings['warmup']} warm-up (excluded), {settings['repeat']} repeats x "
            f"{settings['number']}; decoding: {_decoding(settings.get('options', {}))}"
        )
    if fmt == "markdown":
        return "\n".join(f"- {line}" for line in lines)
    return "\n".join(lines)


def _decoding(options: dict[str, Any]) -> str:
    if not options:
        return "-"
    return (
        f"beam {options.get('beam_size')}, language {options.get('language') or 'detected'}, "
        f"word timestamps {'on' if options.get('word_timestamps') else 'off'}, "
        f"batch {options.get('batch_size')}"
    )


def _metric_name(rows: Sequence[dict[str, Any]]) -> str:
    metrics = {str(r["metric"]) for r in rows if r.get("metric")}
    return metrics.pop().upper() if len(metrics) == 1 else "WER"


_SPEED_HEADERS = (
    "engine", "device", "compute", "load s", "warm-up s", "median s", "min s", "max s",
    "cpu s", "x real time", "tokens/s", "peak MB",
)  # fmt: skip


def _speed_cells(row: dict[str, Any], label: str) -> list[str]:
    warmup = row.get("warmup_seconds") or []
    return [
        label,
        row.get("device") or "-",
        row.get("compute_type") or "-",
        _num(row.get("load_seconds")),
        "/".join(_num(w) for w in warmup) or "-",
        _num(row.get("wall_seconds")),
        _num(row.get("wall_seconds_min")),
        _num(row.get("wall_seconds_max")),
        _num(row.get("cpu_seconds")),
        _num(row.get("real_time_factor")),
        _num(row.get("tokens_per_second"), 1),
        _num(row.get("peak_rss_mb"), 0),
        _num(row.get("error_rate"), 3),
    ]


def _render_speed(report: dict[str, Any], fmt: str) -> str:
    metric = _metric_name([report])
    label = f"{report['engine']} {report['model']}"
    if report.get("variant") == "plain":
        label += " (library)"
    table = format_table([*_SPEED_HEADERS, metric], [_speed_cells(report, label)], fmt)
    return table + "\n\n" + _footer(report, fmt)


def _render_compare(report: dict[str, Any], fmt: str) -> str:
    rows = report["engines"]
    metric = _metric_name(rows)
    body = []
    notes = []
    for row in rows:
        if row["ok"]:
            body.append(_speed_cells(row, row["label"]))
        else:
            cells = ["-"] * (len(_SPEED_HEADERS) + 1)
            cells[0] = row["label"]
            cells[-1] = "failed"
            body.append(cells)
            notes.append(f"{row['label']}: {row['error']['message']}")
    headers = [*_SPEED_HEADERS, metric]
    headers[0] = f"engine ({report['model']})"
    out = format_table(headers, body, fmt)
    if notes:
        prefix = "- " if fmt == "markdown" else "  "
        out += "\n\nnot measured:\n" + "\n".join(prefix + n for n in notes)
    skipped = ", ".join(s["engine"] for s in report.get("skipped", []))
    if skipped:
        out += f"\n\nleft out (cloud services): {skipped}"
    return out + "\n\n" + _footer(report, fmt)


def _render_memory(report: dict[str, Any], fmt: str) -> str:
    gpu = report.get("gpu") or {}
    load, run = report["load"], report["transcription"]
    headers = ["phase", "seconds", "peak RSS MB", "growth MB", "GPU peak MB", "GPU power W"]
    rows = [
        ["before (baseline)", "-", _num(report["baseline_rss_mb"], 0), "-",
         _num(gpu.get("baseline_mb"), 0), "-"],
        ["model load", _num(load["seconds"]), _num(load["peak_rss_mb"], 0),
         _num(load["growth_mb"], 0), _num(gpu.get("load_peak_mb"), 0), "-"],
        ["transcription", _num(run["seconds"]), _num(run["peak_rss_mb"], 0),
         _num(run["growth_mb"], 0), _num(gpu.get("transcription_peak_mb"), 0),
         f"{_num(gpu.get('power_mean_w'), 0)} (peak {_num(gpu.get('power_peak_w'), 0)})"
         if gpu else "-"],
    ]  # fmt: skip
    out = format_table(headers, rows, fmt)
    metric = _metric_name([report])
    out += (
        f"\n\n{report['engine']} {report['model']} on {report['device']} "
        f"({report['compute_type']}): median {_num(report['wall_seconds'])} s per "
        f"transcription, {_num(report['real_time_factor'])}x real time, "
        f"{metric} {_num(report['error_rate'], 3)}"
    )
    if report.get("gpu_skipped"):
        out += f"\nGPU not measured: {report['gpu_skipped']}"
    return out + "\n\n" + _footer(report, fmt)


def _cell_name(cell: dict[str, Any]) -> str:
    return f"{cell['mode']} threads={cell['cpu_threads']} workers={cell['num_workers']}"


def _render_concurrency(report: dict[str, Any], fmt: str) -> str:
    settings = report["settings"]
    headers = [
        "mode", "cpu_threads", "num_workers", "models", "cost", "warm-up s",
        "latency s (mean ± sd)", "req/s", "x real time", "peak MB", _metric_name(report["cells"]),
        "status",
    ]  # fmt: skip
    rows = []
    for c in report["cells"]:
        latency = f"{_num(c['latency_mean'])} ± {_num(c['latency_stdev'])}" if c["ok"] else "-"
        status = "ok" if c["ok"] else "failed: " + str(c["error"]).splitlines()[0][:60]
        rows.append([
            c["mode"], str(c["cpu_threads"]), str(c["num_workers"]), str(c["models"]),
            str(c["cost_threads"]), "/".join(_num(w) for w in c["warmup_seconds"]) or "-",
            latency, _num(c["throughput_requests_per_second"]),
            _num(c["real_time_factor"]), _num(c["peak_rss_mb"], 0), _num(c["error_rate"], 3),
            status,
        ])  # fmt: skip
    lines = [
        f"{report['engine']} {report['model']} on {report['device']} "
        f"({report['compute_type']}); {settings['requests']} simultaneous requests x "
        f"{settings['rounds']} rounds per cell after {settings['warmup']} warm-up round(s) "
        "(excluded); cost = CPU threads asked for (cpu_threads x num_workers x models)",
        f"decoding: {_decoding(settings.get('options', {}))}",
    ]
    top = report["top"]
    if top:
        ranked = "; ".join(
            f"{n}. {_cell_name(c)} ({_num(c['real_time_factor'])}x real time)"
            for n, c in enumerate(top, 1)
        )
        lines.append(f"top {len(top)}: {ranked}")
        cheap = report["cheapest"]
        lines.append(
            f"cheapest within {settings['tolerance']:.0%} of the best: {_cell_name(cheap)} "
            f"(cost {cheap['cost_threads']}, {_num(cheap['real_time_factor'])}x real time)"
        )
    else:
        lines.append("every cell failed")
    if report["failed"]:
        lines.append(f"failed cells: {len(report['failed'])} (see status)")
    # Markdown would run plain lines together into one paragraph.
    prefix = "- " if fmt == "markdown" else ""
    summary = "\n".join(prefix + line for line in lines)
    return format_table(headers, rows, fmt) + "\n\n" + summary + "\n\n" + _footer(report, fmt)


_RENDERERS = {
    "speed": _render_speed,
    "compare": _render_compare,
    "memory": _render_memory,
    "concurrency": _render_concurrency,
}


def render_report(report: dict[str, Any], fmt: str = "table") -> str:
    """A report as a terminal table (`table`) or Markdown (`markdown`), with its machine.

    Raises:
        ConfigurationError: an unknown format or report kind.
    """
    if fmt not in TABLE_FORMATS:
        raise ConfigurationError(
            f"unknown table format {fmt!r}", hint="use one of: " + ", ".join(TABLE_FORMATS)
        )
    kind = report.get("benchmark")
    if kind not in _RENDERERS:
        raise ConfigurationError(f"unknown benchmark report {kind!r}")
    return _RENDERERS[kind](report, fmt)


# --- plots ----------------------------------------------------------------------------------


def require_matplotlib() -> None:
    """Raise MissingDependencyError unless matplotlib (for `--plot`) can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("matplotlib", "bench", "--plot") from exc


def _figure(panels: int) -> tuple[Figure, list[Axes]]:
    require_matplotlib()
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, 3.2 * panels), layout="constrained")
    axes = [figure.add_subplot(panels, 1, k + 1) for k in range(panels)]
    return figure, axes


def _bars(
    ax: Axes,
    labels: Sequence[str],
    values: Sequence[float | None],
    title: str,
    unit: str,
    *,
    least_top: float = 0.0,
    notes: Sequence[str] | None = None,
) -> None:
    heights = [v or 0.0 for v in values]
    colors = ["tab:blue" if v is not None else "lightgrey" for v in values]
    bars = ax.bar(range(len(labels)), heights, color=colors)
    for k, (bar, value) in enumerate(zip(bars, values, strict=True)):
        text = "failed" if value is None else f"{value:.3g}"
        if notes is not None and value is not None:
            text += "\n" + notes[k]
        ax.annotate(
            text,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize="small",
        )
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize="small")
    ax.set_ylabel(unit)
    ax.set_title(title, loc="left", fontsize="medium")
    # From zero, with room for the labels; all-zero error rates still get a readable axis.
    ax.set_ylim(0.0, max(max(heights, default=0.0) * 1.2, least_top, 1e-9))


def plot_report(report: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Bar charts of a report, written atomically as PNG.

    speed: each run's seconds (warm-up in grey); compare: x real time and WER per engine;
    memory: resident memory per phase; concurrency: throughput per cell.

    Raises:
        MissingDependencyError: matplotlib is not installed.
        OutputError: the file cannot be written.
    """
    kind = report.get("benchmark")
    metric = _metric_name(report.get("engines") or [report])
    machine = describe_machine(report["environment"])
    if kind == "speed":
        figure, (ax,) = _figure(1)
        warm = report["warmup_seconds"]
        runs = report["run_seconds"]
        labels = [f"warm-up {k + 1}" for k in range(len(warm))]
        labels += [f"run {k + 1}" for k in range(len(runs))]
        bars = ax.bar(range(len(labels)), [*warm, *runs])
        for bar in list(bars)[: len(warm)]:
            bar.set_color("lightgrey")
        ax.axhline(report["wall_seconds"], color="tab:red", linestyle="--", label="median")
        ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize="small")
        ax.set_ylabel("seconds per transcription")
        ax.legend()
        ax.set_title(
            f"{report['engine']} {report['model']} ({report['compute_type']}): "
            f"{_num(report['real_time_factor'])}x real time, "
            f"{metric} {_num(report['error_rate'], 3)}",
            loc="left",
            fontsize="medium",
        )
    elif kind == "compare":
        figure, (ax1, ax2) = _figure(2)
        rows = report["engines"]
        labels = [r["label"] for r in rows]
        _bars(ax1, labels, [r["real_time_factor"] for r in rows], "speed", "x real time")
        _bars(
            ax2,
            labels,
            [r["error_rate"] for r in rows],
            "accuracy (lower is better)",
            metric,
            least_top=0.1,
        )
    elif kind == "memory":
        figure, (ax,) = _figure(1)
        values = [
            report["baseline_rss_mb"],
            report["load"]["peak_rss_mb"],
            report["transcription"]["peak_rss_mb"],
        ]
        title = (
            f"peak RSS: {report['engine']} {report['model']} ({report['compute_type']}), "
            f"{metric} {_num(report['error_rate'], 3)}"
        )
        _bars(ax, ["baseline", "model load", "transcription"], values, title, "MiB")
    elif kind == "concurrency":
        figure, (ax,) = _figure(1)
        cells = report["cells"]
        labels = [f"{c['mode']} t{c['cpu_threads']} w{c['num_workers']}" for c in cells]
        # No speed without its accuracy: each bar carries its cell's error rate.
        metric = _metric_name(cells)
        notes = [f"{metric} {_num(c['error_rate'], 3)}" for c in cells]
        _bars(
            ax,
            labels,
            [c["real_time_factor"] for c in cells],
            f"throughput: {report['engine']} {report['model']} ({report['compute_type']})",
            "x real time",
            notes=notes,
        )
    else:
        raise ConfigurationError(f"unknown benchmark report {kind!r}")
    figure.suptitle(machine, fontsize="x-small")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return atomic_write_bytes(path, buffer.getvalue())
