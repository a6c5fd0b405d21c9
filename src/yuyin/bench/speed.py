"""`speed` and `memory`: one engine on one input, timed and scored, or watched for memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from yuyin.bench.environment import describe_environment
from yuyin.bench.memory import gpu_unavailable_reason, os_peak_rss_mb
from yuyin.bench.runs import BenchAudio, RunPlan, measure, options_to_dict, result_fields
from yuyin.engines import cuda_report, resolve_device
from yuyin.options import ModelOptions, TranscribeOptions

__all__ = ["bench_memory", "bench_speed", "gpu_index_for"]


def gpu_index_for(model_options: ModelOptions) -> int | None:
    """The GPU a run will use (to watch with NVML), or None when it runs on the CPU."""
    if model_options.device == "cpu":
        return None
    if model_options.engine == "faster-whisper":
        device, _ = resolve_device(model_options.device, model_options.compute_type)
        return model_options.device_index if device == "cuda" else None
    if model_options.device == "cuda" or cuda_report().usable:
        return model_options.device_index
    return None


def _settings(
    model_options: ModelOptions, options: TranscribeOptions, plan: RunPlan
) -> dict[str, Any]:
    return {
        "model": model_options.model,
        "engine": model_options.engine,
        "warmup": plan.warmup,
        "repeat": plan.repeat,
        "number": plan.number,
        "model_options": options_to_dict(model_options),
        "options": options_to_dict(options),
    }


def _growth(start_mb: float | None, peak_mb: float | None) -> float | None:
    """GPU memory a phase added over its start (None when NVML read nothing)."""
    if start_mb is None or peak_mb is None:
        return None
    return max(peak_mb - start_mb, 0.0)


def bench_speed(
    audio: BenchAudio,
    model_options: ModelOptions,
    options: TranscribeOptions,
    plan: RunPlan,
    *,
    on_run: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Time `plan.repeat` x `plan.number` full transcriptions after `plan.warmup` warm-ups.

    Returns:
        The report: `wall_seconds` (median seconds per transcription) with min/max/mean/
        stdev, `real_time_factor` (audio seconds per wall second), `tokens_per_second`,
        `load_seconds`, `warmup_seconds`, `wer`/`cer` (None without a reference), the text,
        the settings and the environment.

    Raises:
        YuyinError: a model that does not load, bad options.
    """
    environment = describe_environment()
    measurement = measure(audio, model_options, options, plan, on_run=on_run)
    return {
        "benchmark": "speed",
        "audio": audio.to_dict(),
        "settings": _settings(model_options, options, plan),
        "environment": environment,
        "model": model_options.model,
        **result_fields(measurement, audio, model_options.model),
    }


def bench_memory(
    audio: BenchAudio,
    model_options: ModelOptions,
    options: TranscribeOptions,
    plan: RunPlan,
    *,
    on_run: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Peak resident memory of loading the model, then of transcribing, apart; GPU memory
    and power through NVML when the run uses an NVIDIA GPU (skipped, with the reason, else).

    Returns:
        The report: `baseline_rss_mb`, `load` and `transcription` phases (seconds,
        peak_rss_mb, growth_mb, GPU figures), `peak_rss_mb`, `gpu` or `gpu_skipped`, and the
        speed fields (`wall_seconds`, `real_time_factor`, `wer`...).
    """
    environment = describe_environment()
    gpu_index = gpu_index_for(model_options)
    reason = None if gpu_index is not None else "the run uses the CPU"
    if gpu_index is not None:
        reason = gpu_unavailable_reason()
    measurement = measure(
        audio,
        model_options,
        options,
        plan,
        gpu_index=gpu_index if reason is None else None,
        on_run=on_run,
    )
    load, run = measurement.load, measurement.transcription
    gpu = None
    if reason is None and load.gpu_start_mb is not None:
        gpu = {
            "index": gpu_index,
            "baseline_mb": load.gpu_start_mb,
            "load_peak_mb": load.gpu_peak_mb,
            "load_growth_mb": _growth(load.gpu_start_mb, load.gpu_peak_mb),
            "transcription_peak_mb": run.gpu_peak_mb,
            # Above what the loaded model already held, as for resident memory below.
            "transcription_growth_mb": _growth(run.gpu_start_mb, run.gpu_peak_mb),
            "power_mean_w": run.gpu_power_mean_w,
            "power_peak_w": run.gpu_power_peak_w,
        }
    elif reason is None:
        reason = f"NVML could not read GPU {gpu_index}"
    return {
        "benchmark": "memory",
        "audio": audio.to_dict(),
        "settings": _settings(model_options, options, plan),
        "environment": environment,
        "model": model_options.model,
        "baseline_rss_mb": load.start_rss_mb,
        "load": {
            "seconds": load.seconds,
            "peak_rss_mb": load.peak_rss_mb,
            "end_rss_mb": load.end_rss_mb,
            "growth_mb": load.growth_mb,
        },
        "transcription": {
            "seconds": run.seconds,
            "peak_rss_mb": run.peak_rss_mb,
            # Above the memory the loaded model already held.
            "growth_mb": run.peak_rss_mb - run.start_rss_mb,
            "samples": run.samples,
        },
        "os_peak_rss_mb": os_peak_rss_mb(),
        "gpu": gpu,
        "gpu_skipped": reason,
        **result_fields(measurement, audio, model_options.model),
    }
