"""sherpa-onnx (`--engine sherpa-onnx`): Whisper exported to ONNX, or the user's own models.

Three kinds of model folder are run, told apart by their files:

    Whisper               *encoder*.onnx, *decoder*.onnx, *tokens.txt (no joiner)
    Zipformer transducer  *encoder*.onnx, *decoder*.onnx, *joiner*.onnx, *tokens.txt
    Paraformer            model*.onnx (or *paraformer*.onnx), *tokens.txt

Where a folder holds both float and `.int8.` files, the float ones are used. A yuyin model
name (`tiny.en`, `base`), a CTranslate2 folder or a Hugging Face Whisper folder is imported
(`yuyin.train.importer`) and exported (`yuyin.train.export_onnx`) once into the cache.

sherpa-onnx decodes at most 30 s at a time, so longer inputs are cut into pieces in the
pauses Silero VAD finds; each piece is decoded greedily with Whisper's timestamp tokens
(its segments) and cross-attention token times (its words). sherpa-onnx ends the process
on some bad inputs instead of raising, so everything it would reject — missing files or
metadata, an unknown language — is checked here first.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.engines.base import EngineRun
from yuyin.engines.models import default_cache_dir, resolve_model
from yuyin.errors import ConfigurationError, MissingDependencyError, ModelError
from yuyin.languages import UNSPACED_LANGUAGES
from yuyin.options import ModelOptions, TranscribeOptions
from yuyin.types import Segment, Word, is_cjk

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "MODEL_KINDS",
    "SherpaModel",
    "SherpaOnnxEngine",
    "check_model_metadata",
    "clear_sherpa_cache",
    "find_sherpa_model",
    "load_sherpa_engine",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
#: What each kind of model folder must hold (shown when something is missing).
MODEL_KINDS: dict[str, tuple[str, ...]] = {
    "whisper": ("*encoder*.onnx", "*decoder*.onnx", "*tokens.txt"),
    "transducer": ("*encoder*.onnx", "*decoder*.onnx", "*joiner*.onnx", "*tokens.txt"),
    "paraformer": ("model*.onnx or *paraformer*.onnx", "*tokens.txt"),
}
# Encoder metadata sherpa-onnx reads for Whisper; without one of them it exits the process.
_WHISPER_METADATA = (
    "n_mels", "n_text_layer", "n_text_ctx", "n_text_state", "n_vocab", "sot", "eot",
    "blank_id", "translate", "transcribe", "is_multilingual", "no_timestamps", "no_speech",
    "sot_sequence",
)  # fmt: skip
# The file of each other kind whose metadata sherpa-onnx reads, and the keys it needs there.
_KIND_METADATA: dict[str, tuple[str, tuple[str, ...]]] = {
    "transducer": ("decoder", ("vocab_size", "context_size")),
    "paraformer": (
        "model",
        ("vocab_size", "lfr_window_size", "lfr_window_shift", "neg_mean", "inv_stddev"),
    ),
}
# sherpa-onnx keeps 50 of Whisper's 3000 frames as a tail: a piece must be shorter.
_MAX_PIECE_S = 29.0
_DEVICES = ("auto", "cpu")


@dataclass(frozen=True, slots=True)
class SherpaModel:
    """A sherpa-onnx model folder: its kind and the files of each role."""

    kind: str
    folder: Path
    files: dict[str, Path]


def _pick(folder: Path, patterns: Sequence[str], exclude: Sequence[str] = ()) -> Path | None:
    found = {
        p
        for pattern in patterns
        for p in folder.glob(pattern)
        if p.is_file() and not any(word in p.name for word in exclude)
    }
    # Float before int8 (accuracy first), then the shortest, then alphabetical.
    ranked = sorted(found, key=lambda p: (".int8." in p.name, len(p.name), p.name))
    return ranked[0] if ranked else None


def _expected() -> str:
    return "; ".join(f"{kind}: {', '.join(files)}" for kind, files in MODEL_KINDS.items())


def find_sherpa_model(folder: str | os.PathLike[str]) -> SherpaModel:
    """Tell which kind of sherpa-onnx model a folder holds, from its file names.

    Args:
        folder: a model folder.

    Raises:
        ModelError: no such folder, or files missing for every kind (the message lists them).
    """
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ModelError(f"no sherpa-onnx model folder at {path}", hint="check the path")
    tokens = _pick(path, ["*tokens.txt"])
    encoder = _pick(path, ["*encoder*.onnx"])
    decoder = _pick(path, ["*decoder*.onnx"])
    joiner = _pick(path, ["*joiner*.onnx"])
    paraformer = _pick(path, ["model*.onnx", "*paraformer*.onnx"])
    if joiner is not None:
        kind, needed = "transducer", {"encoder": encoder, "decoder": decoder, "joiner": joiner}
    elif encoder is not None or decoder is not None:
        kind, needed = "whisper", {"encoder": encoder, "decoder": decoder}
    elif paraformer is not None:
        kind, needed = "paraformer", {"model": paraformer}
    else:
        raise ModelError(
            f"{path} holds no sherpa-onnx model",
            hint=f"expected files, by kind — {_expected()}",
        )
    needed["tokens"] = tokens
    missing = [role for role, file in needed.items() if file is None]
    if missing:
        raise ModelError(
            f"{path} looks like a sherpa-onnx {kind} model but lacks its "
            + ", ".join(missing)
            + " file",
            hint=f"a {kind} model needs " + ", ".join(MODEL_KINDS[kind]),
        )
    return SherpaModel(kind, path, {role: file for role, file in needed.items() if file})


def _onnx_metadata(path: Path, hint: str) -> dict[str, str]:
    """The metadata (key -> value) of an ONNX file, read without its weights.

    Raises:
        ModelError: not a readable ONNX file.
    """
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and others on a damaged file
        raise ModelError(
            f"{path} is not a readable ONNX file ({type(exc).__name__})", hint=hint
        ) from exc
    if not model.HasField("graph"):  # an empty file parses as an empty model
        raise ModelError(f"{path} is not an ONNX model (it holds no graph)", hint=hint)
    return {p.key: p.value for p in model.metadata_props}


def check_model_metadata(model: SherpaModel) -> None:
    """Check that a transducer or Paraformer folder's files carry the metadata sherpa-onnx reads.

    sherpa-onnx ends the whole process when one of these keys is missing, so a file that
    was exported without them is refused here with its name and the keys it lacks.

    Raises:
        ModelError: an unreadable ONNX file, or metadata missing.
    """
    if model.kind not in _KIND_METADATA:
        return
    role, keys = _KIND_METADATA[model.kind]
    unreadable = "download the model again, or export it again"
    if model.kind == "transducer":
        encoder = _onnx_metadata(model.files["encoder"], unreadable)
        if "EncDec" in encoder.get("model_type", ""):
            return  # a NeMo transducer: sherpa-onnx reads other keys, from the encoder
    if model.kind == "paraformer" and not _has_token(model.files["tokens"], "</s>"):
        # sherpa-onnx looks the end-of-sentence token up by name and fails obscurely.
        raise ModelError(
            f"{model.files['tokens']} has no </s> token, which a Paraformer model ends with",
            hint="use the tokens.txt that came with the model",
        )
    path = model.files[role]
    metadata = _onnx_metadata(path, unreadable)
    missing = [k for k in keys if k not in metadata]
    if missing:
        raise ModelError(
            f"{path} lacks the metadata sherpa-onnx reads for a {model.kind} model: "
            + ", ".join(missing),
            hint="export the model with the sherpa-onnx export script of its recipe (icefall "
            "for Zipformer, FunASR for Paraformer), which writes this metadata",
        )


def _has_token(tokens: Path, symbol: str) -> bool:
    try:
        lines = tokens.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ModelError(f"cannot read {tokens}: {exc.strerror or exc}") from exc
    return any(line.split(maxsplit=1)[:1] == [symbol] for line in lines)


def whisper_metadata(encoder: Path) -> dict[str, str]:
    """The metadata of a Whisper encoder ONNX file, checked for what sherpa-onnx needs.

    Raises:
        ModelError: not an ONNX file, or metadata sherpa-onnx needs is missing.
    """
    metadata = _onnx_metadata(
        encoder, hint="re-export the model: yuyin models export MODEL --format onnx"
    )
    missing = [k for k in _WHISPER_METADATA if k not in metadata]
    if metadata.get("is_multilingual") == "1":
        missing += [k for k in ("all_language_tokens", "all_language_codes") if k not in metadata]
    if missing:
        raise ModelError(
            f"{encoder} lacks the Whisper metadata sherpa-onnx reads: " + ", ".join(missing),
            hint="export it with `yuyin models export MODEL --format onnx` or sherpa-onnx's "
            "scripts/whisper/export-onnx.py",
        )
    return metadata


# --- the engine --------------------------------------------------------------------------------


class SherpaOnnxEngine:
    """A sherpa-onnx offline recognizer: Whisper, Paraformer or Zipformer transducer."""

    name = "sherpa-onnx"

    def __init__(self, model: SherpaModel, *, model_name: str, num_threads: int) -> None:
        self.model = model
        self.model_name = model_name
        self.num_threads = num_threads
        self._metadata = whisper_metadata(model.files["encoder"]) if model.kind == "whisper" else {}
        self.multilingual = self._metadata.get("is_multilingual") == "1"
        codes = self._metadata.get("all_language_codes", "")
        self.languages = tuple(c for c in codes.split(",") if c) if self.multilingual else ()
        self._recognizers: dict[tuple[str, str], Any] = {}
        # sherpa-onnx streams are cheap but one recognizer decodes one stream at a time here.
        self._lock = threading.Lock()
        if model.kind != "whisper":
            check_model_metadata(model)
            self._recognizer("", "transcribe")  # load now: a bad model fails at load time

    @property
    def kind(self) -> str:
        """`whisper`, `transducer` or `paraformer`."""
        return self.model.kind

    @property
    def device(self) -> str:
        """Where it decodes: sherpa-onnx runs here on onnxruntime's CPU provider."""
        return "cpu"

    @property
    def compute_type(self) -> str:
        """`int8` when the model files are sherpa-onnx's `.int8.` ones, else `float32`."""
        quantised = any(".int8." in f.name for f in self.model.files.values())
        return "int8" if quantised else "float32"

    def check(self, language: str | None, options: TranscribeOptions) -> None:
        """Reject requests this engine or model cannot serve, before any decoding."""
        for field, value in (
            ("hotwords", options.hotwords),
            ("initial_prompt", options.initial_prompt),
        ):
            if value:
                raise ConfigurationError(
                    f"the sherpa-onnx engine does not support {field}",
                    hint="use --engine faster-whisper for prompts and hotwords",
                )
        if self.kind != "whisper":
            if options.task == "translate":
                raise ConfigurationError(
                    f"a {self.kind} model cannot translate", hint="use --task transcribe"
                )
            return
        if self.multilingual:
            if language is not None and language not in self.languages:
                raise ConfigurationError(
                    f"model {self.model_name!r} has no language {language!r}",
                    hint="use a Whisper language code such as en or zh",
                )
            return
        if language not in (None, "en"):
            raise ConfigurationError(
                f"model {self.model_name!r} is English-only and cannot transcribe {language!r}",
                hint="use the multilingual model: --model base",
            )
        if options.task == "translate":
            raise ConfigurationError(
                f"model {self.model_name!r} is English-only and cannot translate",
                hint="use the multilingual model: --model base",
            )

    def _recognizer(self, language: str, task: str) -> Any:
        import sherpa_onnx

        key = (language, task)
        found = self._recognizers.get(key)
        if found is not None:
            return found
        files = {role: str(path) for role, path in self.model.files.items()}
        common = {"tokens": files["tokens"], "num_threads": self.num_threads}
        try:
            if self.kind == "whisper":
                recognizer = sherpa_onnx.OfflineRecognizer.from_whisper(
                    encoder=files["encoder"], decoder=files["decoder"], language=language,
                    task=task, enable_token_timestamps=True, enable_segment_timestamps=True,
                    # Pad every piece to Whisper's full 30 s window, as it was trained.
                    tail_paddings=3000, **common,
                )  # fmt: skip
            elif self.kind == "transducer":
                recognizer = sherpa_onnx.OfflineRecognizer.from_transducer(
                    encoder=files["encoder"], decoder=files["decoder"], joiner=files["joiner"],
                    **common,
                )  # fmt: skip
            else:
                recognizer = sherpa_onnx.OfflineRecognizer.from_paraformer(
                    paraformer=files["model"], **common
                )
        except (RuntimeError, ValueError, IndexError, KeyError) as exc:
            # IndexError/KeyError: a symbol the runtime looks up is not in tokens.txt.
            raise ModelError(
                f"sherpa-onnx cannot load the {self.kind} model in {self.model.folder}: "
                + str(exc).strip(),
                hint=f"a {self.kind} model needs " + ", ".join(MODEL_KINDS[self.kind]),
            ) from exc
        self._recognizers[key] = recognizer
        return recognizer

    def _decode(self, audio: NDArray[np.float32], language: str, task: str) -> Any:
        recognizer = self._recognizer(language, task)
        with self._lock:
            stream = recognizer.create_stream()
            stream.accept_waveform(SAMPLE_RATE, audio)
            recognizer.decode_stream(stream)
            return stream.result

    def run(
        self,
        audio: NDArray[np.float32],
        *,
        language: str | None,
        options: TranscribeOptions,
        vad_filter: bool,
    ) -> EngineRun:
        """Start decoding 16 kHz mono audio; pieces are decoded as segments are consumed.

        Args:
            audio: 16 kHz mono float32 samples.
            language: a Whisper language code, or None to detect it (multilingual Whisper).
            options: `task` and `word_timestamps` are used; decoding is greedy, one pass.
            vad_filter: decode only the stretches Silero VAD marks as speech.
        """
        from yuyin.engines.vad import detect_speech, plan_pieces

        self.check(language, options)
        samples = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        duration = samples.size / SAMPLE_RATE
        max_samples = int(_MAX_PIECE_S * SAMPLE_RATE)
        speech = detect_speech(samples) if vad_filter or samples.size > max_samples else []
        pieces = plan_pieces(samples.size, speech, max_samples)
        if vad_filter:
            pieces = [
                (a, b)
                for a, b in pieces
                if any(s * SAMPLE_RATE < b and e * SAMPLE_RATE > a for s, e in speech)
            ]
        task = options.task
        first: Any = None
        if self.kind != "whisper":
            detected = language or ""
        elif not self.multilingual:
            detected = "en"
        elif language is not None:
            detected = language
        elif pieces:
            a, b = pieces[0]
            first = self._decode(samples[a:b], "", task)  # an empty language detects it
            detected = first.lang or "en"
        else:
            detected = "en"
        decode_language = detected if self.multilingual else ""

        def produce() -> Iterator[Segment]:
            index = 0
            for n, (a, b) in enumerate(pieces):
                result = first if n == 0 and first is not None else None
                if result is None:
                    result = self._decode(samples[a:b], decode_language, task)
                for segment in piece_segments(
                    result, a / SAMPLE_RATE, b / SAMPLE_RATE, detected, options.word_timestamps
                ):
                    yield Segment(segment.start, segment.end, segment.text, segment.words, id=index)
                    index += 1

        return EngineRun(produce(), detected, 1.0, duration)


