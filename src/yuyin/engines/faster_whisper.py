"""The default engine: Whisper through faster-whisper (CTranslate2), with a per-process cache."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faster_whisper

from yuyin.engines.base import EngineRun, check_english_only
from yuyin.engines.device import resolve_device
from yuyin.engines.models import ResolvedModel, resolve_model
from yuyin.engines.vad import to_faster_whisper
from yuyin.errors import ModelError
from yuyin.options import ModelOptions, TranscribeOptions
from yuyin.types import Segment, Word

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["FasterWhisperEngine", "clear_model_cache", "faster_whisper_arguments", "load_engine"]

log = logging.getLogger(__name__)


class FasterWhisperEngine:
    """Whisper on CTranslate2: one loaded model, safe to share between threads."""

    name = "faster-whisper"

    def __init__(self, model: faster_whisper.WhisperModel, resolved: ResolvedModel) -> None:
        self.model = model
        self.model_name = resolved.name
        self.multilingual = bool(model.model.is_multilingual)
        self.path = resolved.path
        #: Extra `WhisperModel.transcribe` arguments, applied last (a streaming copy of the
        #: engine sets `without_timestamps`); empty for ordinary use.
        self.overrides: dict[str, Any] = {}
        self._batched: faster_whisper.BatchedInferencePipeline | None = None

    def check(self, language: str | None, options: TranscribeOptions) -> None:
        """Reject requests an English-only model cannot serve, before any decoding."""
        if self.multilingual:
            return
        check_english_only(self.model_name, language, options)

    def run(
        self,
        audio: NDArray[np.float32],
        *,
        language: str | None,
        options: TranscribeOptions,
        vad_filter: bool,
    ) -> EngineRun:
        """Start decoding; segments are decoded lazily as the iterator is consumed."""
        self.check(language, options)
        kwargs = {
            **faster_whisper_arguments(
                options, language if self.multilingual else "en", vad_filter=vad_filter
            ),
            **self.overrides,
        }
        if options.batch_size > 0:
            if self._batched is None:
                self._batched = faster_whisper.BatchedInferencePipeline(self.model)
            vad = dataclasses.asdict(options.vad_options)
            # The batched pipeline caps chunks at its 30 s window itself.
            vad.pop("max_speech_duration_s")
            kwargs.pop("condition_on_previous_text")  # batches decode windows independently
            segments, info = self._batched.transcribe(
                audio, batch_size=options.batch_size, vad_parameters=vad, **kwargs
            )
        else:
            segments, info = self.model.transcribe(
                audio, vad_parameters=to_faster_whisper(options.vad_options), **kwargs
            )
        return EngineRun(
            segments=_convert(segments),
            language=info.language,
            language_probability=float(info.language_probability),
            duration=float(info.duration),
        )


def faster_whisper_arguments(
    options: TranscribeOptions, language: str | None, *, vad_filter: bool
) -> dict[str, Any]:
    """`WhisperModel.transcribe` keyword arguments for `options` (VAD parameters apart)."""
    return {
        "language": language,
        "task": options.task,
        "beam_size": options.beam_size,
        "best_of": options.best_of,
        "patience": options.patience,
        "temperature": list(options.temperature),
        "compression_ratio_threshold": options.compression_ratio_threshold,
        "log_prob_threshold": options.log_prob_threshold,
        "no_speech_threshold": options.no_speech_threshold,
        "condition_on_previous_text": options.condition_on_previous_text,
        "initial_prompt": options.initial_prompt,
        "hotwords": options.hotwords,
        "word_timestamps": options.word_timestamps,
        "vad_filter": vad_filter,
        "hallucination_silence_threshold": options.hallucination_silence_threshold,
    }


def _convert(segments: Iterable[Any]) -> Iterator[Segment]:
    for index, seg in enumerate(segments):
        words = tuple(
            Word(float(w.start), float(w.end), w.word, float(w.probability))
            for w in (seg.words or ())
        )
        yield Segment(
            start=float(seg.start),
            end=float(seg.end),
            text=seg.text,
            words=words,
            id=index,
            avg_logprob=float(seg.avg_logprob),
            no_speech_prob=float(seg.no_speech_prob),
            compression_ratio=float(seg.compression_ratio),
            temperature=float(seg.temperature or 0.0),
        )


_cache: dict[tuple[object, ...], FasterWhisperEngine] = {}
_cache_lock = threading.Lock()


def load_engine(
    options: ModelOptions, *, cache_dir: Path | None = None, shared: bool = True
) -> FasterWhisperEngine:
    """Load (or reuse) a model; one instance per name, device, compute type and threads.

    Args:
        options: which model and hardware.
        cache_dir: model cache folder (default `default_cache_dir()`).
        shared: keep the model in the per-process cache; False returns a fresh instance
            whose lifetime the caller manages (e.g. a server unloading idle models).

    Raises:
        ConfigurationError: an unsupported device / compute type combination.
        ModelNotFoundError, ModelError, MissingDependencyError: see `resolve_model`.
    """
    device, compute_type = resolve_device(options.device, options.compute_type)
    resolved = resolve_model(options.model, cache_dir=cache_dir)
    key = (
        str(resolved.path),
        device,
        options.device_index,
        compute_type,
        options.cpu_threads,
        options.num_workers,
    )
    with _cache_lock:
        engine = _cache.get(key) if shared else None
        if engine is not None:
            return engine
        log.info(
            "loading %s from %s on %s (%s)", resolved.name, resolved.path, device, compute_type
        )
        try:
            model = faster_whisper.WhisperModel(
                str(resolved.path),
                device=device,
                device_index=options.device_index,
                compute_type=compute_type,
                cpu_threads=options.cpu_threads,
                num_workers=options.num_workers,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(
                f"cannot load model {resolved.name!r} from {resolved.path}: {exc}",
                hint="run `yuyin doctor`; for CUDA errors try --device cpu",
            ) from exc
        engine = FasterWhisperEngine(model, resolved)
        if shared:
            _cache[key] = engine
        return engine


def clear_model_cache() -> None:
    """Forget every loaded model (frees memory once no caller holds them)."""
    with _cache_lock:
        _cache.clear()
