"""Whisper through whisper.cpp, via the pywhispercpp bindings (issue 13).

The same weights as every other local engine: an embedded name (`tiny.en`, `base`) or a
CTranslate2 folder is imported once into a Hugging Face checkpoint
(`yuyin.train.importer`), which is exported once into a ggml model file
(`yuyin.train.export_ggml`) in the cache, in the weight type the compute type asks for
(`auto`/`float16`: f16, `float32`: f32, `int8`: q8_0, or a ggml name: f16, f32, q8_0,
q4_0). A ggml `.bin` file, or a folder holding one, is loaded as it is.

Decoding is whisper.cpp's `whisper_full` (greedy or beam search, temperature fallback on
its entropy and log-probability thresholds) with the threads set; segment times are
whisper.cpp's, and word times come from its token-level timestamps (each token's time from
the timestamp-token probabilities), grouped into words here. The bindings are used at their
C level (`_pywhispercpp`, which pywhispercpp's own `Model` wraps) because `Model` fixes
greedy or beam search for its lifetime and cannot report a failed load. whisper.cpp's log
goes to the `yuyin.engines.whispercpp` logger, never to the terminal. The wheel is built
for the CPU only. pywhispercpp comes with the `whispercpp` extra.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.engines.local_whisper import LocalWhisperEngine, Pieces
from yuyin.engines.models import default_cache_dir, resolve_model
from yuyin.errors import ConfigurationError, MissingDependencyError, ModelError
from yuyin.languages import UNSPACED_LANGUAGES
from yuyin.options import TranscribeOptions
from yuyin.train.export_ggml import GGML_DTYPES, GGML_EXPORTER_VERSION, GGML_MAGIC, export_ggml
from yuyin.train.importer import cached_import
from yuyin.train.staging import cached_export
from yuyin.types import Segment, Word

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "WhisperCppEngine",
    "clear_whispercpp_cache",
    "ggml_dtype",
    "ggml_model",
    "load_whispercpp_engine",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
_WINDOW_SAMPLES = 30 * SAMPLE_RATE
# whisper.cpp refuses input shorter than 1 s (it returns no text); pad such pieces.
_MIN_SAMPLES = SAMPLE_RATE + SAMPLE_RATE // 10
_EXTRA = "whispercpp"
_FEATURE = "the whisper.cpp engine"
_CENTISECONDS = 100.0
_PREPEND_PUNCTUATION = "\"'“¿([{-"
_APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"
_COMPUTE_TYPES = {"auto": "f16", "default": "f16", "float16": "f16", "float32": "f32",
                  "int8": "q8_0"}  # fmt: skip
_LOG_ERROR = 4  # GGML_LOG_LEVEL_ERROR


def ggml_dtype(compute_type: str) -> str:
    """The ggml weight type for a compute type (`auto` -> f16, `int8` -> q8_0, ...).

    Raises:
        ConfigurationError: a compute type whisper.cpp has no weights for.
    """
    if compute_type in GGML_DTYPES:
        return compute_type
    if compute_type in _COMPUTE_TYPES:
        return _COMPUTE_TYPES[compute_type]
    raise ConfigurationError(
        f"the whisper.cpp engine has no compute type {compute_type!r}",
        hint="use auto, float16, float32, int8, or a ggml type: " + ", ".join(GGML_DTYPES),
    )


@dataclass(frozen=True, slots=True)
class _Token:
    data: bytes
    start: float
    end: float
    probability: float


class WhisperCppEngine(LocalWhisperEngine):
    """Whisper in whisper.cpp; one loaded model, used from one thread at a time.

    whisper.cpp's entropy threshold stands in for `compression_ratio_threshold`.
    """

    name = "whisper.cpp"

    def __init__(self, context: Any, *, model_name: str, path: Path, threads: int) -> None:
        import _pywhispercpp as pw

        self._pw = pw
        self._ctx = context
        self.model_name = model_name
        self.path = path
        self.threads = threads
        self.multilingual = bool(pw.whisper_is_multilingual(context))
        # whisper.cpp's own test: a vocabulary of 51865+ has n_vocab - 51766 languages.
        count = int(pw.whisper_model_n_vocab(context)) - 51765 - int(self.multilingual)
        self.languages: tuple[str, ...] = (
            tuple(pw.whisper_lang_str(i) for i in range(count)) if self.multilingual else ("en",)
        )
        self._end_of_text = int(pw.whisper_token_eot(context))
        _live.add(self)
        # The context holds the decoding state: one decode at a time.
        self._lock = threading.Lock()

    @property
    def device(self) -> str:
        """Where it decodes: this whisper.cpp build runs on the CPU."""
        return "cpu"

    @property
    def compute_type(self) -> str:
        """The weights' ggml type (`f16`, `q8_0`, ...), from the loaded model's file type."""
        ftype = int(self._pw.whisper_model_ftype(self._ctx)) % 1000 if self._ctx else -1
        names = {code: name for name, (code, _) in GGML_DTYPES.items()}
        return names.get(ftype, f"ftype {ftype}")

    def close(self) -> None:
        """Free whisper.cpp's context now; the engine cannot decode afterwards."""
        context, self._ctx = getattr(self, "_ctx", None), None
        if context is not None:
            self._pw.whisper_free(context)

    def __del__(self) -> None:
        self.close()

    def check(self, language: str | None, options: TranscribeOptions) -> None:
        """Reject requests this engine or model cannot serve, before any decoding."""
        super().check(language, options)
        if self._ctx is None:
            raise ModelError(f"the whisper.cpp engine for {self.model_name!r} was closed")

    def detect_language(self, audio: NDArray[np.float32]) -> tuple[str, float]:
        """The most likely language of the first 30 s of `audio` and its probability.

        Args:
            audio: 16 kHz mono float32 samples.
        """
        pw = self._pw
        if not self.multilingual:
            return "en", 1.0
        window = _padded(np.ascontiguousarray(audio[:_WINDOW_SAMPLES], dtype=np.float32))
        probabilities = np.zeros(pw.whisper_lang_max_id() + 1, dtype=np.float32)
        with self._lock:
            failed = pw.whisper_pcm_to_mel(self._ctx, window, window.size, self.threads)
            best = -1 if failed else pw.whisper_lang_auto_detect(
                self._ctx, 0, self.threads, probabilities
            )  # fmt: skip
        if best < 0:
            raise ModelError(f"whisper.cpp could not detect the language with {self.model_name!r}")
        allowed = np.full(probabilities.shape, -1.0, dtype=np.float32)
        allowed[: len(self.languages)] = probabilities[: len(self.languages)]
        best = int(np.argmax(allowed))
        return self.languages[best], float(probabilities[best])

    def _params(self, language: str, options: TranscribeOptions) -> Any:
        pw = self._pw
        beam = options.beam_size > 1
        strategy = pw.whisper_sampling_strategy
        params = pw.whisper_full_default_params(
            strategy.WHISPER_SAMPLING_BEAM_SEARCH if beam else strategy.WHISPER_SAMPLING_GREEDY
        )
        params.n_threads = self.threads
        params.print_progress = False
        params.print_realtime = False
        params.print_timestamps = False
        params.print_special = False
        params.language = language
        params.translate = self.multilingual and options.task == "translate"
        params.no_context = not options.condition_on_previous_text
        params.token_timestamps = options.word_timestamps
        # openai-whisper's and faster-whisper's default suppress_tokens=[-1]: no symbols.
        params.suppress_nst = True
        temperatures = list(options.temperature)
        params.temperature = float(temperatures[0])
        # whisper.cpp climbs its fallback ladder in equal steps up to 1.0; 0 turns it off.
        steps = np.diff(temperatures)
        params.temperature_inc = float(steps[0]) if steps.size else 0.0
        params.logprob_thold = (
            float(options.log_prob_threshold) if options.log_prob_threshold is not None else -1e9
        )
        params.no_speech_thold = (
            float(options.no_speech_threshold) if options.no_speech_threshold is not None else 1.0
        )
        if options.initial_prompt:
            params.initial_prompt = options.initial_prompt
        params.beam_search = {"beam_size": options.beam_size, "patience": options.patience}
        params.greedy = {"best_of": options.best_of}
        return params

    def _segments(
        self, pieces: Pieces, language: str, options: TranscribeOptions
    ) -> Iterator[Segment]:
        params = self._params(language, options)
        index, last_end = 0, 0.0
        for offset, piece in pieces:
            padded = _padded(piece)
            end_of_piece = offset + piece.size / SAMPLE_RATE
            with self._lock:
                status = self._pw.whisper_full(self._ctx, params, padded, padded.size)
                if status != 0:
                    raise ModelError(
                        f"whisper.cpp failed to decode with {self.model_name!r} (status {status})",
                        hint="try --engine faster-whisper; report the error if it persists",
                    )
                raw = self._collect(offset, end_of_piece, options.word_timestamps)
            for start, end, text, tokens in raw:
                segment = self._segment(start, end, text, tokens, language, last_end)
                if segment is not None:
                    yield Segment(
                        start=segment.start, end=segment.end, text=segment.text,
                        words=segment.words, id=index,
                    )  # fmt: skip
                    index, last_end = index + 1, segment.end

    def _collect(
        self, offset: float, limit: float, with_tokens: bool
    ) -> list[tuple[float, float, str, list[_Token]]]:
        """Copy the results out of the context (the next decode overwrites them)."""
        pw, ctx = self._pw, self._ctx
        out = []
        for i in range(pw.whisper_full_n_segments(ctx)):
            start = min(offset + pw.whisper_full_get_segment_t0(ctx, i) / _CENTISECONDS, limit)
            end = min(offset + pw.whisper_full_get_segment_t1(ctx, i) / _CENTISECONDS, limit)
            text = bytes(pw.whisper_full_get_segment_text(ctx, i)).decode("utf-8", "replace")
            tokens: list[_Token] = []
            for j in range(pw.whisper_full_n_tokens(ctx, i) if with_tokens else 0):
                data = pw.whisper_full_get_token_data(ctx, i, j)
                if data.id >= self._end_of_text:  # timestamps and other special tokens
                    continue
                tokens.append(
                    _Token(
                        data=bytes(pw.whisper_token_to_bytes(ctx, data.id)),
                        start=min(offset + data.t0 / _CENTISECONDS, limit),
                        end=min(offset + data.t1 / _CENTISECONDS, limit),
                        probability=min(1.0, max(0.0, float(data.p))),
                    )
                )
            out.append((start, end, text, tokens))
        return out

    def _segment(
        self,
        start: float,
        end: float,
        text: str,
        tokens: list[_Token],
        language: str,
        not_before: float,
    ) -> Segment | None:
        if not text.strip():
            return None
        start = max(start, not_before)
        end = max(start, end)
        words = _monotonic(list(_words(tokens, language)), start, end)
        return Segment(start=start, end=end, text=text, words=tuple(words))