# --- results to segments ---------------------------------------------------------------------


def _group_words(
    tokens: Sequence[str], starts: Sequence[float], ends: Sequence[float], language: str
) -> list[Word]:
    words: list[tuple[str, float, float]] = []
    for token, start, end in zip(tokens, starts, ends, strict=True):
        text = token
        opens = text.startswith(" ") or not words
        # Paraformer and transducer models name no language: their Chinese tokens are
        # told by their script instead, or a whole sentence would become one word.
        if language in UNSPACED_LANGUAGES or any(is_cjk(c) for c in text):
            # One word per character; a token spanning several splits its time evenly.
            # Punctuation joins the character before it.
            chars = list(text.strip())
            step = (end - start) / max(len(chars), 1)
            for i, char in enumerate(chars):
                a, b = start + i * step, start + (i + 1) * step
                if words and not char.isalnum():
                    words[-1] = (words[-1][0] + char, words[-1][1], b)
                else:
                    words.append((char, a, b))
            continue
        if not text.strip() and words:
            continue
        stripped = text.strip()
        closing = bool(stripped) and all(not c.isalnum() for c in stripped)
        if words and (not opens or closing):
            last, last_start, _ = words[-1]
            words[-1] = (last + text, last_start, end)
        else:
            words.append((text, start, end))
    return [Word(start=s, end=max(s, e), word=w) for w, s, e in words if w.strip()]


