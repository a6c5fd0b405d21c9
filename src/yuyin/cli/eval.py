"""`yuyin eval`: transcribe a manifest (or take existing output) and score it; `compare` runs."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from yuyin.cli._common import EXIT_CODES_HELP, EXIT_PARTIAL, echo_json
from yuyin.cli._options import option_names, pop_options
from yuyin.cli.transcribe import transcribe_command
from yuyin.errors import ConfigurationError, YuyinError
from yuyin.eval import (
    METRICS,
    NORMALIZERS,
    EvalResult,
    Recognition,
    Utterance,
    build_report,
    compare_reports,
    evaluate_manifest,
    evaluate_pairs,
    format_summary,
    read_manifest,
    write_report,
)
from yuyin.eval.report import REPORT_FORMATS

__all__ = ["CLI_ONLY_PARAMS", "compare_command", "eval_command"]

#: Parameters of `yuyin eval` that do not map to a transcription option field.
CLI_ONLY_PARAMS = frozenset(
    {
        "manifest",
        "hyp",
        "ref",
        "normalizer",
        "metric",
        "count_spaces",
        "report",
        "worst",
        "bootstrap_samples",
        "seed",
        "json_output",
        "quiet",
    }
)

_OPTION_NAMES = option_names(output=False)
# The transcription flags, shared with `yuyin transcribe` so the two never drift apart.
_TRANSCRIBE_PARAMS = [copy.copy(p) for p in transcribe_command.params if p.name in _OPTION_NAMES]

_OPS = {"substitute": "yellow", "delete": "red", "insert": "green"}


class _EvalCommand(click.Command):
    """A command with one subcommand, `compare`, and an optional MANIFEST argument."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if args[:1] == ["compare"]:
            # A bare stand-in, so usage reads `yuyin eval compare` without eval's MANIFEST.
            ctx = click.Context(click.Command(self.name), info_name=info_name, parent=parent)
            return compare_command.make_context("compare", args[1:], parent=ctx, **extra)
        return super().make_context(info_name, args, parent, **extra)


def _elide(text: str, first: bool, last: bool) -> str:
    """Shorten a long stretch without errors to its ends (those next to an error)."""
    words = text.split(" ")
    if len(words) == 1 and text.isascii():
        return text  # one long English word
    keep, sep = (words, " ") if len(words) > 1 else (list(text), "")
    if len(keep) <= 8:
        return text
    head = "" if first else sep.join(keep[:3])
    tail = "" if last else sep.join(keep[-3:])
    return f"{head}{sep}…{sep}{tail}".strip()


def _styled_alignment(spans: list[dict[str, str]]) -> str:
    out = []
    for k, s in enumerate(spans):
        op, ref, hyp = s["op"], s["reference"], s["hypothesis"]
        if op == "equal":
            out.append(_elide(ref, k == 0, k == len(spans) - 1))
        elif op == "substitute":
            out.append(click.style(f"[{ref}→{hyp}]", fg=_OPS[op]))
        elif op == "delete":
            out.append(click.style(f"[-{ref}]", fg=_OPS[op]))
        else:
            out.append(click.style(f"[+{hyp}]", fg=_OPS[op]))
    return " ".join(out)


def _run_asr(manifest: str, params: dict[str, Any], show: bool, **score: Any) -> EvalResult:
    topts, mopts, _ = pop_options(params)
    m = read_manifest(manifest)
    for s in m.skipped:
        click.echo(f"warning: {s} (skipped)", err=True)
    bar = (
        tqdm(total=len(m.utterances), desc="eval", unit="utt", file=sys.stderr, leave=False)
        if show and sys.stderr.isatty()
        else None
    )

    def on_done(utt: Utterance, _rec: Recognition | None, error: YuyinError | None) -> None:
        if bar is not None:
            bar.update(1)
        if error is not None:
            where = f"{utt.source}:{utt.line}" if utt.line else utt.source
            click.echo(f"warning: {where}: {error} (skipped)", err=True)

    try:
        return evaluate_manifest(m, options=topts, model_options=mopts, on_done=on_done, **score)
    finally:
        if bar is not None:
            bar.close()


@click.command(
    "eval",
    cls=_EvalCommand,
    epilog=EXIT_CODES_HELP.replace("some inputs failed", "some inputs were skipped"),
    short_help="Score a model on a manifest (WER/CER with confidence intervals).",
)
@click.argument("manifest", required=False)
@click.option(
    "--hyp",
    type=click.Path(),
    default=None,
    help="Score existing output: hypotheses, one utterance per line (or a manifest "
    "joined with --ref by id). No model runs.",
)
@click.option(
    "--ref",
    type=click.Path(),
    default=None,
    help="References for --hyp: one utterance per line, or a manifest with ids.",
)
@click.option(
    "--normalizer",
    type=click.Choice(["auto", *NORMALIZERS]),
    default="auto",
    show_default=True,
    help="Text normaliser before scoring: auto picks english for English, chinese "
    "for Chinese, basic otherwise, row by row (--language, else the manifest's language "
    "column, else the detected one). Orthographic scores are always reported too.",
)
@click.option(
    "--metric",
    type=click.Choice(["auto", *METRICS]),
    default="auto",
    show_default=True,
    help="Primary metric: auto is CER for Chinese, Japanese, Korean and Thai, WER "
    "otherwise, and mixed for a set holding both; mixed counts CJK characters and "
    "English words as tokens (code-switching).",
)
@click.option(
    "--count-spaces",
    is_flag=True,
    default=False,
    help="Count one space between words as a character in CER (jiwer's CER).",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False),
    multiple=True,
    help="Write a report: .json (for `yuyin eval compare`), .md or .html. Repeatable.",
)
@click.option(
    "--worst",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Worst utterances shown with their alignment in reports (3 on screen).",
)
@click.option(
    "--bootstrap-samples",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Bootstrap resamples for 95% confidence intervals (0: none).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Bootstrap random seed (same seed, same intervals).",
)
@click.option(
    "--json",
    "json_output",
    is_flag=True,
    help="Print the corpus summary as one JSON object on stdout (for scripts).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary table.")
