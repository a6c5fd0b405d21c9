"""`yuyin bench`: speed, memory, concurrency and engine comparisons, measured honestly."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from tqdm import tqdm

from yuyin.bench import (
    MODES,
    TABLE_FORMATS,
    BenchAudio,
    RunPlan,
    bench_compare,
    bench_concurrency,
    bench_memory,
    bench_speed,
    compare_targets,
    grid_settings,
    load_bench_audio,
    plot_report,
    render_report,
)
from yuyin.bench.grid import MODE_HELP, CellResult
from yuyin.bench.report import require_matplotlib
from yuyin.cli._common import EXIT_CODES_HELP, echo_json
from yuyin.cli.transcribe import transcribe_command
from yuyin.fileio import atomic_write_text
from yuyin.options import ModelOptions, TranscribeOptions, VadOptions

__all__ = ["CLI_ONLY_PARAMS", "bench_command"]

#: Parameters of the `yuyin bench` subcommands that do not map to an option field.
CLI_ONLY_PARAMS = frozenset(
    {
        "audio", "reference", "repeat", "number", "warmup", "json_output", "table_format",
        "plot", "quiet", "requests", "rounds", "modes", "cpu_threads_grid",
        "num_workers_grid", "top", "tolerance", "timeout", "compute_types", "only",
        "prepare", "save",
    }
)  # fmt: skip

_fields = dataclasses.fields
_OPTION_NAMES = (
    {f.name for f in _fields(ModelOptions)}
    | {f.name for f in _fields(TranscribeOptions) if f.name != "vad_options"}
    | {f"vad_{f.name}" for f in _fields(VadOptions)}
)


#: Flags only a cloud engine reads: left off the commands that run local engines only.
_CLOUD_ONLY = frozenset({"base_url", "api_key"})


def _copied(exclude: frozenset[str] = frozenset()) -> list[click.Parameter]:
    """The transcription flags of `yuyin transcribe`, so every command decodes alike."""
    return [
        copy.copy(p)
        for p in transcribe_command.params
        if p.name in _OPTION_NAMES and p.name not in exclude
    ]


def _options(params: dict[str, Any], **fixed: Any) -> tuple[TranscribeOptions, ModelOptions]:
    vad = VadOptions(**{f.name: params.pop(f"vad_{f.name}") for f in _fields(VadOptions)})
    model_fields = {f.name for f in _fields(ModelOptions)}
    mopts = ModelOptions(**{k: params.pop(k) for k in list(params) if k in model_fields}, **fixed)
    return TranscribeOptions(vad_options=vad, **params), mopts


def _ints(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter("expected whole numbers separated by commas, e.g. 1,2") from None
    if not numbers or min(numbers) < 1:
        raise click.BadParameter("give one or more numbers of 1 or more, e.g. 1,2")
    return numbers


def _names(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))


def _default_threads() -> str:
    """Powers of two up to the usable cores: 1,2 on a 2-core machine."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    values = [1]
    while values[-1] * 2 <= cores:
        values.append(values[-1] * 2)
    return ",".join(map(str, values))


def _input_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--reference",
        default=None,
        help="The known text of --audio, for WER/CER. Default: the audio's row in a "
        "fixtures.jsonl or manifest.jsonl beside it (or up to two folders above).",
    )(f)
    return click.option(
        "--audio",
        required=True,
        type=click.Path(dir_okay=False),
        help="The recording every run transcribes (any format `yuyin transcribe` reads).",
    )(f)


def _output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed(
        [
            click.option(
                "--json", "json_output", is_flag=True,
                help="Print the whole result, with settings and environment, as one JSON "
                "object on stdout.",
            ),
            click.option(
                "--format", "table_format", type=click.Choice(TABLE_FORMATS), default="table",
                show_default=True,
                help="Text output: an aligned table, or Markdown (for a README).",
            ),
            click.option(
                "--plot", type=click.Path(dir_okay=False), default=None,
                help="Also draw bar charts into this PNG file (matplotlib).",
            ),
            click.option(
                "--save", type=click.Path(dir_okay=False), default=None,
                help="Also write the whole result as JSON into this file.",
            ),
            click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
        ]
    ):  # fmt: skip
        f = decorator(f)
    return f