def _padded(piece: NDArray[np.float32]) -> NDArray[np.float32]:
    if piece.size >= _MIN_SAMPLES:
        return np.ascontiguousarray(piece, dtype=np.float32)
    return np.pad(piece, (0, _MIN_SAMPLES - piece.size)).astype(np.float32)


def _words(tokens: list[_Token], language: str) -> Iterator[Word]:
    """Group tokens into words: whole UTF-8 characters first, then at spaces (or per token
    for unspaced scripts), with punctuation attached as openai-whisper does."""
    units: list[tuple[str, list[_Token]]] = []
    pending: list[_Token] = []
    for token in tokens:
        pending.append(token)
        try:
            piece = b"".join(t.data for t in pending).decode("utf-8")
        except UnicodeDecodeError:  # byte-level BPE split a character: wait for the rest
            continue
        units.append((piece, pending))
        pending = []
    if pending:
        units.append((b"".join(t.data for t in pending).decode("utf-8", "replace"), pending))
    grouped: list[tuple[str, list[_Token]]] = []
    carry: tuple[str, list[_Token]] | None = None
    for text, group in units:
        stripped = text.strip()
        if carry is not None:
            text, group, carry = carry[0] + text, carry[1] + group, None
        elif stripped and all(c in _PREPEND_PUNCTUATION for c in stripped) and text[:1] == " ":
            carry = (text, group)
            continue
        glue = grouped and (
            (stripped and all(c in _APPEND_PUNCTUATION for c in stripped))
            or (language not in UNSPACED_LANGUAGES and not text.startswith(" "))
        )
        if glue:
            grouped[-1] = (grouped[-1][0] + text, grouped[-1][1] + group)
        else:
            grouped.append((text, list(group)))
    if carry is not None:
        grouped.append(carry)
    for text, group in grouped:
        probability = float(np.mean([t.probability for t in group]))
        yield Word(group[0].start, max(t.end for t in group), text, probability)


