"""Option objects for the public API; each CLI flag maps one-to-one to a field here.

Names carry their unit when it is not seconds (`min_silence_duration_ms`). Defaults are the
ones faster-whisper users expect, except where a comment says why yuyin differs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["ModelOptions", "OutputOptions", "TranscribeOptions", "VadOptions"]

#: Whisper's temperature fallback ladder (openai-whisper and faster-whisper default).
DEFAULT_TEMPERATURES: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

#: Every output format `yuyin transcribe` can write.
OUTPUT_FORMATS: tuple[str, ...] = ("txt", "srt", "vtt", "tsv", "json")


@dataclass(frozen=True, slots=True)
class VadOptions:
    """Silero voice-activity detection settings (faster-whisper's bundled ONNX model).

    Attributes:
        threshold: speech probability above which a 32 ms frame counts as speech.
        min_speech_duration_ms: speech chunks shorter than this are dropped.
        max_speech_duration_s: longer chunks are split at the last silence before this.
        min_silence_duration_ms: silence needed before a speech chunk is closed.
        speech_pad_ms: padding added on both sides of each speech chunk, so word onsets
            and endings are never clipped.
    """

    threshold: float = 0.5
    min_speech_duration_ms: int = 0
    max_speech_duration_s: float = math.inf
    min_silence_duration_ms: int = 2000
    speech_pad_ms: int = 400


@dataclass(frozen=True, slots=True)
class ModelOptions:
    """Which model to load and on what hardware.

    Attributes:
        model: an embedded name (`base`, `tiny.en`), a local CTranslate2 or Hugging Face
            Whisper folder, or a hub name (`small`, `large-v3`) that is downloaded once;
            for the `openai` engine, the API's model name (default `whisper-1`).
        engine: which recogniser runs the model (`yuyin engines` lists them).
        base_url: the API root for the `openai` engine (default: OpenAI's), or the gRPC
            endpoint for the `google` engine (default: the regional one).
        api_key: the key for the `openai` engine (the CLI reads OPENAI_API_KEY).
        device: `auto` (CUDA when a GPU is usable, else CPU), `cpu` or `cuda`.
        device_index: which GPU to use when `device` is `cuda`.
        compute_type: `auto` (`float16` on CUDA, `int8` on CPU) or any CTranslate2 type:
            `float32`, `float16`, `bfloat16`, `int8`, `int8_float16`, `int8_float32`, ...
        cpu_threads: CPU threads per model replica; 0 lets CTranslate2 decide.
        num_workers: model replicas for transcribing from several threads at once.
    """

    model: str = "base"
    engine: str = "faster-whisper"
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    device: str = "auto"
    device_index: int = 0
    compute_type: str = "auto"
    cpu_threads: int = 0
    num_workers: int = 1


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    """How to decode speech into text.

    Attributes:
        language: a Whisper language code or name (`en`, `zh`, `chinese`), or `zh-TW` /
            `zh-CN` for Chinese in Traditional / Simplified script; None detects it.
        zh_script: `traditional` (OpenCC s2twp, Taiwan phrasing) or `simplified` to force the
            script of Chinese output; None keeps what the model wrote unless `language`
            implies a script.
        task: `transcribe` (same language) or `translate` (to English).
        beam_size: beams for beam search; 1 is greedy.
        best_of: candidates sampled when the temperature is above zero.
        patience: beam-search patience factor.
        temperature: the fallback ladder tried in order when a decode fails the thresholds.
        compression_ratio_threshold: gzip ratio above which a decode counts as repetitive.
        log_prob_threshold: mean log-probability below which a decode counts as failed.
        no_speech_threshold: no-speech probability above which a quiet window is skipped.
        condition_on_previous_text: give the previous window's text as the prompt.
        initial_prompt: text that primes vocabulary and style for the first window.
        hotwords: words or phrases to bias recognition towards.
        word_timestamps: compute a start/end time for every word (CJK: every character).
        vad: True gates decoding with Silero VAD, False never; None (auto) gates inputs
            longer than `vad_min_duration` and short-circuits inputs with no speech at all.
        vad_min_duration: input length from which auto mode gates with VAD.
        vad_options: Silero VAD parameters.
        batch_size: 0 decodes windows one after another; N > 0 batches N VAD chunks at a
            time (faster on long files, needs VAD).
        keep_hallucinations: keep the well-known phantom lines Whisper writes on silence.
        hallucination_silence_threshold: skip silent periods longer than this (seconds)
            around a suspected hallucination; needs word timestamps; None disables.
    """

    language: str | None = None
    zh_script: str | None = None
    task: str = "transcribe"
    beam_size: int = 5
    best_of: int = 5
    patience: float = 1.0
    temperature: tuple[float, ...] = DEFAULT_TEMPERATURES
    compression_ratio_threshold: float | None = 2.4
    log_prob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    condition_on_previous_text: bool = True
    initial_prompt: str | None = None
    hotwords: str | None = None
    # On by default (faster-whisper: off) because every output format uses word timings
    # for cue boundaries and the JSON schema carries them.
    word_timestamps: bool = True
    vad: bool | None = None
    vad_min_duration: float = 30.0
    vad_options: VadOptions = field(default_factory=VadOptions)
    batch_size: int = 0
    keep_hallucinations: bool = False
    hallucination_silence_threshold: float | None = None

    def gates_with_vad(self, duration: float) -> bool:
        """Whether decoding skips non-speech with VAD for input `duration` seconds long."""
        return bool(self.vad) or (
            self.vad is None and (duration >= self.vad_min_duration or self.batch_size > 0)
        )


@dataclass(frozen=True, slots=True)
class OutputOptions:
    """Which files to write and how subtitles are laid out.

    Attributes:
        output_format: formats to write, any of `txt`, `srt`, `vtt`, `tsv`, `json`.
        output_dir: folder for the files; None writes beside each input.
        max_line_width: characters per subtitle line (a CJK character counts as 2); None
            keeps Whisper's segments as cues.
        max_line_count: lines per subtitle cue when `max_line_width` is set.
        highlight_words: karaoke-style cues that underline each word as it is spoken.
    """

    output_format: tuple[str, ...] = OUTPUT_FORMATS
    output_dir: str | None = None
    max_line_width: int | None = None
    max_line_count: int | None = None
    highlight_words: bool = False