def piece_segments(
    result: Any, offset: float, upper: float, language: str, with_words: bool
) -> list[Segment]:
    """Turn one sherpa-onnx result into segments on the input's timeline.

    Args:
        result: an `OfflineRecognitionResult` (text, tokens, timestamps, durations, and for
            Whisper segment_texts, segment_timestamps, segment_durations).
        offset: where the piece starts in the input, seconds.
        upper: where the piece ends in the input, seconds.
        language: the language decoded (for word grouping).
        with_words: give each segment its words.
    """
    tokens = list(result.tokens)
    starts = [offset + float(t) for t in result.timestamps]
    durations = [float(d) for d in getattr(result, "durations", [])]
    if len(starts) != len(tokens):
        starts = []
    if starts:
        ends = [
            s + durations[i] if i < len(durations) and durations[i] > 0 else
            (starts[i + 1] if i + 1 < len(starts) else s)
            for i, s in enumerate(starts)
        ]  # fmt: skip
        ends = [min(max(e, s), upper) for s, e in zip(starts, ends, strict=True)]
    texts = list(getattr(result, "segment_texts", []))
    times = [offset + float(t) for t in getattr(result, "segment_timestamps", [])]
    spans = [float(d) for d in getattr(result, "segment_durations", [])]
    if not texts or len(times) != len(texts):
        texts, times, spans = [result.text], [offset], [upper - offset]
    segments: list[Segment] = []
    cursor = 0
    for k, text in enumerate(texts):
        # Tokens belong to the segment whose text they spell out.
        taken, spelled = [], ""
        while cursor < len(tokens) and len(spelled) < len(text):
            spelled += tokens[cursor]
            taken.append(cursor)
            cursor += 1
        if k == len(texts) - 1:
            taken += list(range(cursor, len(tokens)))
        start = times[k]
        end = min(start + spans[k], upper) if k < len(spans) else upper
        words: tuple[Word, ...] = ()
        if with_words and starts and taken:
            words = tuple(
                _group_words(
                    [tokens[i] for i in taken], [starts[i] for i in taken],
                    [ends[i] for i in taken], language,
                )
            )  # fmt: skip
            if words:
                start, end = words[0].start, words[-1].end
        if text.strip():
            segments.append(Segment(start=start, end=max(start, end), text=text, words=words))
    return segments


