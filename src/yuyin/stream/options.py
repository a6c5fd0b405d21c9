"""Option objects for live transcription; each `yuyin stream` flag maps to a field here."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUFFER_TRIMMING_MODES", "EndpointOptions", "StreamOptions", "VacOptions"]

#: How the rolling audio buffer is cut (see `StreamOptions.buffer_trimming`).
BUFFER_TRIMMING_MODES: tuple[str, ...] = ("segment", "sentence")


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """How a live stream is decoded and how its audio buffer is kept short.

    Attributes:
        language: a Whisper code or name, or `zh-TW` / `zh-CN`; None detects it once, on
            the first speech, and keeps it for the stream.
        zh_script: `traditional` or `simplified` to force the script of Chinese output.
        task: `transcribe` or `translate` (to English).
        min_chunk_size: seconds of new audio gathered before each decoding step.
        buffer_trimming: `segment` cuts the buffer after the last complete Whisper segment
            that is already committed; `sentence` keeps the last two committed sentences
            (the segment rule is its fallback once the buffer passes 30 s).
        buffer_trimming_sec: buffer length from which trimming starts, seconds.
        beam_size: beams per decoding step (1 = greedy, fastest).
        vad: let faster-whisper skip non-speech inside each decoding step (Silero).
        prompt_chars: characters of committed text before the buffer given as the prompt.
        min_word_probability: a word decoded with a lower probability needs three agreeing
            hypotheses instead of two (0 turns it off).
        partials: also emit the unconfirmed tail of each hypothesis as `partial` events.
        adaptive: step down (larger step, shorter buffer) when decoding falls behind real
            time and recover when it can; off for computation-unaware replay.
    """

    language: str | None = None
    zh_script: str | None = None
    task: str = "transcribe"
    min_chunk_size: float = 1.0
    buffer_trimming: str = "segment"
    buffer_trimming_sec: float = 15.0
    # Greedy (faster-whisper: 5): a step runs every second on the whole buffer, and on a
    # 2-core CPU beam 5 costs ~40% more time for no better streaming WER (bench/stream.py).
    beam_size: int = 1
    vad: bool = False
    prompt_chars: int = 200
    # After a pause tiny.en may open with an invented phrase at p < 0.05 in two steps
    # running; a real word that low (a clipped onset, a name) just waits one more step.
    min_word_probability: float = 0.05
    partials: bool = False
    adaptive: bool = True


@dataclass(frozen=True, slots=True)
class VacOptions:
    """The voice-activity controller: Silero on 512-sample (32 ms) windows.

    Attributes:
        start_threshold: speech probability from which speech starts.
        end_threshold: probability below which a window counts as silence.
        min_silence_ms: silence (below `end_threshold`) that ends an utterance.
        speech_pad_ms: audio kept before the detected start and after the detected end.
        preroll_ms: audio kept during silence, so a late detection loses no onset.
        max_utterance_sec: an utterance longer than this is closed and a new one started.
    """

    start_threshold: float = 0.5
    end_threshold: float = 0.35
    min_silence_ms: int = 500
    speech_pad_ms: int = 100
    preroll_ms: int = 1000
    max_utterance_sec: float = 30.0


@dataclass(frozen=True, slots=True)
class EndpointOptions:
    """Where `UtteranceWriter` cuts a stream into utterance files (0 / False disables a rule).

    Attributes:
        vad_end: cut where the voice-activity controller ends an utterance.
        max_utterance_sec: cut an utterance at the last committed word once it is this long.
        stall_sec: cut after this long without new committed text while audio goes on.
        sentence_end: cut after a committed word that ends a sentence (. ! ? 。 ！ ？ …).
    """

    vad_end: bool = True
    max_utterance_sec: float = 20.0
    stall_sec: float = 3.0
    sentence_end: bool = True