def _monotonic(words: list[Word], start: float, end: float) -> list[Word]:
    """Keep word times inside the segment and in order (token times can jitter back)."""
    out: list[Word] = []
    previous = start
    for w in words:
        begin = min(max(w.start, previous), end)
        out.append(Word(begin, min(max(w.end, begin), end), w.word, w.probability))
        previous = begin
    return out


# --- loading ------------------------------------------------------------------------------


class _LoadLog:
    """whisper.cpp's log, sent to logging; the errors of a load are kept to explain it."""

    def __init__(self) -> None:
        self.errors: list[str] | None = None
        self.installed = False

    def __call__(self, level: int, text: str) -> None:
        message = str(text).rstrip()
        if level == _LOG_ERROR:
            log.warning("whisper.cpp: %s", message)
            if self.errors is not None:
                self.errors.append(message)
        elif message:
            log.debug("whisper.cpp: %s", message)


_load_log = _LoadLog()
_live: weakref.WeakSet[WhisperCppEngine] = weakref.WeakSet()


def _shutdown() -> None:
    # whisper.cpp logs while freeing a context; a Python log callback called during
    # interpreter finalisation aborts the process. Free every context while Python is
    # whole, then give whisper.cpp its own logger back.
    for engine in list(_live):
        engine.close()
    if _load_log.installed:
        import _pywhispercpp as pw

        pw.whisper_log_set(None)
        _load_log.installed = False


