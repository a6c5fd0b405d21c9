"""Whisper through OpenAI's reference implementation, openai-whisper (issue 13).

The same weights as every other local engine: an embedded name (`tiny.en`, `base`) or a
CTranslate2 folder is imported once into a Hugging Face checkpoint
(`yuyin.train.importer`), which is exported once into openai-whisper's checkpoint file
(`yuyin.train.export_openai`) in the cache. A `.pt` file, or a folder holding `model.pt`,
is loaded as it is.

Decoding is openai-whisper's own `transcribe` (30 s windows, temperature fallback,
conditioning on the previous text); word timings come from its cross-attention DTW with the
alignment heads the export carries. Voice activity gating uses its `clip_timestamps`, so
times stay relative to the whole input. PyTorch and openai-whisper come with the
`openai-whisper` extra.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import threading
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.engines.base import EngineRun
from yuyin.engines.device import torch_device
from yuyin.engines.local_whisper import LocalWhisperEngine
from yuyin.engines.models import default_cache_dir, is_hf_whisper, resolve_model
from yuyin.engines.vad import detect_speech
from yuyin.errors import MissingDependencyError, ModelError
from yuyin.options import TranscribeOptions
from yuyin.train.export_openai import (
    EXPORTER_VERSION,
    OPENAI_CHECKPOINT_NAME,
    export_openai_whisper,
)
from yuyin.train.importer import cached_import
from yuyin.train.staging import cached_export
from yuyin.types import Segment, Word

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["OpenAIWhisperEngine", "clear_openai_whisper_cache", "load_openai_whisper_engine"]

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
_WINDOW_SAMPLES = 30 * SAMPLE_RATE
_EXTRA = "openai-whisper"
_FEATURE = "the openai-whisper engine"


class OpenAIWhisperEngine(LocalWhisperEngine):
    """Whisper in openai-whisper; one loaded model, used from one thread at a time."""

    name = "openai-whisper"

    def __init__(self, model: Any, *, model_name: str, path: Path) -> None:
        from whisper.tokenizer import LANGUAGES, get_encoding

        self.model = model
        self.model_name = model_name
        self.path = path
        self.multilingual = bool(model.is_multilingual)
        self.languages: tuple[str, ...] = (
            tuple(LANGUAGES)[: int(model.num_languages)] if self.multilingual else ("en",)
        )
        # openai-whisper reads its bundled tiktoken vocabulary (offline) without closing the
        # file; read it once here, where the ResourceWarning is silenced, and it stays cached.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            get_encoding(
                name="multilingual" if self.multilingual else "gpt2",
                num_languages=int(model.num_languages),
            )
        # One decode at a time: PyTorch already spreads one decode over every core.
        self._lock = threading.Lock()

    @property
    def device(self) -> str:
        """Where the model's weights are (`cpu`, `cuda`)."""
        return str(self.model.device.type)

    @property
    def compute_type(self) -> str:
        """The weights' numeric type (`float32`; `float16` on CUDA)."""
        return str(next(self.model.parameters()).dtype).removeprefix("torch.")

    def run(
        self,
        audio: NDArray[np.float32],
        *,
        language: str | None,
        options: TranscribeOptions,
        vad_filter: bool,
    ) -> EngineRun:
        """Start decoding 16 kHz mono audio; segments are decoded when first consumed.

        Unlike the other local engines, the whole input is one `transcribe` call with the
        speech stretches as `clip_timestamps`, which is how openai-whisper itself applies
        voice activity (its context then carries across stretches).

        Args:
            audio: 16 kHz mono float32 samples.
            language: a Whisper language code, or None to detect it (multilingual models).
            options: decoding options; `hotwords` and `batch_size` are not supported here.
            vad_filter: decode only the stretches Silero VAD marks as speech.
        """
        self.check(language, options)
        samples = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        duration = samples.size / SAMPLE_RATE
        spans = detect_speech(samples, options.vad_options) if vad_filter else None
        probability = 1.0
        if not self.multilingual:
            language = "en"
        elif language is None:
            first = samples[int(spans[0][0] * SAMPLE_RATE) :] if spans else samples
            language, probability = self.detect_language(first)
        return EngineRun(
            segments=self._decode_spans(samples, spans, language, options),
            language=language,
            language_probability=probability,
            duration=duration,
        )

    def detect_language(self, audio: NDArray[np.float32]) -> tuple[str, float]:
        """The most likely language of the first 30 s of `audio` and its probability.

        Args:
            audio: 16 kHz mono float32 samples.
        """
        import torch
        import whisper

        if not self.multilingual:
            return "en", 1.0
        window = whisper.pad_or_trim(np.ascontiguousarray(audio[:_WINDOW_SAMPLES]))
        mel = whisper.log_mel_spectrogram(window, self.model.dims.n_mels).to(self.model.device)
        with self._lock, torch.inference_mode():
            _, probabilities = self.model.detect_language(mel)
        candidates = {k: float(v) for k, v in probabilities.items() if k in self.languages}
        best = max(candidates, key=candidates.__getitem__)
        return best, candidates[best]

    def _kwargs(
        self, language: str, options: TranscribeOptions, spans: list[tuple[float, float]] | None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "verbose": None,  # never print, never draw a bar
            "language": language,
            "task": options.task if self.multilingual else "transcribe",
            "temperature": tuple(options.temperature),
            "compression_ratio_threshold": options.compression_ratio_threshold,
            "logprob_threshold": options.log_prob_threshold,
            "no_speech_threshold": options.no_speech_threshold,
            "condition_on_previous_text": options.condition_on_previous_text,
            "initial_prompt": options.initial_prompt,
            "word_timestamps": options.word_timestamps,
            "fp16": self.model.device.type == "cuda",
            # openai-whisper's beam search with one beam is not its greedy decoder.
            "beam_size": options.beam_size if options.beam_size > 1 else None,
            "patience": options.patience if options.beam_size > 1 else None,
            "best_of": options.best_of,
        }
        if options.word_timestamps:
            kwargs["hallucination_silence_threshold"] = options.hallucination_silence_threshold
        if spans is not None:
            kwargs["clip_timestamps"] = [t for span in spans for t in span]
        return kwargs

    def _decode_spans(
        self,
        samples: NDArray[np.float32],
        spans: list[tuple[float, float]] | None,
        language: str,
        options: TranscribeOptions,
    ) -> Iterator[Segment]:
        import torch

        if spans is not None and not spans:
            return  # VAD found no speech: nothing to decode
        kwargs = self._kwargs(language, options, spans)
        try:
            with self._lock, torch.inference_mode():
                result = self.model.transcribe(samples, **kwargs)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(
                f"openai-whisper failed to decode with {self.model_name!r}: {exc}",
                hint="try --engine faster-whisper; report the error if it persists",
            ) from exc
        index, last_end = 0, 0.0
        for raw in result["segments"]:
            segment = _segment(raw, index, last_end)
            if segment is not None:
                yield segment
                index, last_end = index + 1, segment.end


