"""`compare`: the same audio, weights and decoding options through every local engine here.

Rows, in order: yuyin's faster-whisper at each compute type (int8 and float32 by default),
the faster-whisper library called directly (no yuyin code in the timed path, at the first
compute type), then every other local engine in `yuyin.engines.ENGINES` — so an engine added
to the registry shows up here without a change. Cloud engines are left out (their speed is
the network's). Each row runs in its own worker process: its memory is its own, and an
engine that is not installed, fails to load or crashes is a row with its error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from yuyin.bench.environment import describe_environment
from yuyin.bench.runs import (
    BenchAudio,
    Measurement,
    RunPlan,
    options_to_dict,
    result_fields,
)
from yuyin.bench.speed import gpu_index_for
from yuyin.bench.worker import run_worker
from yuyin.engines import ENGINES
from yuyin.errors import ConfigurationError, YuyinError
from yuyin.options import ModelOptions, TranscribeOptions

__all__ = ["RESULT_KEYS", "Target", "bench_compare", "compare_targets"]

#: The faster-whisper library called directly, as a row name.
PLAIN = "faster-whisper-plain"

#: Every row carries these keys (None where a failed row has no value).
RESULT_KEYS: tuple[str, ...] = (
    "engine", "variant", "device", "compute_type", "load_seconds", "warmup_seconds",
    "wall_seconds", "wall_seconds_min", "wall_seconds_max", "wall_seconds_mean",
    "wall_seconds_stdev", "run_seconds", "cpu_seconds", "real_time_factor", "tokens",
    "tokens_per_second", "peak_rss_mb", "wer", "cer", "metric", "error_rate", "distinct_texts",
    "text",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Target:
    """One row to measure.

    Attributes:
        name: what `--engine` selects it by (`faster-whisper`, `faster-whisper-plain`, an
            engine name).
        label: the row's name in tables (`faster-whisper int8`).
        engine: the registry engine that runs it.
        variant: `yuyin` or `plain`.
        compute_type: asked-for numeric type (`auto` lets the engine choose).
        skip: why it cannot run here (not installed), or None.
    """

    name: str
    label: str
    engine: str
    variant: str
    compute_type: str
    skip: str | None = None


def compare_targets(
    compute_types: Sequence[str] = ("int8", "float32"), only: Sequence[str] = ()
) -> list[Target]:
    """The rows to measure: faster-whisper at each compute type, the plain library, and
    every other local engine in the registry (installed or not: a missing one is a row
    that says so).

    Args:
        compute_types: faster-whisper's numeric types, one row each.
        only: keep rows whose name is listed (empty keeps all).

    Raises:
        ConfigurationError: no compute type, or a name in `only` that matches no row.
    """
    if not compute_types:
        raise ConfigurationError("no compute type given", hint="e.g. --compute-types int8,float32")
    targets = [
        Target("faster-whisper", f"faster-whisper {ct}", "faster-whisper", "yuyin", ct)
        for ct in compute_types
    ]
    targets.append(
        Target(
            PLAIN,
            f"faster-whisper library {compute_types[0]}",
            "faster-whisper",
            "plain",
            compute_types[0],
        )
    )
    for name, info in ENGINES.items():
        if name == "faster-whisper" or not info.local:
            continue
        skip = None
        if not info.installed:
            skip = f"not installed: pip install 'yuyin[{info.extra}]'"
        targets.append(Target(name, name, name, "yuyin", "auto", skip))
    if only:
        names = {t.name for t in targets}
        unknown = [n for n in only if n not in names]
        if unknown:
            raise ConfigurationError(
                "no local engine called " + ", ".join(repr(n) for n in unknown),
                hint="choose from: " + ", ".join(dict.fromkeys(t.name for t in targets)),
            )
        targets = [t for t in targets if t.name in only]
    return targets


def _failed_row(target: Target, error: YuyinError) -> dict[str, Any]:
    return {
        "name": target.name,
        "label": target.label,
        **dict.fromkeys(RESULT_KEYS),
        "engine": target.engine,
        "variant": target.variant,
        "compute_type": target.compute_type,
        "ok": False,
        "error": {"type": type(error).__name__, "message": error.message, "hint": error.hint},
    }


def bench_compare(
    audio: BenchAudio,
    model_options: ModelOptions,
    options: TranscribeOptions,
    plan: RunPlan,
    *,
    targets: Sequence[Target],
    prepare: bool = True,
    timeout: float | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Measure every target in its own worker process, one after another.

    Args:
        audio: the input (with its reference: no row without its WER).
        model_options: the model, device and threads every engine gets.
        options: decoding options every engine gets.
        plan: warm-up, repeat and number counts per engine.
        targets: rows from `compare_targets`.
        prepare: load each engine once in a throwaway worker first, so conversions of
            the weights on first use are not timed as loading.
        timeout: seconds before a worker is killed.
        on_row: called with each finished row (progress).

    Raises:
        ConfigurationError: no reference text (a comparison without WER is not one).
    """
    if audio.reference is None:
        raise ConfigurationError(
            f"no reference text for {audio.path}: every engine's result needs its WER",
            hint="give the known text with --reference",
        )
    plan.check()
    environment = describe_environment()
    rows: list[dict[str, Any]] = []
    for target in targets:
        mopts = dataclasses.replace(
            model_options, engine=target.engine, compute_type=target.compute_type
        )
        job: dict[str, Any] = {
            "job": "measure",
            "audio": audio.path,
            "model_options": options_to_dict(mopts),
            "options": options_to_dict(options),
            "plan": dataclasses.asdict(plan),
            "variant": target.variant,
            "gpu_index": None,
        }
        try:
            if target.skip:
                raise YuyinError(target.skip)
            job["gpu_index"] = gpu_index_for(mopts)
            if prepare:
                run_worker({**job, "load_only": True}, timeout=timeout)
            measurement = Measurement.from_dict(run_worker(job, timeout=timeout))
            row = {
                "name": target.name,
                "label": target.label,
                **result_fields(measurement, audio, model_options.model),
                "ok": True,
                "error": None,
            }
        except YuyinError as exc:
            row = _failed_row(target, exc)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return {
        "benchmark": "compare",
        "audio": audio.to_dict(),
        "settings": {
            "model": model_options.model,
            "warmup": plan.warmup,
            "repeat": plan.repeat,
            "number": plan.number,
            "prepare": prepare,
            "model_options": options_to_dict(model_options),
            "options": options_to_dict(options),
        },
        "environment": environment,
        "model": model_options.model,
        "engines": rows,
        "skipped": [
            {"engine": name, "reason": "not a local engine (a cloud service)"}
            for name, info in ENGINES.items()
            if not info.local
        ],
    }