def _require() -> None:
    if importlib.util.find_spec("_pywhispercpp") is None:
        raise MissingDependencyError("pywhispercpp", _EXTRA, _FEATURE)


# ggml type id -> (bytes per block, values per block), for the types whisper.cpp files use.
_TYPE_SIZES = {0: (4, 1), 1: (2, 1), 2: (18, 32), 3: (20, 32), 6: (22, 32), 7: (24, 32),
               8: (34, 32), 10: (84, 256), 11: (110, 256), 12: (144, 256), 13: (176, 256),
               14: (210, 256)}  # fmt: skip


def _check_ggml(path: Path) -> None:
    """Walk a ggml file's records and fail clearly where it is not whole.

    whisper.cpp accepts a file cut short after its vocabulary as an "empty model for
    testing" and then decodes garbage, so the records are counted here first.

    Raises:
        ModelError: not a ggml file, truncated, or missing tensors.
    """
    hint = "re-export it with `yuyin models export MODEL --format ggml --output-dir DIR`"
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            header = np.frombuffer(f.read(4 * 12), dtype="<i4")
            if header.size < 12 or int(header[0]) & 0xFFFFFFFF != GGML_MAGIC:
                raise ModelError(
                    f"{path} is not a whisper.cpp ggml model (it does not start with 'ggml')",
                    hint=hint,
                )
            audio_layers, text_layers = int(header[5]), int(header[9])
            n_mel, n_fft = np.frombuffer(f.read(8), dtype="<i4")
            f.seek(4 * int(n_mel) * int(n_fft), os.SEEK_CUR)
            (n_tokens,) = np.frombuffer(f.read(4), dtype="<i4")
            for _ in range(int(n_tokens)):
                (length,) = np.frombuffer(f.read(4), dtype="<u4")
                f.seek(int(length), os.SEEK_CUR)
            expected = 11 + 15 * audio_layers + 24 * text_layers
            found = 0
            while f.tell() < size:
                n_dims, name_length, ggml_type = np.frombuffer(f.read(12), dtype="<i4")
                shape = np.frombuffer(f.read(4 * int(n_dims)), dtype="<i4")
                f.seek(int(name_length), os.SEEK_CUR)
                if int(ggml_type) not in _TYPE_SIZES:
                    return  # a type this walk does not know: leave the rest to whisper.cpp
                block_bytes, block_values = _TYPE_SIZES[int(ggml_type)]
                f.seek(int(np.prod(shape, dtype=np.int64)) // block_values * block_bytes, 1)
                found += 1
            if f.tell() != size or found != expected:
                raise ModelError(
                    f"{path} is incomplete: {found} of {expected} tensors"
                    + (" (the last one is cut short)" if f.tell() != size else ""),
                    hint=hint,
                )
    except (OSError, ValueError) as exc:  # ValueError: a read past the end of the file
        raise ModelError(f"{path} is truncated or unreadable: {exc}", hint=hint) from exc


def ggml_model(model: str, dtype: str = "f16", cache_dir: Path | None = None) -> tuple[Path, str]:
    """The ggml model file for `model`, exported into the cache in `dtype` if needed.

    Args:
        model: a ggml `.bin` file, a folder holding one, a Hugging Face Whisper folder,
            or anything `resolve_model` knows (`tiny.en`, `base`, a CTranslate2 folder).
        dtype: the weight type of an export (`f16`, `f32`, `q8_0`, `q4_0`).
        cache_dir: yuyin's cache folder (default `default_cache_dir()`).

    Returns:
        The model file and the model's display name.

    Raises:
        ModelError: a folder with several ggml files; see also `resolve_model`,
            `cached_import` and `export_ggml`.
    """
    local = Path(model).expanduser()
    if local.is_file():
        return local, model
    if local.is_dir():
        found = sorted(local.glob("*.bin"))
        if (local / "config.json").is_file() and not found:
            checkpoint, name = local, model  # a Hugging Face checkpoint
            return _exported(checkpoint, dtype, cache_dir), name
        candidates = [f for f in found if f.name.startswith("ggml")] or found
        if len(candidates) == 1 and not (local / "model.bin").is_file():
            return candidates[0], model
        if len(candidates) > 1:
            raise ModelError(
                f"{local} holds several ggml models: {', '.join(f.name for f in candidates)}",
                hint="pass the .bin file itself as --model",
            )
    resolved = resolve_model(model, cache_dir=cache_dir)
    checkpoint = cached_import(resolved.path, cache_dir or default_cache_dir(), name=resolved.name)
    return _exported(checkpoint, dtype, cache_dir), resolved.name


def _exported(checkpoint: Path, dtype: str, cache_dir: Path | None) -> Path:
    return cached_export(
        checkpoint,
        cache_dir or default_cache_dir(),
        "ggml",
        partial(export_ggml, dtype=dtype),
        version=f"ggml-{GGML_EXPORTER_VERSION}-{dtype}",
    )


_cache: dict[tuple[str, int], WhisperCppEngine] = {}
_cache_lock = threading.Lock()


def load_whispercpp_engine(
    model: str,
    device: str = "cpu",
    *,
    compute_type: str = "auto",
    cpu_threads: int = 0,
    cache_dir: Path | None = None,
    shared: bool = True,
) -> WhisperCppEngine:
    """Load (or reuse) Whisper in whisper.cpp, importing and exporting it first if needed.

    Args:
        model: see `ggml_model`.
        device: `cpu` or `auto` (the pywhispercpp wheel runs on the CPU only).
        compute_type: the weights of an export: `auto`/`float16`, `float32`, `int8` (q8_0)
            or a ggml type (`f16`, `f32`, `q8_0`, `q4_0`); ignored for a given ggml file.
        cpu_threads: threads per decode; 0 uses min(4, CPU count), whisper.cpp's default.
        cache_dir: yuyin's cache folder (default `default_cache_dir()`).
        shared: keep the engine in the per-process cache; False returns a fresh one.

    Raises:
        MissingDependencyError: pywhispercpp is not installed (the `whispercpp` extra), or
            torch/transformers for an import (the `train` extra).
        ConfigurationError: CUDA, an unknown device or compute type, negative threads.
        ModelNotFoundError, ModelError: an unknown model, or a file whisper.cpp will not load.
    """
    _require()
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigurationError(f"unknown device {device!r}", hint="use auto, cpu or cuda")
    if device == "cuda":
        raise ConfigurationError(
            "the whisper.cpp engine runs on the CPU only (pywhispercpp's wheel has no CUDA)",
            hint="use --device cpu, or --engine faster-whisper on the GPU",
        )
    if cpu_threads < 0:
        raise ConfigurationError("--cpu-threads must be 0 (automatic) or more")
    threads = cpu_threads or min(4, os.cpu_count() or 1)
    path, name = ggml_model(model, ggml_dtype(compute_type), cache_dir)
    _check_ggml(path)
    key = (str(path.resolve()), threads)
    with _cache_lock:
        engine = _cache.get(key) if shared else None
        if engine is not None:
            return engine
        engine = WhisperCppEngine(_load(path), model_name=name, path=path, threads=threads)
        if shared:
            _cache[key] = engine
        return engine


def _load(path: Path) -> Any:
    import _pywhispercpp as pw

    if not _load_log.installed:
        pw.whisper_log_set(_load_log)  # process-wide: whisper.cpp never writes to stderr
        _load_log.installed = True
        atexit.register(_shutdown)
    params = pw.whisper_context_default_params()
    params.use_gpu = False
    log.info("loading %s with whisper.cpp", path)
    _load_log.errors = []
    try:
        context = pw.whisper_init_from_file_with_params(str(path), params)
        errors = _load_log.errors
    finally:
        _load_log.errors = None
    # The bindings hand back a context even when the load failed: whisper.cpp's log says so.
    if errors or context is None:
        if context is not None:
            pw.whisper_free(context)
        raise ModelError(
            f"whisper.cpp cannot load {path}: " + ("; ".join(errors) or "unknown error"),
            hint="re-export it with `yuyin models export MODEL --format ggml`",
        )
    return context


def clear_whispercpp_cache() -> None:
    """Forget every loaded whisper.cpp engine (frees memory once no caller holds them)."""
    with _cache_lock:
        _cache.clear()