def eval_command(
    manifest: str | None,
    hyp: str | None,
    ref: str | None,
    normalizer: str,
    metric: str,
    count_spaces: bool,
    report: tuple[str, ...],
    worst: int,
    bootstrap_samples: int,
    seed: int,
    json_output: bool,
    quiet: bool,
    **params: Any,
) -> None:
    """Evaluate a model on MANIFEST, or score existing output with --hyp/--ref.

    MANIFEST is a .jsonl (audio, text, optional language and id), a .csv/.tsv with a
    header, a Kaldi folder (wav.scp + text) or a Hugging Face audiofolder (metadata.csv).
    Relative audio paths are read from the manifest's folder. Bad rows are reported with
    their line numbers and skipped; the run goes on.

    \b
    Examples:
      yuyin eval test.jsonl -m base -l zh-TW --report run.html
      yuyin eval data/ -m tiny.en --json             # Kaldi or audiofolder
      yuyin eval --hyp hyp.txt --ref ref.txt         # no model
      yuyin eval compare base.json small.json        # paired bootstrap test
    """
    if manifest is not None and (hyp or ref):
        raise click.UsageError("give a MANIFEST or --hyp/--ref, not both")
    if manifest is None and not (hyp and ref):
        raise click.UsageError("give a MANIFEST to transcribe, or both --hyp and --ref")
    for path in report:
        if Path(path).suffix.lower() not in REPORT_FORMATS:
            raise ConfigurationError(
                f"cannot tell the report format of {path}", hint="name it .json, .md or .html"
            )
    score: dict[str, Any] = {
        "normalizer": normalizer,
        "metric": metric,
        "count_spaces": count_spaces,
    }
    show = not quiet and not json_output
    if hyp and ref:
        result = evaluate_pairs(hyp, ref, language=params["language"], **score)
        for s in result.skipped:
            click.echo(f"warning: {s} (skipped)", err=True)
    else:
        result = _run_asr(manifest or "", params, show, **score)
    data = build_report(result, samples=bootstrap_samples, seed=seed, worst=worst)
    for path in report:
        written = write_report(data, path)
        if show:
            click.echo(f"wrote {written}", err=True)
    if json_output:
        echo_json(data["summary"])
    elif not quiet:
        click.echo(format_summary(data))
        for w in data["worst"][:3]:
            click.echo(f"worst {w['id']} ({w['score']:.3f}): {_styled_alignment(w['alignment'])}")
    if result.skipped:
        click.echo(f"{len(result.skipped)} input(s) skipped", err=True)
        sys.exit(EXIT_PARTIAL)


eval_command.params[3:3] = _TRANSCRIBE_PARAMS


@click.command("compare", short_help="Compare two JSON reports (paired bootstrap).")
@click.argument("a", type=click.Path(dir_okay=False))
@click.argument("b", type=click.Path(dir_okay=False))
@click.option(
    "--metric",
    type=click.Choice(list(METRICS)),
    default=None,
    help="Metric to compare. Default: report A's primary metric.",
)
@click.option(
    "--bootstrap-samples",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Paired bootstrap resamples.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--json", "json_output", is_flag=True, help="Print one JSON object on stdout.")
def compare_command(
    a: str, b: str, metric: str | None, bootstrap_samples: int, seed: int, json_output: bool
) -> None:
    """Compare run A (baseline) with run B on the utterances both scored.

    A and B are JSON reports written by `yuyin eval ... --report run.json`. The paired
    bootstrap resamples utterances and rescores both runs alike; the p-value is the
    two-sided chance of a difference this large if the runs were equally good.
    """
    result = compare_reports(a, b, metric=metric, samples=bootstrap_samples, seed=seed)
    if json_output:
        echo_json(result.to_dict())
        return
    t, label = result.test, result.test.metric.upper()
    click.echo(f"A  {label} {t.a:.4f}  {a}")
    click.echo(f"B  {label} {t.b:.4f}  {b}")
    click.echo(
        f"B - A  {t.difference:+.4f}  95% CI [{t.low:+.4f}, {t.high:+.4f}]  "
        f"p = {t.p_value:.3f}  ({t.utterances} utterances, {t.samples} resamples)"
    )
    click.echo(f"B better in {t.b_better:.1%} of resamples: {result.verdict}")
    if result.only_in_a or result.only_in_b:
        click.echo(f"left out: {result.only_in_a} only in A, {result.only_in_b} only in B")
    if result.settings_differ:
        click.echo("settings that differ: " + ", ".join(result.settings_differ))