def _run_options(repeat: int, warmup: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        f = click.option(
            "--warmup", type=click.IntRange(min=0), default=warmup, show_default=True,
            help="Transcriptions before the measured ones; timed and reported, not counted.",
        )(f)  # fmt: skip
        f = click.option(
            "--number", type=click.IntRange(min=1), default=1, show_default=True,
            help="Transcriptions per repeat; a repeat's time is divided by this.",
        )(f)  # fmt: skip
        return click.option(
            "--repeat", type=click.IntRange(min=1), default=repeat, show_default=True,
            help="Measured repeats; min/median/max are over these.",
        )(f)  # fmt: skip

    return wrap


class _Bar:
    """A tqdm bar on stderr when it is a terminal, else nothing."""

    def __init__(self, total: int, desc: str, unit: str, enabled: bool) -> None:
        self.bar = (
            tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)
            if enabled and sys.stderr.isatty()
            else None
        )

    def update(self, *_args: Any) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass(frozen=True, slots=True)
class _Job:
    """What a subcommand measures: the decoded input, the options, the run counts.

    `plan` holds `--warmup/--repeat/--number` where the subcommand has them (concurrency
    has only `--warmup`: warm-up rounds per cell).
    """

    audio: BenchAudio
    options: TranscribeOptions
    model_options: ModelOptions
    plan: RunPlan
    json_output: bool

    def warn(self, message: str) -> None:
        """A warning on stderr, kept out of `--json` runs (stdout holds one object)."""
        if not self.json_output:
            click.echo(f"warning: {message}", err=True)


#: Measures a job, calling the step function once per unit of progress; returns the report.
_Measure = Callable[[_Job, Callable[..., None]], dict[str, Any]]


