"""Evaluation reports: one JSON-ready dictionary, rendered as JSON, Markdown, HTML or text.

A report holds the corpus scores (normalised and orthographic) with 95 % bootstrap
confidence intervals, every utterance sorted worst first, the alignments of the worst ones,
what was skipped and why, and the model and settings, so the run can be repeated and
`yuyin eval compare` can test two reports against each other.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from yuyin.errors import ConfigurationError, InputError
from yuyin.eval.bootstrap import bootstrap_intervals
from yuyin.eval.metrics import METRICS, UNITS, align, join_tokens, metric_unit
from yuyin.eval.scoring import EvalResult, UtteranceScore
from yuyin.fileio import atomic_write_text

__all__ = [
    "REPORT_FORMATS",
    "SCHEMA",
    "build_report",
    "format_summary",
    "load_report",
    "render_report",
    "write_report",
]

#: Identifies a yuyin evaluation report (and its version) inside the JSON.
SCHEMA = "yuyin-eval-report/1"
#: Report file suffixes and their formats.
REPORT_FORMATS = {".json": "json", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
#: Utterances listed in the Markdown and HTML tables (the JSON holds them all).
TABLE_ROWS = 1000
_LABELS = {"wer": "WER", "cer": "CER", "mer": "MER", "wil": "WIL", "wip": "WIP", "mixed": "MixER"}


def _alignment(u: UtteranceScore, metric: str, count_spaces: bool) -> list[dict[str, str]]:
    unit = metric_unit(metric)
    spans = align(u.normalized_reference, u.normalized_hypothesis, unit, count_spaces=count_spaces)
    return [
        {
            "op": s.op,
            "reference": join_tokens(s.reference, unit),
            "hypothesis": join_tokens(s.hypothesis, unit),
        }
        for s in spans
    ]


def _utterance(u: UtteranceScore, metric: str) -> dict[str, Any]:
    unit = metric_unit(metric)
    return {
        "id": u.id,
        "score": u.score(metric),
        "orthographic_score": u.score(metric, normalized=False),
        **u.normalized[unit].to_dict(),
        "reference": u.reference,
        "hypothesis": u.hypothesis,
        "normalized_reference": u.normalized_reference,
        "normalized_hypothesis": u.normalized_hypothesis,
        "audio": u.audio,
        "language": u.language,
        "line": u.line,
        "duration": u.duration,
        "processing_time": u.processing_time,
        "counts": {k: c.to_dict() for k, c in u.normalized.items()},
        "orthographic_counts": {k: c.to_dict() for k, c in u.orthographic.items()},
    }


def build_report(
    result: EvalResult, *, samples: int = 1000, seed: int = 0, worst: int = 10
) -> dict[str, Any]:
    """The full report of a run as a JSON-ready dictionary.

    Args:
        result: a scored run.
        samples: bootstrap resamples for the 95 % confidence intervals (0: none).
        seed: bootstrap random seed.
        worst: how many of the worst utterances get an alignment.
    """
    summary = result.summary()
    if samples > 0:
        columns = {unit: [u.normalized[unit] for u in result.utterances] for unit in UNITS}
        intervals = bootstrap_intervals(
            {name: columns[unit] for name, unit in METRICS.items()}, samples=samples, seed=seed
        )
        summary["ci95"] = {name: list(ci) for name, ci in intervals.items()}
    metric = result.metric
    order = sorted(
        result.utterances,
        key=lambda u: (-u.score(metric), -u.normalized[metric_unit(metric)].errors, u.id),
    )
    worst_rows = [
        {
            "id": u.id,
            "score": u.score(metric),
            "alignment": _alignment(u, metric, result.count_spaces),
        }
        for u in order[: max(worst, 0)]
        if u.normalized[metric_unit(metric)].errors
    ]
    return {
        "schema": SCHEMA,
        "summary": summary,
        "settings": {
            **dict(result.settings),
            "normalizer": result.normalizer,
            "metric": metric,
            "count_spaces": result.count_spaces,
            "bootstrap": {"samples": samples, "seed": seed, "confidence": 0.95},
        },
        "worst": worst_rows,
        "utterances": [_utterance(u, metric) for u in order],
        "skipped": [s.to_dict() for s in result.skipped],
    }


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a JSON report written by `write_report`.

    Raises:
        InputError: missing, unreadable, or not a yuyin evaluation report.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"cannot read report {p}: {exc}", hint="give a report written with --report X.json"
        ) from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise InputError(
            f"{p} is not a yuyin evaluation report",
            hint="write one with: yuyin eval ... --report run.json",
        )
    return data


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ci(summary: dict[str, Any], name: str) -> str:
    ci = summary.get("ci95", {}).get(name)
    return f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "-"


def _rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    s = report["summary"]
    return [
        (_LABELS[n], _fmt(s[n]), _ci(s, n), _fmt(s["orthographic"][n]))
        for n in [s["metric"], *(m for m in METRICS if m != s["metric"])]
    ]


def _facts(report: dict[str, Any]) -> list[str]:
    s, st = report["summary"], report["settings"]
    facts = [
        f"{s['utterances']} utterances scored, {s['skipped']} skipped; normalizer "
        f"{s['normalizer']}; primary metric {_LABELS[s['metric']]} ({s['unit']} tokens"
        + (", spaces counted" if s.get("count_spaces") else "")
        + ")",
        f"{s['unit']} counts: {s['reference_length']} reference, {s['substitutions']} "
        f"substitutions, {s['deletions']} deletions, {s['insertions']} insertions, "
        f"{s['hits']} hits",
    ]
    if s.get("rtf") is not None:
        facts.append(
            f"model {st.get('model')} on {st.get('device') or '?'} "
            f"({st.get('compute_type') or '?'}); "
            f"audio {s['audio_seconds']:.1f} s, processing {s['processing_seconds']:.1f} s, "
            f"real-time factor {s['rtf']:.3f}"
        )
    return facts


def format_summary(report: dict[str, Any]) -> str:
    """The terminal summary: a score table and the run's facts, as plain text."""
    lines = [f"{'metric':<8}{'normalized':>12}  {'95% CI':<20}{'orthographic':>12}"]
    lines += [f"{a:<8}{b:>12}  {c:<20}{d:>12}" for a, b, c, d in _rows(report)]
    return "\n".join([*lines, *_facts(report)])