def _segment(raw: dict[str, Any], index: int, not_before: float) -> Segment | None:
    text = str(raw["text"])
    if not text.strip():
        return None
    words = tuple(
        Word(
            start=max(float(w["start"]), not_before),
            end=max(float(w["end"]), float(w["start"]), not_before),
            word=str(w["word"]),
            probability=min(1.0, max(0.0, float(w["probability"]))),
        )
        for w in raw.get("words", ())
    )
    start, end = max(float(raw["start"]), not_before), float(raw["end"])
    if words:
        start, end = min(start, words[0].start), max(end, words[-1].end)
    return Segment(
        start=start,
        end=max(start, end),
        text=text,
        words=words,
        id=index,
        avg_logprob=float(raw.get("avg_logprob", 0.0)),
        no_speech_prob=float(raw.get("no_speech_prob", 0.0)),
        compression_ratio=float(raw.get("compression_ratio", 0.0)),
        temperature=float(raw.get("temperature", 0.0)),
    )


# --- loading ------------------------------------------------------------------------------


def _require() -> None:
    for module, package in (("torch", "torch"), ("whisper", "openai-whisper")):
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(package, _EXTRA, _FEATURE)
    try:
        from whisper import ModelDimensions, Whisper  # noqa: F401
    except ImportError as exc:  # another package called `whisper` is installed
        raise MissingDependencyError("openai-whisper", _EXTRA, _FEATURE) from exc


def openai_checkpoint(model: str, cache_dir: Path | None = None) -> tuple[Path, str]:
    """The openai-whisper checkpoint file for `model`, exported into the cache if needed.

    Args:
        model: a `.pt` file, a folder holding `model.pt`, a Hugging Face Whisper folder,
            or anything `resolve_model` knows (`tiny.en`, `base`, a CTranslate2 folder).
        cache_dir: yuyin's cache folder (default `default_cache_dir()`).

    Returns:
        The checkpoint file and the model's display name.

    Raises:
        MissingDependencyError, ModelNotFoundError, ModelError, OutputError: from the
        resolver, the importer or the exporter.
    """
    local = Path(model).expanduser()
    if local.is_file():
        return local, model
    if (local / OPENAI_CHECKPOINT_NAME).is_file():
        return local / OPENAI_CHECKPOINT_NAME, model
    cache = cache_dir or default_cache_dir()
    if local.is_dir() and is_hf_whisper(local):
        checkpoint, name = local, model
    else:
        resolved = resolve_model(model, cache_dir=cache_dir)
        checkpoint = cached_import(resolved.path, cache, name=resolved.name)
        name = resolved.name
    file = cached_export(
        checkpoint,
        cache,
        "openai-whisper",
        export_openai_whisper,
        version=f"openai-whisper-{EXPORTER_VERSION}",
    )
    return file, name