def _run(
    params: dict[str, Any],
    measure: _Measure,
    *,
    desc: str,
    unit: str,
    total: Callable[[RunPlan], int],
    reference_required: bool = False,
    **fixed: Any,
) -> None:
    """The body every subcommand shares: options and input, a progress bar, the output.

    Args:
        params: the command's remaining click parameters (input, run, output, options).
        measure: runs the benchmark on the job.
        desc: the progress bar's label.
        unit: what the bar counts.
        total: how many steps `measure` reports for a plan.
        reference_required: the benchmark refuses to run without one (no warning then:
            the error says it).
        fixed: ModelOptions fields the subcommand sets itself (e.g. the engine).
    """
    json_output, table_format = params.pop("json_output"), params.pop("table_format")
    plot, save, quiet = params.pop("plot"), params.pop("save"), params.pop("quiet")
    plan = RunPlan(**{k: params.pop(k) for k in ("warmup", "repeat", "number") if k in params})
    audio, reference = params.pop("audio"), params.pop("reference")
    options, model_options = _options(params, **fixed)
    if plot:
        # A chart that cannot be drawn should fail now, not after minutes of measuring.
        require_matplotlib()
    bench_audio = load_bench_audio(audio, reference=reference, language=options.language)
    job = _Job(bench_audio, options, model_options, plan, json_output)
    if bench_audio.reference is None and not reference_required:
        job.warn(f"no reference text for {audio}: WER not measured (give --reference)")
    bar = _Bar(total(plan), desc, unit, not quiet and not json_output)
    try:
        report = measure(job, bar.update)
    finally:
        bar.close()
    if save:
        atomic_write_text(save, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    written = plot_report(report, plot) if plot else None
    if json_output:
        echo_json(report)
        return
    click.echo(render_report(report, table_format))
    if written is not None:
        click.echo(f"wrote {written}", err=True)


def _runs(plan: RunPlan) -> int:
    """Transcriptions a plan makes: its warm-ups and every measured one."""
    return plan.warmup + plan.repeat * plan.number


@click.group(
    "bench",
    short_help="Benchmark speed, memory, concurrency; compare engines.",
    epilog=EXIT_CODES_HELP,
)
def bench_command() -> None:
    """Measure speed, memory and concurrency, and compare engines on the same weights.

    Every measured run consumes every segment; model loading and warm-up runs are timed
    apart (and reported); every result carries its WER when the reference text is known;
    the machine and library versions are recorded with every result. Real-time factor here
    is audio seconds per wall second: 10 means ten times faster than real time.

    \b
    Examples:
      yuyin bench speed --audio talk.wav --reference "the known text" -m tiny.en
      yuyin bench memory --audio talk.wav -m base --json
      yuyin bench concurrency --audio talk.wav --cpu-threads 1,2 --num-workers 1,2
      yuyin bench compare --audio talk.wav -m tiny.en --format markdown --plot cmp.png
    """


@bench_command.command(
    "speed",
    epilog=EXIT_CODES_HELP,
    short_help="Time full transcriptions: wall time, real-time factor, tokens/s, WER.",
)
@_input_options
@_run_options(repeat=5, warmup=1)
@_output_options
def speed_command(**params: Any) -> None:
    """Time full transcriptions: min/median/max wall time, real-time factor, tokens/s, WER.

    Runs --warmup transcriptions, then --repeat x --number measured ones with the model
    loaded once (its load is timed on its own). tokens/s counts the Whisper tokens of the
    text produced, per second of wall time.
    """

    def measure(job: _Job, step: Callable[..., None]) -> dict[str, Any]:
        return bench_speed(job.audio, job.model_options, job.options, job.plan, on_run=step)

    _run(params, measure, desc="speed", unit="run", total=_runs)


speed_command.params[2:2] = _copied()


@bench_command.command(
    "memory",
    epilog=EXIT_CODES_HELP,
    short_help="Peak memory of model load and transcription (GPU via NVML).",
)
@_input_options
@_run_options(repeat=1, warmup=0)
@_output_options
def memory_command(**params: Any) -> None:
    """Peak memory: model load and transcription reported apart; GPU memory and power too.

    Resident memory of this process is sampled every 10 ms in a thread (psutil) and checked
    against the operating system's high-water mark. GPU memory and power come from NVML
    when the run uses an NVIDIA GPU; otherwise they are skipped and the reason is given.
    """

    def measure(job: _Job, step: Callable[..., None]) -> dict[str, Any]:
        return bench_memory(job.audio, job.model_options, job.options, job.plan, on_run=step)

    _run(params, measure, desc="memory", unit="run", total=_runs)


memory_command.params[2:2] = _copied()


@bench_command.command(
    "concurrency",
    epilog=EXIT_CODES_HELP,
    short_help="Simultaneous requests over a cpu_threads x num_workers grid.",
)
@_input_options
@click.option(
    "--cpu-threads",
    "cpu_threads_grid",
    default=_default_threads(),
    show_default=True,
    callback=_ints,
    help="CTranslate2 threads per model: comma-separated grid values.",
)
@click.option(
    "--num-workers",
    "num_workers_grid",
    default="1,2",
    show_default=True,
    callback=_ints,
    help="CTranslate2 workers per model: comma-separated grid values.",
)
@click.option(
    "--modes",
    default=",".join(MODES),
    show_default=True,
    callback=_names,
    help="Comma-separated: " + "; ".join(f"{k}: {v}" for k, v in MODE_HELP.items()) + ".",
)
@click.option(
    "--requests",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Simultaneous requests per round.",
)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Measured rounds per cell; latencies of all rounds are pooled.",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Rounds per cell before the measured ones, run the same way; timed and reported, "
    "not counted.",
)
@click.option(
    "--top", type=click.IntRange(min=1), default=3, show_default=True, help="Best cells listed."
)
@click.option(
    "--tolerance",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.05,
    show_default=True,
    help="Recommend the cheapest cell within this share of the best throughput.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=1800,
    show_default=True,
    help="Seconds before a cell's worker process is stopped (the cell fails).",
)
@_output_options
def concurrency_command(
    cpu_threads_grid: tuple[int, ...],
    num_workers_grid: tuple[int, ...],
    modes: tuple[str, ...],
    requests: int,
    rounds: int,
    top: int,
    tolerance: float,
    timeout: float,
    **params: Any,
) -> None:
    """N simultaneous requests over a grid of modes x --cpu-threads x --num-workers.

    Each cell runs in a fresh process (its memory is its own; out of memory or a crash
    fails that cell only): --warmup rounds first (reported, not counted), then --rounds
    measured ones, giving latency mean ± stdev, throughput, peak memory and WER. The
    summary lists the top cells by throughput and the cheapest cell (fewest CPU threads
    asked for: cpu_threads x num_workers x models loaded) within --tolerance of the best.
    """
    settings = grid_settings(modes, cpu_threads_grid, num_workers_grid)

    def measure(job: _Job, step: Callable[..., None]) -> dict[str, Any]:
        def on_cell(cell: CellResult) -> None:
            step()
            if not cell.ok:
                job.warn(f"{cell.setting.label} failed: {cell.error}")

        return bench_concurrency(
            job.audio,
            job.model_options,
            job.options,
            settings,
            requests=requests,
            rounds=rounds,
            warmup=job.plan.warmup,
            top=top,
            tolerance=tolerance,
            timeout=timeout,
            on_cell=on_cell,
        )

    _run(
        params,
        measure,
        desc="concurrency",
        unit="cell",
        total=lambda _plan: len(settings),
        cpu_threads=0,
        num_workers=1,
    )


