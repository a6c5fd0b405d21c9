"""The small seam between the streaming algorithm and a recogniser.

A streaming step needs one thing: transcribe this buffer, primed with this prompt, and give
word timings relative to the buffer start. `EngineASR` provides it over any yuyin `Engine`
(faster-whisper by default) with the settings streaming needs: word timestamps on, no
conditioning on previous windows (the prompt carries the context), VAD off unless asked.

Two measures keep a step cheap enough for real time on a small CPU (issue 4; numbers from
bench/stream.py in the README):

* One greedy decode per step, no temperature fallback. The fallback re-decodes a window at
  rising temperatures (up to six times, each up to 448 tokens) when the text looks
  repetitive; a sampled text differs from step to step, so LocalAgreement could not commit
  it anyway, and on the streaming benchmark the fallback was a third of all decoding time.
* With faster-whisper, the encoder sees the buffer plus `encoder_margin_sec` of padding
  (15 s at least), not a padded 30 s window: the encoder costs ~0.45 s of CPU per 30 s
  window and runs once or twice per step (faster-whisper re-decodes an unfinished last
  segment in a second window), but ~0.1 s for 15 s. The margin keeps some of the silent
  padding Whisper was trained with; with 0-2 s, tiny.en repeated phrases at the end of the
  buffer more often.

* Under the voice-activity controller the buffer holds continuous speech, and
  `transcribe_speech` decodes it once, without timestamp tokens. In timestamp mode a buffer
  that ends mid-sentence (every step's does) ends in an unfinished segment, which
  faster-whisper decodes again in a second window, with a second encoder pass; that short
  window is also where tiny.en invents words after the speech ("Yeah.").
  Without timestamp tokens one decode covers the buffer, and words are still timed from
  the cross-attention. Not across pauses: there a decode without timestamps often stops
  at the first pause (measured: whole sentences lost), so the plain stream keeps
  timestamp mode.

A second pass (two-pass finals) is decoded once per utterance: there the full window and
Whisper's temperature fallback are worth their cost (`encoder_margin_sec=None`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from yuyin.audio import SAMPLE_RATE
from yuyin.engines import Engine
from yuyin.engines.faster_whisper import FasterWhisperEngine
from yuyin.languages import resolve_language
from yuyin.options import TranscribeOptions
from yuyin.stream.options import StreamOptions
from yuyin.text import is_phantom
from yuyin.types import Segment

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["EngineASR", "LanguageDetector", "StreamASR"]

log = logging.getLogger(__name__)

#: Whisper's mel frames per second (10 ms hop).
_FRAMES_PER_SEC = 100
#: Whisper's window, seconds: a longer buffer needs several windows.
_WINDOW_SEC = 30.0
#: The shortest window encoded: with 10 s or less, tiny.en and base invented words after a
#: short utterance ("today. day.", ". . .") that a 30 s window did not.
MIN_ENCODED_SEC = 15.0


class StreamASR(Protocol):
    """One decoding step of a stream."""

    def transcribe(
        self, audio: NDArray[np.float32], *, prompt: str, language: str | None
    ) -> Sequence[Segment]:
        """Decode 16 kHz mono `audio`; segments and words timed from its first sample.

        Args:
            audio: the current buffer, 16 kHz mono float32 (may be a view; do not keep it).
            prompt: committed text that precedes the buffer ("" for none).
            language: a Whisper language code, or None to detect.
        """
        ...


class LanguageDetector(Protocol):
    """A recogniser that can also say which language some audio is in (optional)."""

    def detect_language(self, audio: NDArray[np.float32]) -> tuple[str, float]:
        """The Whisper code of the language spoken in `audio` and its probability.

        Args:
            audio: 16 kHz mono float32 samples (speech).
        """
        ...


def _trailing_padding_trimmer(encode: Any, margin_frames: int, min_frames: int) -> Any:
    """Wrap `WhisperModel.encode` to encode the content plus `margin_frames`, not 3000 frames.

    faster-whisper pads each window's mel features to 3000 frames with zeros; a real frame is
    never all zeros (silence is -1.5 after normalisation), so the content ends at the last
    frame with a non-zero value. At least `min_frames` are encoded.
    """

    def trimmed(features: NDArray[np.float32]) -> Any:
        filled = np.flatnonzero(np.any(features != 0, axis=-2).reshape(-1))
        content = int(filled[-1]) + 1 if filled.size else 0
        keep = min(features.shape[-1], max(content + margin_frames, min_frames))
        return encode(features[..., :keep])

    return trimmed


class EngineASR:
    """A yuyin `Engine` as a streaming step (word timestamps, no conditioning, greedy).

    Args:
        engine: a loaded engine, e.g. `load_engine(ModelOptions(model="tiny.en"))`.
        options: the stream's task, beam size, VAD switch and language (checked now, so an
            English-only model asked for Chinese fails before any audio arrives).
        encoder_margin_sec: faster-whisper only: seconds of padding encoded after the
            buffer (at least `MIN_ENCODED_SEC` in all) instead of a full 30 s window; None
            encodes the full window.
        temperature: the decoding temperatures tried in turn; the default, greedy only,
            suits steps that LocalAgreement re-checks; a second pass may want Whisper's
            whole fallback ladder (`yuyin.options.DEFAULT_TEMPERATURES`).
    """

    def __init__(
        self,
        engine: Engine,
        options: StreamOptions | None = None,
        *,
        encoder_margin_sec: float | None = 5.0,
        temperature: tuple[float, ...] = (0.0,),
    ) -> None:
        opts = options or StreamOptions()
        self.engine = engine
        self._vad = opts.vad
        self._options = TranscribeOptions(
            task=opts.task,
            beam_size=opts.beam_size,
            best_of=opts.beam_size,
            temperature=temperature,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad=opts.vad,
        )
        check = getattr(engine, "check", None)
        if check is not None:
            check(resolve_language(opts.language, opts.zh_script).code, self._options)
        self._stepper: Engine = engine
        self._single: FasterWhisperEngine | None = None
        if encoder_margin_sec is not None and isinstance(engine, FasterWhisperEngine):
            # A shallow copy shares the loaded CTranslate2 model, tokenizer and feature
            # extractor; only this copy's `encode` is replaced, so offline callers of the
            # same cached engine keep the standard 30 s window.
            model = copy.copy(engine.model)
            model.encode = _trailing_padding_trimmer(
                engine.model.encode,
                round(encoder_margin_sec * _FRAMES_PER_SEC),
                round(MIN_ENCODED_SEC * _FRAMES_PER_SEC),
            )
            stepper = copy.copy(engine)
            stepper.model = model
            stepper.overrides = dict(engine.overrides)
            self._stepper = stepper
            single = copy.copy(stepper)
            single.overrides = {**stepper.overrides, "without_timestamps": True}
            self._single = single

    @property
    def model_name(self) -> str:
        """The engine's model name."""
        return self.engine.model_name

    def transcribe(
        self, audio: NDArray[np.float32], *, prompt: str, language: str | None
    ) -> list[Segment]:
        """Decode the buffer; Whisper's phantom lines (subtitle credits...) are dropped.

        Args:
            audio: 16 kHz mono float32 samples.
            prompt: committed text before the buffer ("" for none).
            language: a Whisper language code, or None to detect.
        """
        options = dataclasses.replace(self._options, initial_prompt=prompt.strip() or None)
        run = self._stepper.run(audio, language=language, options=options, vad_filter=self._vad)
        kept: list[Segment] = []
        for s in run.segments:
            if self._failed(s):
                break
            if s.words and not is_phantom(s.text, no_speech_prob=s.no_speech_prob):
                kept.append(s)
        return kept

    def transcribe_speech(
        self, audio: NDArray[np.float32], *, prompt: str, language: str | None
    ) -> list[Segment]:
        """Decode a buffer of continuous speech in one pass (one segment, words timed).

        Falls back to `transcribe` for buffers over one window, for engines other than
        faster-whisper, and when the one segment fails Whisper's checks (a loop: timestamp
        mode then keeps what comes before it).

        Args:
            audio: 16 kHz mono float32 samples of one utterance (no long pauses).
            prompt: committed text before the buffer ("" for none).
            language: a Whisper language code, or None to detect.
        """
        if self._single is None or audio.size > _WINDOW_SEC * SAMPLE_RATE:
            return self.transcribe(audio, prompt=prompt, language=language)
        options = dataclasses.replace(self._options, initial_prompt=prompt.strip() or None)
        run = self._single.run(audio, language=language, options=options, vad_filter=self._vad)
        segments = iter(run.segments)
        # One window yields one segment; what would follow is faster-whisper re-decoding
        # the audio after the last word in a second window: not wanted, never computed.
        first = next(segments, None)
        close = getattr(segments, "close", None)
        if close is not None:
            close()
        if first is not None and self._failed(first):
            return self.transcribe(audio, prompt=prompt, language=language)
        if (
            first is None
            or not first.words
            or is_phantom(first.text, no_speech_prob=first.no_speech_prob)
        ):
            return []
        return [first]

    def _failed(self, segment: Segment) -> bool:
        """Whether a segment fails Whisper's own checks, with no fallback left to fix it.

        Whisper re-decodes such a window at a higher temperature; a greedy-only step cannot,
        and what it holds is a loop (`thank you thank you...`) or a guess (`And then, we're
        going to do it.` after the speech ends, at mean log-probability -1.6). The
        hypothesis ends before it: the next step, with more audio, decodes it again.
        """
        opts = self._options
        if len(opts.temperature) > 1:
            return False  # faster-whisper already retried it; this is its best attempt
        ratio, logprob = opts.compression_ratio_threshold, opts.log_prob_threshold
        return (ratio is not None and segment.compression_ratio > ratio) or (
            logprob is not None and segment.avg_logprob < logprob
        )

    def detect_language(self, audio: NDArray[np.float32]) -> tuple[str, float]:
        """Detect the spoken language once (full 30 s window); English-only models say `en`.

        Args:
            audio: 16 kHz mono float32 speech.
        """
        if not getattr(self.engine, "multilingual", True):
            return "en", 1.0
        if isinstance(self.engine, FasterWhisperEngine):
            language, probability, _ = self.engine.model.detect_language(audio=audio)
            return str(language), float(probability)
        options = dataclasses.replace(self._options, word_timestamps=False)
        run = self.engine.run(audio, language=None, options=options, vad_filter=False)
        return run.language, run.language_probability
