"""Timed transcriptions: the audio and its reference, the transcriber under test, the runs.

Every measured run consumes every segment before the clock stops (faster-whisper's segments
are a lazy generator: timing `transcribe()` alone times almost nothing). Model loading is
timed apart, warm-up runs are timed and reported but left out of the statistics, and every
result is scored against the reference text so a faster setting that transcribes worse
shows it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.audio import SAMPLE_RATE, decode_audio
from yuyin.bench.memory import MemoryPeak, MemorySampler
from yuyin.bench.stats import summarize
from yuyin.engines import load_engine, resolve_device, resolve_model
from yuyin.engines.faster_whisper import faster_whisper_arguments
from yuyin.errors import ConfigurationError, ModelError, YuyinError
from yuyin.eval import score_texts
from yuyin.languages import resolve_language
from yuyin.options import ModelOptions, TranscribeOptions, VadOptions
from yuyin.transcribe import transcribe, validate_options

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from tokenizers import Tokenizer

__all__ = [
    "VARIANTS",
    "BenchAudio",
    "Measurement",
    "RunPlan",
    "Transcriber",
    "count_tokens",
    "find_reference",
    "load_bench_audio",
    "load_transcriber",
    "measure",
    "model_options_from_dict",
    "options_to_dict",
    "result_fields",
    "score",
    "transcribe_options_from_dict",
    "worst_score",
]

#: How a transcription is run: through yuyin, or with the faster-whisper library directly.
VARIANTS: tuple[str, ...] = ("yuyin", "plain")

# Manifests searched for a committed fixture's known text, nearest folder first.
_MANIFESTS = ("fixtures.jsonl", "manifest.jsonl")


@dataclass(frozen=True, slots=True)
class BenchAudio:
    """The input every run transcribes, decoded once.

    Attributes:
        path: the media file.
        samples: 16 kHz mono float32 samples.
        reference: the known text, when there is one.
        reference_source: where the reference came from (`--reference`, a manifest path).
        language: the reference's language, when known (chooses normaliser and metric).
    """

    path: str
    samples: NDArray[np.float32]
    reference: str | None = None
    reference_source: str | None = None
    language: str | None = None

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.size / SAMPLE_RATE

    def to_dict(self) -> dict[str, Any]:
        """What a report records about the input."""
        return {
            "path": self.path,
            "duration": round(self.duration, 3),
            "reference": self.reference,
            "reference_source": self.reference_source,
            "language": self.language,
        }


def find_reference(path: str | Path) -> tuple[str, str | None, str] | None:
    """The known text of a committed fixture: its row in a `fixtures.jsonl` or
    `manifest.jsonl` in the audio's folder or the two above it.

    Returns:
        (text, language, manifest path), or None when no manifest lists the file.
    """
    audio = Path(path).resolve()
    for folder in [audio.parent, *list(audio.parents)[1:3]]:
        for name in _MANIFESTS:
            manifest = folder / name
            if not manifest.is_file():
                continue
            for line in manifest.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(row, dict) or not isinstance(row.get("audio"), str):
                    continue
                if (folder / row["audio"]).resolve() == audio and isinstance(row.get("text"), str):
                    return row["text"], row.get("language"), str(manifest)
    return None


def load_bench_audio(
    path: str | Path, *, reference: str | None = None, language: str | None = None
) -> BenchAudio:
    """Decode the input and find its reference (given, or a committed fixture's text).

    Args:
        path: a media file.
        reference: the known text; None looks it up with `find_reference`.
        language: the language of the speech, if known.

    Raises:
        ConfigurationError: an empty reference (every error rate against it is meaningless).
        MediaNotFoundError, AudioDecodeError: the file cannot be used.
    """
    if reference is not None and not reference.strip():
        raise ConfigurationError(
            "--reference is empty", hint="give the words spoken in the audio, or leave it out"
        )
    samples, info = decode_audio(path)
    source: str | None = "--reference" if reference is not None else None
    ref_language = None
    if reference is None:
        found = find_reference(path)
        if found is not None:
            reference, ref_language, source = found
    code = resolve_language(language).code if language else None
    return BenchAudio(info.path, samples, reference, source, code or ref_language)


def score(reference: str | None, hypothesis: str, language: str | None) -> dict[str, Any]:
    """WER and CER of one hypothesis (normalised as `yuyin eval` does), or nulls without a
    reference; `metric` names the one to read first (CER for Chinese, WER otherwise)."""
    if reference is None:
        return {"wer": None, "cer": None, "metric": None, "error_rate": None}
    result = score_texts([reference], [hypothesis], language=language)
    return {
        "wer": result.score("wer"),
        "cer": result.score("cer"),
        "metric": result.metric,
        "error_rate": result.score(),
    }


def worst_score(
    reference: str | None, hypotheses: Sequence[str], language: str | None
) -> dict[str, Any]:
    """`score` of the hypothesis that scores worst (by the language's own metric), so that
    one bad run among identical ones shows; nulls without a reference."""
    scores = [score(reference, h, language) for h in hypotheses] or [score(None, "", language)]
    return max(scores, key=lambda s: s["error_rate"] if s["error_rate"] is not None else 0.0)


@functools.lru_cache(maxsize=4)
def _tokenizer(path: str) -> Tokenizer:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


def count_tokens(text: str, model: str) -> int | None:
    """Whisper BPE tokens in `text` with the model's own tokenizer (None when unknown).

    Timestamp and other special tokens are not counted: this is the text decoded.
    """
    try:
        folder = Path(model) if Path(model).is_dir() else resolve_model(model).path
    except YuyinError:
        return None
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.is_file():
        return None
    tokenizer = _tokenizer(str(tokenizer_file))
    pieces = [t.strip() for t in text.split("\n") if t.strip()]
    return sum(len(tokenizer.encode(" " + p, add_special_tokens=False).ids) for p in pieces)


def _text_if_not_finite(value: Any) -> Any:
    """Infinities as text (`"inf"`): strict JSON has no Infinity."""
    if isinstance(value, dict):
        return {k: _text_if_not_finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text_if_not_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, str) else value


def options_to_dict(options: TranscribeOptions | ModelOptions) -> dict[str, Any]:
    """An option object as strict-JSON data (for worker processes and reports)."""
    data = dataclasses.asdict(options)
    data.pop("api_key", None)  # never into a report
    result: dict[str, Any] = _text_if_not_finite(data)
    return result


def model_options_from_dict(data: dict[str, Any]) -> ModelOptions:
    """Rebuild `ModelOptions` from `options_to_dict` output."""
    return ModelOptions(**data)


# TranscribeOptions fields holding text; every other text value is a number written as text.
_TEXT_FIELDS = frozenset({"language", "zh_script", "task", "initial_prompt", "hotwords"})


def transcribe_options_from_dict(data: dict[str, Any]) -> TranscribeOptions:
    """Rebuild `TranscribeOptions` from `options_to_dict` output."""
    fields = {k: v if k in _TEXT_FIELDS else _number(v) for k, v in data.items()}
    fields["temperature"] = tuple(_number(t) for t in data["temperature"])
    fields["vad_options"] = VadOptions(**{k: _number(v) for k, v in data["vad_options"].items()})
    return TranscribeOptions(**fields)


@dataclass(frozen=True, slots=True)
class Transcriber:
    """A loaded model ready to transcribe the benchmark audio, with what it runs on.

    Attributes:
        run: transcribes the audio once, consuming every segment; returns the text.
        engine: the engine name.
        variant: `yuyin` or `plain` (faster-whisper called directly).
        device: where it runs (`cpu`, `cuda`), when known.
        compute_type: its numeric type (`int8`, `float32`...), when known.
    """

    run: Callable[[], str]
    engine: str
    variant: str
    device: str | None
    compute_type: str | None


def _engine_attribute(engine: Any, name: str, model_name: str) -> str | None:
    """An engine's `name` attribute, else its model's `model_name` (a torch dtype/device)."""
    value = getattr(engine, name, None)
    if value is None:
        value = getattr(getattr(engine, "model", None), model_name, None)
    return str(value).removeprefix("torch.") if value is not None else None


def _plain_faster_whisper(
    audio: NDArray[np.float32], model_options: ModelOptions, options: TranscribeOptions
) -> Transcriber:
    """faster-whisper called directly (only the weights' path comes from yuyin)."""
    import faster_whisper

    device, compute_type = resolve_device(model_options.device, model_options.compute_type)
    path = resolve_model(model_options.model).path
    try:
        model = faster_whisper.WhisperModel(
            str(path),
            device=device,
            device_index=model_options.device_index,
            compute_type=compute_type,
            cpu_threads=model_options.cpu_threads,
            num_workers=model_options.num_workers,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(f"faster-whisper cannot load {path}: {exc}") from exc
    duration = audio.size / SAMPLE_RATE
    # The same decisions and arguments as yuyin's engine, so both decode the same windows.
    vad_filter = options.gates_with_vad(duration)
    vad = dataclasses.asdict(options.vad_options)
    kwargs = faster_whisper_arguments(
        options, resolve_language(options.language).code, vad_filter=vad_filter
    )
    if options.batch_size > 0:
        pipeline = faster_whisper.BatchedInferencePipeline(model)
        vad.pop("max_speech_duration_s")
        kwargs.pop("condition_on_previous_text")  # batches decode windows independently

        def run() -> str:
            segments, _ = pipeline.transcribe(
                audio, batch_size=options.batch_size, vad_parameters=vad, **kwargs
            )
            return " ".join(s.text.strip() for s in segments)

    else:

        def run() -> str:
            segments, _ = model.transcribe(audio, vad_parameters=vad, **kwargs)
            return " ".join(s.text.strip() for s in segments)

    return Transcriber(run, "faster-whisper", "plain", device, compute_type)


def load_transcriber(
    audio: NDArray[np.float32],
    model_options: ModelOptions,
    options: TranscribeOptions,
    *,
    variant: str = "yuyin",
) -> Transcriber:
    """Load a model (never from the per-process cache) and return a ready transcriber.

    Args:
        audio: the samples every run transcribes.
        model_options: engine, model, device, compute type, threads.
        options: decoding options (the same for every engine).
        variant: `yuyin` (yuyin.transcribe on the engine) or `plain` (faster-whisper's
            own `WhisperModel.transcribe`, no yuyin code in the timed path).

    Raises:
        ConfigurationError: an unknown variant, or `plain` with another engine.
        YuyinError: whatever loading the engine raises.
    """
    validate_options(options)
    if variant not in VARIANTS:
        raise ConfigurationError(
            f"unknown variant {variant!r}", hint="use one of: " + ", ".join(VARIANTS)
        )
    if variant == "plain":
        if model_options.engine != "faster-whisper":
            raise ConfigurationError(
                "the plain variant calls the faster-whisper library itself",
                hint="use --engine faster-whisper with it",
            )
        return _plain_faster_whisper(audio, model_options, options)
    engine = load_engine(model_options, shared=False)
    device: str | None
    compute_type: str | None
    if model_options.engine == "faster-whisper":
        device, compute_type = resolve_device(model_options.device, model_options.compute_type)
    else:
        device = _engine_attribute(engine, "device", "device")
        compute_type = _engine_attribute(engine, "compute_type", "dtype")

    def run() -> str:
        return transcribe(audio, engine=engine, options=options).text

    return Transcriber(run, model_options.engine, "yuyin", device, compute_type)


@dataclass(frozen=True, slots=True)
class RunPlan:
    """How many runs, in the manner of `timeit`.

    Attributes:
        warmup: untimed-for-statistics runs first (timed and reported on their own).
        repeat: timed repeats; the statistics are over these.
        number: transcriptions per repeat; a repeat's time is divided by it.
    """

    warmup: int = 1
    repeat: int = 5
    number: int = 1

    def check(self) -> None:
        """Raise ConfigurationError for counts that cannot measure anything."""
        if self.warmup < 0 or self.repeat < 1 or self.number < 1:
            raise ConfigurationError(
                "--repeat and --number must be 1 or more, --warmup 0 or more",
                hint="e.g. --repeat 5 --number 1 --warmup 1",
            )


@dataclass(frozen=True, slots=True)
class Measurement:
    """A model's load and its timed transcriptions of one input.

    Attributes:
        engine: the engine name.
        variant: `yuyin` or `plain`.
        device: where it ran, when known.
        compute_type: its numeric type, when known.
        load: the model load: seconds and memory.
        warmup_seconds: each warm-up transcription's seconds (not in the statistics).
        run_seconds: seconds per transcription in each repeat.
        texts: the text of each repeat's last transcription.
        transcription: memory (and GPU power) over every transcription, warm-up included.
        run_cpu_seconds: CPU seconds (all threads of the process) per transcription in each
            repeat: unlike wall time, barely moved by other work on a shared machine.
    """

    engine: str
    variant: str
    device: str | None
    compute_type: str | None
    load: MemoryPeak
    warmup_seconds: tuple[float, ...]
    run_seconds: tuple[float, ...]
    texts: tuple[str, ...]
    transcription: MemoryPeak
    run_cpu_seconds: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (what a worker process sends back)."""
        return {
            "engine": self.engine,
            "variant": self.variant,
            "device": self.device,
            "compute_type": self.compute_type,
            "load": self.load.to_dict(),
            "warmup_seconds": list(self.warmup_seconds),
            "run_seconds": list(self.run_seconds),
            "texts": list(self.texts),
            "transcription": self.transcription.to_dict(),
            "run_cpu_seconds": list(self.run_cpu_seconds),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        """Rebuild a measurement from `to_dict` output."""

        def peak(d: dict[str, Any]) -> MemoryPeak:
            return MemoryPeak(**{k: v for k, v in d.items() if k != "growth_mb"})

        return cls(
            engine=data["engine"],
            variant=data["variant"],
            device=data["device"],
            compute_type=data["compute_type"],
            load=peak(data["load"]),
            warmup_seconds=tuple(data["warmup_seconds"]),
            run_seconds=tuple(data["run_seconds"]),
            texts=tuple(data["texts"]),
            transcription=peak(data["transcription"]),
            run_cpu_seconds=tuple(data.get("run_cpu_seconds", ())),
        )


def measure(
    audio: BenchAudio,
    model_options: ModelOptions,
    options: TranscribeOptions,
    plan: RunPlan,
    *,
    variant: str = "yuyin",
    gpu_index: int | None = None,
    on_run: Callable[[], None] | None = None,
) -> Measurement:
    """Load a model, then time warm-up and measured transcriptions of `audio`.

    Args:
        audio: the input.
        model_options: engine, model and hardware.
        options: decoding options.
        plan: warm-up, repeat and number counts.
        variant: `yuyin` or `plain` (see `load_transcriber`).
        gpu_index: sample this NVIDIA GPU's memory and power too.
        on_run: called after each transcription (progress bars).

    Raises:
        YuyinError: a model that does not load, bad options.
    """
    plan.check()
    with MemorySampler(gpu_index=gpu_index) as loading:
        transcriber = load_transcriber(audio.samples, model_options, options, variant=variant)
    warmups: list[float] = []
    runs: list[float] = []
    cpu: list[float] = []
    texts: list[str] = []
    with MemorySampler(gpu_index=gpu_index) as running:
        for _ in range(plan.warmup):
            started = time.perf_counter()
            transcriber.run()
            warmups.append(time.perf_counter() - started)
            if on_run is not None:
                on_run()
        for _ in range(plan.repeat):
            text = ""
            cpu_started = time.process_time()
            started = time.perf_counter()
            for _ in range(plan.number):
                text = transcriber.run()
                if on_run is not None:
                    on_run()
            runs.append((time.perf_counter() - started) / plan.number)
            cpu.append((time.process_time() - cpu_started) / plan.number)
            texts.append(text)
    return Measurement(
        engine=transcriber.engine,
        variant=transcriber.variant,
        device=transcriber.device,
        compute_type=transcriber.compute_type,
        load=loading.result,
        warmup_seconds=tuple(warmups),
        run_seconds=tuple(runs),
        texts=tuple(texts),
        transcription=running.result,
        run_cpu_seconds=tuple(cpu),
    )


def result_fields(measurement: Measurement, audio: BenchAudio, model: str) -> dict[str, Any]:
    """The fields every speed result carries: wall times, real-time factor, tokens/s, memory,
    and the worst WER over the measured runs (the same for a deterministic decoder)."""
    wall = summarize(measurement.run_seconds)
    worst = worst_score(audio.reference, measurement.texts, audio.language)
    text = measurement.texts[-1]
    tokens = count_tokens(text, model)
    peak = max(measurement.load.peak_rss_mb, measurement.transcription.peak_rss_mb)
    return {
        "engine": measurement.engine,
        "variant": measurement.variant,
        "device": measurement.device,
        "compute_type": measurement.compute_type,
        "load_seconds": measurement.load.seconds,
        "warmup_seconds": list(measurement.warmup_seconds),
        "wall_seconds": wall.median,
        "wall_seconds_min": wall.min,
        "wall_seconds_max": wall.max,
        "wall_seconds_mean": wall.mean,
        "wall_seconds_stdev": wall.stdev,
        "run_seconds": list(measurement.run_seconds),
        # CPU time of every thread in the process: the figure to trust on a busy machine.
        "cpu_seconds": (
            summarize(measurement.run_cpu_seconds).median if measurement.run_cpu_seconds else None
        ),
        # Audio seconds per wall second (issue 10's definition: higher is faster).
        "real_time_factor": audio.duration / wall.median if wall.median > 0 else None,
        "tokens": tokens,
        "tokens_per_second": tokens / wall.median if tokens is not None and wall.median else None,
        "peak_rss_mb": peak,
        **worst,
        "distinct_texts": len(set(measurement.texts)),
        "text": text,
    }