concurrency_command.params[2:2] = _copied(_CLOUD_ONLY | {"cpu_threads", "num_workers", "engine"})


@bench_command.command(
    "compare",
    epilog=EXIT_CODES_HELP,
    short_help="Every local engine on the same audio and weights, side by side.",
)
@_input_options
@_run_options(repeat=3, warmup=1)
@click.option(
    "--compute-types",
    default="int8,float32",
    show_default=True,
    callback=_names,
    help="faster-whisper rows, one per numeric type; the plain-library row uses the first.",
)
@click.option(
    "--only",
    default="",
    show_default="all local engines",
    callback=_names,
    help="Comma-separated rows to run: faster-whisper, faster-whisper-plain, or engine "
    "names (`yuyin engines`).",
)
@click.option(
    "--prepare/--no-prepare",
    default=True,
    show_default=True,
    help="Load each engine once before measuring, so converting the weights on first use "
    "is not timed as loading.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=1800,
    show_default=True,
    help="Seconds before an engine's worker process is stopped (its row fails).",
)
@_output_options
def compare_command(
    compute_types: tuple[str, ...],
    only: tuple[str, ...],
    prepare: bool,
    timeout: float,
    **params: Any,
) -> None:
    """The same audio, weights and decoding options through every local engine installed.

    Rows: yuyin's faster-whisper at each --compute-types, the faster-whisper library called
    directly, then every other local engine in the registry (openai-whisper, whisper.cpp,
    sherpa-onnx, transformers... when installed; each converts the weights on first use).
    Each row runs in its own process: wall time, real-time factor, tokens/s, peak memory
    and WER side by side. An engine that is missing or fails is a row with its error.
    A reference is required: give --reference unless --audio is a listed fixture.
    """
    targets = compare_targets(compute_types, only)

    def measure(job: _Job, step: Callable[..., None]) -> dict[str, Any]:
        def on_row(row: dict[str, Any]) -> None:
            step()
            if not row["ok"]:
                job.warn(f"{row['label']}: {row['error']['message']}")

        return bench_compare(
            job.audio,
            job.model_options,
            job.options,
            job.plan,
            targets=targets,
            prepare=prepare,
            timeout=timeout,
            on_row=on_row,
        )

    _run(
        params,
        measure,
        desc="compare",
        unit="engine",
        total=lambda _plan: len(targets),
        reference_required=True,
        engine="faster-whisper",
        compute_type="auto",
    )


compare_command.params[2:2] = _copied(_CLOUD_ONLY | {"engine", "compute_type"})