def _md_cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


_MD_MARKS = {"delete": ("[-", "-]"), "insert": ("{+", "+}")}


def _md_alignment(spans: list[dict[str, str]]) -> str:
    out = []
    for s in spans:
        if s["op"] == "equal":
            out.append(s["reference"])
        if s["op"] in ("delete", "substitute"):
            out.append(f"[-{s['reference']}-]")
        if s["op"] in ("insert", "substitute"):
            out.append(f"{{+{s['hypothesis']}+}}")
    return "`" + " ".join(out).replace("`", "'") + "`"


def _render_md(report: dict[str, Any]) -> str:
    s, label = report["summary"], _LABELS[report["summary"]["metric"]]
    out = ["# yuyin evaluation report", ""]
    out += ["| metric | normalized | 95% CI | orthographic |", "|---|---|---|---|"]
    out += [f"| {' | '.join(row)} |" for row in _rows(report)]
    out += ["", *(f"- {fact}" for fact in _facts(report)), "", "## Settings", ""]
    out += [f"- {k}: `{json.dumps(v, ensure_ascii=False)}`" for k, v in report["settings"].items()]
    out += ["", "## Worst utterances", "", "Deleted `[-ref-]`, inserted `{+hyp+}`.", ""]
    out += [
        f"- **{_md_cell(w['id'])}** ({label} {w['score']:.4f}): {_md_alignment(w['alignment'])}"
        for w in report["worst"]
    ]
    out += ["", f"## Utterances, worst {label} first", ""]
    out += [
        f"| id | {label} | S | D | I | N | reference | hypothesis |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for u in report["utterances"][:TABLE_ROWS]:
        cells = (
            u["id"],
            _fmt(u["score"]),
            u["substitutions"],
            u["deletions"],
            u["insertions"],
            u["reference_length"],
            u["reference"],
            u["hypothesis"],
        )
        out.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    if len(report["utterances"]) > TABLE_ROWS:
        out.append(f"\n{len(report['utterances']) - TABLE_ROWS} more in the JSON report.")
    out += ["", f"## Skipped ({s['skipped']})", ""]
    out += [
        f"- {_md_cell(k['source'])}:{k['line'] or ''} {_md_cell(k['reason'])}"
        for k in report["skipped"]
    ]
    return "\n".join(out) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .5em;
text-align:left;vertical-align:top}.sub{background:#fde68a}.del{background:#fecaca;
text-decoration:line-through}.ins{background:#bbf7d0}.align{line-height:1.8}"""


def _html_alignment(spans: list[dict[str, str]]) -> str:
    e, out = html.escape, []
    for s in spans:
        if s["op"] == "equal":
            out.append(e(s["reference"]))
        elif s["op"] == "substitute":
            out.append(
                f'<span class="sub" title="{e(s["reference"])} → {e(s["hypothesis"])}">'
                f'{e(s["hypothesis"])}</span><span class="del">{e(s["reference"])}</span>'
            )
        elif s["op"] == "delete":
            out.append(f'<span class="del">{e(s["reference"])}</span>')
        else:
            out.append(f'<span class="ins">{e(s["hypothesis"])}</span>')
    return " ".join(out)


def _html_table(header: list[str], rows: list[list[Any]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(str('' if c is None else c))}</td>" for c in r) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _render_html(report: dict[str, Any]) -> str:
    e, label = html.escape, _LABELS[report["summary"]["metric"]]
    parts = [
        f"<!doctype html><meta charset=utf-8><title>yuyin evaluation report</title>"
        f"<style>{_CSS}</style><h1>yuyin evaluation report</h1>"
    ]
    parts.append(
        _html_table(
            ["metric", "normalized", "95% CI", "orthographic"], [list(r) for r in _rows(report)]
        )
    )
    parts.append("<ul>" + "".join(f"<li>{e(f)}</li>" for f in _facts(report)) + "</ul>")
    parts.append(
        "<h2>Worst utterances</h2><p>Legend: <span class=sub>substituted</span> "
        "<span class=del>deleted</span> <span class=ins>inserted</span></p>"
    )
    parts += [
        f"<p class=align><b>{e(w['id'])}</b> ({label} {w['score']:.4f}): "
        f"{_html_alignment(w['alignment'])}</p>"
        for w in report["worst"]
    ]
    parts.append(f"<h2>Utterances, worst {label} first</h2>")
    rows = [
        [
            u["id"],
            _fmt(u["score"]),
            u["substitutions"],
            u["deletions"],
            u["insertions"],
            u["reference_length"],
            u["reference"],
            u["hypothesis"],
        ]
        for u in report["utterances"][:TABLE_ROWS]
    ]
    parts.append(_html_table(["id", label, "S", "D", "I", "N", "reference", "hypothesis"], rows))
    parts.append(f"<h2>Skipped ({len(report['skipped'])})</h2>")
    parts.append(
        _html_table(
            ["source", "line", "reason"],
            [[k["source"], k["line"], k["reason"]] for k in report["skipped"]],
        )
    )
    parts.append("<h2>Settings</h2>")
    parts.append(f"<pre>{e(json.dumps(report['settings'], ensure_ascii=False, indent=2))}</pre>")
    return "\n".join(parts) + "\n"


def render_report(report: dict[str, Any], fmt: str) -> str:
    """The report as `json`, `md` or `html` text.

    Raises:
        ConfigurationError: an unknown format.
    """
    if fmt == "json":
        return json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return _render_md(report)
    if fmt == "html":
        return _render_html(report)
    raise ConfigurationError(f"unknown report format {fmt!r}", hint="use json, md or html")


def write_report(report: dict[str, Any], path: str | Path) -> Path:
    """Write the report atomically, in the format its suffix names (.json, .md, .html).

    Raises:
        ConfigurationError: an unknown suffix.
        OutputError: the file cannot be written.
    """
    p = Path(path)
    fmt = REPORT_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ConfigurationError(
            f"cannot tell the report format of {p}", hint="name it .json, .md or .html"
        )
    return atomic_write_text(p, render_report(report, fmt))