# --- loading -----------------------------------------------------------------------------------


def _onnx_folder(model: str, cache_dir: Path | None) -> Path:
    """The cached ONNX export of a yuyin model name, CTranslate2 or Hugging Face folder."""
    from yuyin.train.export_onnx import EXPORTER_VERSION, export_onnx
    from yuyin.train.importer import cached_import
    from yuyin.train.staging import cached_export

    cache = cache_dir or default_cache_dir()
    local = Path(model).expanduser()
    if local.is_dir() and (local / "config.json").is_file() and not (local / "model.bin").is_file():
        checkpoint = local  # a Hugging Face folder
    else:
        resolved = resolve_model(model, cache_dir=cache_dir)
        checkpoint = cached_import(resolved.path, cache, name=resolved.name)
    encoder = cached_export(
        checkpoint,
        cache,
        "onnx",
        lambda source, output: export_onnx(source, output) / "encoder.onnx",
        version=f"onnx-{EXPORTER_VERSION}",
    )
    return encoder.parent


def _is_sherpa_folder(path: Path) -> bool:
    """Whether `--model` names a sherpa-onnx model folder rather than a model to export.

    A folder that holds no CTranslate2 (`model.bin`) or Hugging Face (`config.json`) model
    is taken as a sherpa-onnx folder even when its ONNX files are missing, so the error
    lists what each kind of sherpa-onnx model needs instead of what an import needs.
    """
    if not path.is_dir():
        return False
    if any(path.glob("*.onnx")):
        return True
    return not ((path / "model.bin").is_file() or (path / "config.json").is_file())


