"""Whisper through Hugging Face transformers (issue 8): the same weights, another runtime.

Decoding is transformers' own sequential long-form algorithm (`model.generate` on the whole
input with timestamps: 30 s windows that move on to the last complete segment, temperature
fallback, compression-ratio and log-probability checks, conditioning on the previous text).
Word timings come from the cross-attention alignment heads (`return_token_timestamps`),
grouped into words here: per character for Chinese, Japanese, Thai, Lao, Burmese and
Cantonese, at spaces otherwise, with punctuation attached as openai-whisper does.

Models: a Hugging Face Whisper folder is loaded as it is; an embedded name (`tiny.en`,
`base`) or a CTranslate2 folder is rebuilt once by `yuyin.train.importer` into the cache.
PyTorch and transformers come with the `train` extra.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import string
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.audio import SAMPLE_RATE
from yuyin.engines.device import torch_device
from yuyin.engines.local_whisper import LocalWhisperEngine, Pieces
from yuyin.engines.models import default_cache_dir, is_hf_whisper, resolve_model
from yuyin.errors import MissingDependencyError, ModelError
from yuyin.languages import UNSPACED_LANGUAGES
from yuyin.options import TranscribeOptions
from yuyin.train.importer import cached_import
from yuyin.types import Segment, Word

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["TransformersEngine", "clear_transformers_cache", "load_transformers_engine"]

log = logging.getLogger(__name__)

_WINDOW_SAMPLES = 30 * SAMPLE_RATE
_PREPEND_PUNCTUATION = "\"'“¿([{-"
_APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"
_SENTENCE_END = ".。!！?？"


@dataclass(frozen=True, slots=True)
class _Token:
    id: int
    start: float
    end: float


class TransformersEngine(LocalWhisperEngine):
    """Whisper on PyTorch through transformers; one loaded model, used from one thread at a time."""

    name = "transformers"

    def __init__(self, model: Any, processor: Any, *, model_name: str, path: Path) -> None:
        self.model = model
        self.processor = processor
        self.model_name = model_name
        self.path = path
        generation = model.generation_config
        self.multilingual = bool(getattr(generation, "is_multilingual", False))
        tokenizer = processor.tokenizer
        self._end_of_text = int(tokenizer.convert_tokens_to_ids("<|endoftext|>"))
        self._start = int(generation.decoder_start_token_id)
        self._languages: dict[str, int] = {
            token.strip("<|>"): int(i) for token, i in getattr(generation, "lang_to_id", {}).items()
        }
        self.languages = tuple(self._languages)
        # One decode at a time: PyTorch already spreads one decode over every core.
        self._lock = threading.Lock()

    # --- decoding -------------------------------------------------------------------------

    def _features(self, audio: NDArray[np.float32]) -> tuple[Any, Any]:
        extractor = self.processor.feature_extractor
        longer = audio.size > _WINDOW_SAMPLES
        # Up to 30 s: one window padded with silence; longer: every frame, with a mask,
        # which makes transformers use its sequential long-form decoding.
        features = extractor(
            audio,
            sampling_rate=SAMPLE_RATE,
            return_tensors="pt",
            return_attention_mask=True,
            **({"truncation": False, "padding": "longest"} if longer else {}),
        )
        device, dtype = self.model.device, self.model.dtype
        return (
            features.input_features.to(device=device, dtype=dtype),
            features.attention_mask.to(device),
        )

    def detect_language(self, audio: NDArray[np.float32]) -> tuple[str, float]:
        """The most likely language of the first 30 s of `audio` and its probability.

        Args:
            audio: 16 kHz mono float32 samples.
        """
        import torch

        if not self.multilingual:
            return "en", 1.0
        features, _ = self._features(audio[:_WINDOW_SAMPLES])
        codes = list(self._languages)
        ids = torch.tensor([self._languages[c] for c in codes], device=self.model.device)
        with self._lock, torch.inference_mode():
            encoded = self.model.model.encoder(features)
            start = torch.tensor([[self._start]], device=self.model.device)
            logits = self.model(encoder_outputs=encoded, decoder_input_ids=start).logits[0, -1]
            probabilities = torch.softmax(logits[ids].float(), dim=-1)
        best = int(torch.argmax(probabilities))
        return codes[best], float(probabilities[best])

    def _generate_kwargs(self, language: str, options: TranscribeOptions) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "return_timestamps": True,
            "return_segments": True,
            "return_token_timestamps": options.word_timestamps,
            "num_beams": options.beam_size,
            "temperature": tuple(options.temperature),
            "compression_ratio_threshold": options.compression_ratio_threshold,
            "logprob_threshold": options.log_prob_threshold,
            # transformers skips a window as silent only when logprob_threshold is set too.
            "no_speech_threshold": (
                options.no_speech_threshold if options.log_prob_threshold is not None else None
            ),
            "condition_on_prev_tokens": options.condition_on_previous_text,
        }
        if self.multilingual:
            kwargs["language"] = language
            kwargs["task"] = options.task
        if options.initial_prompt:
            kwargs["prompt_ids"] = self.processor.get_prompt_ids(
                options.initial_prompt, return_tensors="pt"
            ).to(self.model.device)
        return kwargs

    def _segments(
        self, pieces: Pieces, language: str, options: TranscribeOptions
    ) -> Iterator[Segment]:
        import torch

        kwargs = self._generate_kwargs(language, options)
        index, last_end = 0, 0.0
        for offset, piece in pieces:
            features, mask = self._features(piece)
            try:
                with self._lock, torch.inference_mode():
                    output = self.model.generate(features, attention_mask=mask, **kwargs)
            except (RuntimeError, ValueError) as exc:
                raise ModelError(
                    f"transformers failed to decode with {self.model_name!r}: {exc}",
                    hint="try --engine faster-whisper; report the error if it persists",
                ) from exc
            for raw in output["segments"][0]:
                segment = self._segment(raw, offset, language, options.word_timestamps, last_end)
                if segment is not None:
                    yield dataclasses.replace(segment, id=index)
                    index, last_end = index + 1, segment.end

    def _segment(
        self, raw: dict[str, Any], offset: float, language: str, with_words: bool, not_before: float
    ) -> Segment | None:
        ids = [int(t) for t in raw["tokens"].tolist()]
        # Where a 30 s window ends inside speech, the next one restarts at the last timestamp,
        # which can lie before the end the alignment gave the previous words: never go back.
        start = max(float(raw["start"]) + offset, not_before)
        end = float(raw["end"]) + offset
        text_ids = [t for t in ids if t < self._end_of_text]
        if not text_ids:
            return None
        text = self.processor.tokenizer.decode(text_ids)
        words: tuple[Word, ...] = ()
        if with_words and "token_timestamps" in raw:
            times = [float(t) + offset for t in raw["token_timestamps"].tolist()]
            # Token i lasts from the time of token i-1 to its own (transformers' convention).
            tokens = [
                _Token(t, times[i - 1] if i > 0 else times[0], times[i])
                for i, t in enumerate(ids[: len(times)])
                if t < self._end_of_text
            ]
            words = tuple(
                Word(max(w.start, not_before), max(w.end, not_before), w.word, w.probability)
                for w in _trim_long_words(list(self._words(tokens, language)))
            )
            if words:
                # As faster-whisper does: the segment spans its words, so consecutive
                # segments do not overlap where the alignment runs past a timestamp token.
                start, end = words[0].start, words[-1].end
        return Segment(start=start, end=max(start, end), text=text, words=words)

    def _words(self, tokens: list[_Token], language: str) -> Iterator[Word]:
        decode = self.processor.tokenizer.decode
        units: list[tuple[str, list[_Token]]] = []
        pending: list[_Token] = []
        for token in tokens:
            pending.append(token)
            piece = decode([t.id for t in pending])
            if "\ufffd" not in piece:  # a whole character: byte-level BPE may split one
                units.append((piece, pending))
                pending = []
        if language not in UNSPACED_LANGUAGES:
            units = _join_at_spaces(units)
        for text, group in _attach_punctuation(units):
            yield Word(start=group[0].start, end=max(group[0].start, group[-1].end), word=text)


def _trim_long_words(words: list[Word]) -> list[Word]:
    """Shorten words the alignment stretched over a pause (openai-whisper's heuristic).

    A word longer than twice the median word duration (the median capped at 0.7 s) is cut
    to that length: from its start when it ends a sentence or the segment (the pause comes
    after it), from its end when it opens the segment (the pause comes before it).
    """
    durations = [w.end - w.start for w in words if w.end > w.start]
    if not durations:
        return words
    longest = 2 * min(0.7, float(np.median(durations)))
    out: list[Word] = []
    for i, w in enumerate(words):
        if w.end - w.start > longest:
            if i == len(words) - 1 or w.word.rstrip()[-1:] in _SENTENCE_END:
                w = dataclasses.replace(w, end=w.start + longest)
            elif i == 0:
                w = dataclasses.replace(w, start=w.end - longest)
        out.append(w)
    return out


def _join_at_spaces(units: list[tuple[str, list[_Token]]]) -> list[tuple[str, list[_Token]]]:
    words: list[tuple[str, list[_Token]]] = []
    for text, group in units:
        starts_word = text.startswith(" ") or text.strip() in string.punctuation
        if words and not starts_word:
            last_text, last_group = words[-1]
            words[-1] = (last_text + text, last_group + group)
        else:
            words.append((text, list(group)))
    return words


def _attach_punctuation(
    units: list[tuple[str, list[_Token]]],
) -> list[tuple[str, list[_Token]]]:
    """Glue opening punctuation to the next word and closing punctuation to the previous one."""
    out: list[tuple[str, list[_Token]]] = []
    carry: tuple[str, list[_Token]] | None = None
    for text, group in units:
        stripped = text.strip()
        if out and carry is None and stripped and all(c in _APPEND_PUNCTUATION for c in stripped):
            out[-1] = (out[-1][0] + text, out[-1][1] + group)
            continue
        if carry is not None:
            text, group, carry = carry[0] + text, carry[1] + group, None
        elif stripped and all(c in _PREPEND_PUNCTUATION for c in stripped):
            carry = (text, group)
            continue
        out.append((text, group))
    if carry is not None:
        out.append(carry)
    return out


# --- loading ------------------------------------------------------------------------------


_cache: dict[tuple[str, str], TransformersEngine] = {}
_cache_lock = threading.Lock()


def load_transformers_engine(
    model: str,
    device: str = "cpu",
    *,
    cache_dir: Path | None = None,
    shared: bool = True,
) -> TransformersEngine:
    """Load (or reuse) Whisper in transformers, importing a CTranslate2 model first if needed.

    Args:
        model: a Hugging Face Whisper folder, a CTranslate2 Whisper folder, or any name
            `resolve_model` knows (`tiny.en`, `base`, ...), which is imported once into
            `<cache_dir>/hf/`.
        device: `cpu`, `cuda` or `auto`.
        cache_dir: yuyin's cache folder (default `default_cache_dir()`).
        shared: keep the engine in the per-process cache; False returns a fresh one.

    Raises:
        MissingDependencyError: torch or transformers is not installed (the `train` extra).
        ConfigurationError: an unknown or unusable device.
        ModelNotFoundError, ModelError: see `resolve_model`; or a checkpoint that will not load.
    """
    for package in ("torch", "transformers"):
        if importlib.util.find_spec(package) is None:
            raise MissingDependencyError(package, "train", "the transformers engine")
    where = torch_device(device, "train")
    local = Path(model).expanduser()
    if local.is_dir() and is_hf_whisper(local):
        path, name = local, model
    else:
        resolved = resolve_model(model, cache_dir=cache_dir)
        path = cached_import(resolved.path, cache_dir or default_cache_dir(), name=resolved.name)
        name = resolved.name
    key = (str(path.resolve()), where)
    with _cache_lock:
        engine = _cache.get(key) if shared else None
        if engine is not None:
            return engine
        engine = _load(path, name, where)
        if shared:
            _cache[key] = engine
        return engine


class _OwnGenerateNotice(logging.Filter):
    """Drops the deprecation notice transformers' Whisper `generate` triggers by itself.

    Its Whisper `generate` passes suppress-token arguments beside a generation config to
    the generic `generate`, which warns about that mix; no caller can avoid it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """False for that one notice."""
        return "together with generation-related" not in record.getMessage()


_NOTICE_FILTER = _OwnGenerateNotice()


def _load(path: Path, name: str, device: str) -> TransformersEngine:
    import torch
    from transformers import WhisperForConditionalGeneration, WhisperProcessor
    from transformers.utils import logging as hf_logging

    log.info("loading %s from %s with transformers on %s", name, path, device)
    logging.getLogger("transformers.generation.utils").addFilter(_NOTICE_FILTER)
    dtype = torch.float16 if device == "cuda" else torch.float32
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a library does not draw on the caller's terminal
    try:
        processor = WhisperProcessor.from_pretrained(str(path), local_files_only=True)
        model = WhisperForConditionalGeneration.from_pretrained(
            str(path), local_files_only=True, dtype=dtype
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(
            f"cannot load the Hugging Face Whisper checkpoint in {path}: {exc}",
            hint="it needs config.json, generation_config.json, weights and the processor "
            "files; re-import it by deleting the folder",
        ) from exc
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    model.to(device).eval()
    return TransformersEngine(model, processor, model_name=name, path=path)


def clear_transformers_cache() -> None:
    """Forget every loaded transformers engine (frees memory once no caller holds them)."""
    with _cache_lock:
        _cache.clear()