_cache: dict[tuple[str, str], OpenAIWhisperEngine] = {}
_cache_lock = threading.Lock()


def load_openai_whisper_engine(
    model: str,
    device: str = "cpu",
    *,
    cache_dir: Path | None = None,
    shared: bool = True,
) -> OpenAIWhisperEngine:
    """Load (or reuse) Whisper in openai-whisper, importing and exporting it first if needed.

    Args:
        model: see `openai_checkpoint`.
        device: `cpu`, `cuda` or `auto`.
        cache_dir: yuyin's cache folder (default `default_cache_dir()`).
        shared: keep the engine in the per-process cache; False returns a fresh one.

    Raises:
        MissingDependencyError: torch or openai-whisper is not installed (the
            `openai-whisper` extra), or transformers for an import (the `train` extra).
        ConfigurationError: an unknown or unusable device.
        ModelNotFoundError, ModelError: an unknown model, or a checkpoint that will not load.
    """
    _require()
    where = torch_device(device, "openai-whisper")
    path, name = openai_checkpoint(model, cache_dir)
    key = (str(path.resolve()), where)
    with _cache_lock:
        engine = _cache.get(key) if shared else None
        if engine is not None:
            return engine
        engine = OpenAIWhisperEngine(_load(path, where), model_name=name, path=path)
        if shared:
            _cache[key] = engine
        return engine


def _load(path: Path, device: str) -> Any:
    import torch
    from whisper import ModelDimensions, Whisper

    log.info("loading %s with openai-whisper on %s", path, device)

    def refuse(why: str) -> ModelError:
        return ModelError(
            f"cannot load the openai-whisper checkpoint {path}: {why}",
            hint="it must hold 'dims' and 'model_state_dict' (what `yuyin models export "
            "--format openai-whisper` writes); re-export it",
        )

    # What `whisper.load_model(path)` does, plus the alignment heads the export carries
    # (load_model only knows those of its own downloadable models). Each step has its own
    # reason, because torch's own messages (a bare number for a file that is not a
    # checkpoint) do not say what is wrong.
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except OSError as exc:
        raise refuse(f"it cannot be read ({exc.strerror or exc})") from exc
    except Exception as exc:
        # torch's unpicklers raise whatever the bytes lead them to (KeyError, struct.error,
        # EOFError, UnpicklingError, RuntimeError): tell the cases apart by the file itself.
        raise refuse(_unloadable(path, exc)) from exc
    if not isinstance(checkpoint, dict):
        raise refuse(f"it holds a {type(checkpoint).__name__}, not a checkpoint dictionary")
    missing = [key for key in ("dims", "model_state_dict") if key not in checkpoint]
    if missing:
        raise refuse(
            "it has no "
            + " or ".join(repr(k) for k in missing)
            + f" (its keys: {', '.join(map(str, list(checkpoint)[:5])) or 'none'})"
        )
    try:
        model = Whisper(ModelDimensions(**checkpoint["dims"]))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise refuse(f"its 'dims' are not Whisper's dimensions ({exc})") from exc
    try:
        model.load_state_dict(checkpoint["model_state_dict"])
    except (TypeError, RuntimeError) as exc:
        raise refuse(f"its weights do not fit its 'dims' ({_brief(exc)})") from exc
    heads = checkpoint.get("alignment_heads")
    if isinstance(heads, bytes):
        try:
            model.set_alignment_heads(heads)
        except (ValueError, RuntimeError, OSError, EOFError) as exc:  # base85, gzip, shape
            raise refuse(f"its 'alignment_heads' cannot be decoded ({exc})") from exc
    return model.to(device).eval()


def _unloadable(path: Path, exc: BaseException) -> str:
    """Why `torch.load` failed on `path`, from the file (torch.save writes a zip archive)."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
        whole = zipfile.is_zipfile(path)
    except OSError as error:
        return f"it cannot be read ({error.strerror or error})"
    if head != b"PK\x03\x04":
        return "it is not a PyTorch checkpoint file"
    if not whole:
        return "it is truncated or damaged (the zip archive torch.save writes is incomplete)"
    # A whole pickled module, say: loading it would run code from the file.
    return (
        "it holds more than tensors and plain values, which torch will not unpickle "
        f"({_brief(exc)})"
    )


def _brief(exc: BaseException, limit: int = 240) -> str:
    """torch's message on one line, cut at `limit` characters (its lists can be long)."""
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).split())  # no terminal colours
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clear_openai_whisper_cache() -> None:
    """Forget every loaded openai-whisper engine (frees memory once no caller holds them)."""
    with _cache_lock:
        _cache.clear()