def _num_threads(cpu_threads: int) -> int:
    return cpu_threads if cpu_threads > 0 else max(1, min(os.cpu_count() or 1, 8))


_cache: dict[tuple[str, int], SherpaOnnxEngine] = {}
_cache_lock = threading.Lock()


def load_sherpa_engine(
    model: str,
    *,
    device: str = "auto",
    cpu_threads: int = 0,
    cache_dir: Path | None = None,
    shared: bool = True,
) -> SherpaOnnxEngine:
    """Load (or reuse) a sherpa-onnx engine.

    Args:
        model: a sherpa-onnx model folder (Whisper, Paraformer, Zipformer transducer), or a
            Whisper model yuyin can import: an embedded name (`tiny.en`, `base`), a
            CTranslate2 folder or a Hugging Face folder, exported once into the cache.
        device: `auto` or `cpu` (the sherpa-onnx wheel runs on the CPU).
        cpu_threads: threads for ONNX Runtime; 0 uses up to 8 of the machine's cores.
        cache_dir: yuyin's cache folder (default `default_cache_dir()`).
        shared: keep the engine in the per-process cache; False returns a fresh one.

    Raises:
        MissingDependencyError: sherpa-onnx is not installed (the `sherpa-onnx` extra); an
            export also needs torch, transformers and onnx (the same extra).
        ConfigurationError: a device other than auto or cpu.
        ModelNotFoundError, ModelError: an unknown name, or a folder that is not a model.
    """
    if importlib.util.find_spec("sherpa_onnx") is None:
        raise MissingDependencyError("sherpa-onnx", "sherpa-onnx", "the sherpa-onnx engine")
    if device not in _DEVICES:
        raise ConfigurationError(
            f"the sherpa-onnx engine runs on the CPU, not {device!r}", hint="use --device cpu"
        )
    local = Path(model).expanduser()
    folder = local if _is_sherpa_folder(local) else _onnx_folder(model, cache_dir)
    threads = _num_threads(cpu_threads)
    key = (str(folder.resolve()), threads)
    with _cache_lock:
        engine = _cache.get(key) if shared else None
        if engine is None:
            engine = SherpaOnnxEngine(
                find_sherpa_model(folder), model_name=model, num_threads=threads
            )
            if shared:
                _cache[key] = engine
        return engine


def load_from_options(
    options: ModelOptions, *, cache_dir: Path | None, shared: bool
) -> SherpaOnnxEngine:
    """`load_sherpa_engine` with the model, device and threads of `options`."""
    return load_sherpa_engine(
        options.model,
        device=options.device,
        cpu_threads=options.cpu_threads,
        cache_dir=cache_dir,
        shared=shared,
    )


def clear_sherpa_cache() -> None:
    """Forget every loaded sherpa-onnx engine."""
    with _cache_lock:
        _cache.clear()
