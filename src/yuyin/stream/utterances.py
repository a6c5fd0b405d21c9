"""Cutting a live stream into utterance WAV files and a table of what was said in each.

Endpoints (each configurable in `EndpointOptions`): the voice-activity controller's end of
an utterance, a maximum length, a stall (audio goes on but no new text is committed), and
a committed word that ends a sentence. Cuts fall at word ends, files never overlap or
repeat audio, and the tail is written by `close`. Audio is kept only from the last cut on,
so memory stays bounded by the maximum utterance length.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from yuyin.audio import SAMPLE_RATE
from yuyin.errors import OutputError
from yuyin.fileio import atomic_write_bytes
from yuyin.stream.buffer import SampleBuffer
from yuyin.stream.events import StreamEvent, join_words
from yuyin.stream.options import EndpointOptions
from yuyin.stream.sentences import ends_sentence
from yuyin.types import Word

__all__ = ["TABLE_NAME", "UtteranceWriter"]

#: The table written beside the WAV files: index, start, end, text, file (tab-separated).
TABLE_NAME = "utterances.tsv"


def _wav_bytes(samples: NDArray[np.float32]) -> bytes:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm.tobytes())
    return out.getvalue()


class UtteranceWriter:
    """Writes `NNNN.wav` per utterance and a `utterances.tsv` table into a folder.

    Give it every sample (`add_audio`) and every event (`add_events`) of the stream, in
    order, then `close` it.

    Args:
        directory: the output folder (created if missing).
        options: which endpoints cut.
        start: stream time of the first sample given, seconds.
    """

    def __init__(
        self, directory: str | Path, options: EndpointOptions | None = None, *, start: float = 0.0
    ) -> None:
        self.directory = Path(directory)
        self.options = options or EndpointOptions()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._table = (self.directory / TABLE_NAME).open("w", encoding="utf-8")
        except OSError as exc:
            raise OutputError(
                f"cannot write utterances to {self.directory}: {exc.strerror or exc}",
                hint="choose a writable folder for --save-utterances",
            ) from exc
        self._table.write("index\tstart\tend\ttext\tfile\n")
        origin = round(start * SAMPLE_RATE)
        self._audio = SampleBuffer(int((self.options.max_utterance_sec + 30) * SAMPLE_RATE), origin)
        self._cut_at = origin  # absolute sample index of the last cut
        self._words: list[Word] = []
        self._last_commit = origin
        self._committed_seen = False
        self._vad_cuts = False  # utterances end where voice activity ends
        #: Utterances written so far.
        self.count = 0

    def add_audio(self, samples: NDArray[np.float32]) -> None:
        """Keep the stream's next samples; cut if the utterance got too long or stalled.

        Args:
            samples: float32 16 kHz mono samples.
        """
        self._audio.append(np.asarray(samples, dtype=np.float32).reshape(-1))
        opts = self.options
        now = self._audio.end
        if (
            opts.max_utterance_sec > 0
            and now - self._cut_at >= opts.max_utterance_sec * SAMPLE_RATE
        ):
            last = self._index(self._words[-1].end) if self._words else now
            self._cut(last if last > self._cut_at else now)
        elif (
            opts.stall_sec > 0
            and self._words
            and now - max(self._last_commit, self._index(self._words[-1].end))
            >= opts.stall_sec * SAMPLE_RATE
        ):
            self._cut(self._index(self._words[-1].end))

    def add_events(self, events: list[StreamEvent]) -> None:
        """Take the stream's events: committed words, and finals that end an utterance.

        Args:
            events: events in emission order.
        """
        for event in events:
            if event.type == "committed":
                self._committed_seen = True
                self._take_words(event.words)
            elif event.type == "final":
                if not self._committed_seen:  # two-pass: the finals carry the text
                    begin = self._index(event.start)
                    if self.options.vad_end and begin > self._cut_at:
                        self._cut_at = begin  # the silence before the utterance is not kept
                        self._audio.drop_until(begin)
                    self._take_words(event.words)
                if self.options.vad_end:
                    self._vad_cuts = True
                    self._cut(
                        self._index(event.end), begin=self._index(event.start), keep_empty=False
                    )

    def _take_words(self, words: tuple[Word, ...]) -> None:
        self._last_commit = self._audio.end
        for word in words:
            if self._index(word.end) <= self._cut_at:
                continue  # its audio is already written
            self._words.append(word)
            if self.options.sentence_end and ends_sentence(word.word):
                self._cut(self._index(word.end))

    def close(self) -> None:
        """Write the tail (everything after the last cut) and close the table.

        When voice activity ends the utterances, a tail without words is the silence after
        the last one and is not written, as the silence before each one is not.
        """
        if self._audio.end > self._cut_at:
            self._cut(self._audio.end, keep_empty=not self._vad_cuts)
        self._table.close()

    def _index(self, time_sec: float) -> int:
        return round(time_sec * SAMPLE_RATE)

    def _cut(self, at: int, *, begin: int | None = None, keep_empty: bool = True) -> None:
        end = min(at, self._audio.end)
        start = max(self._cut_at, begin if begin is not None else self._cut_at)
        if end <= self._cut_at:
            return
        words = [w for w in self._words if self._index(w.end) <= end]
        self._words = self._words[len(words) :]
        # Under voice-activity cuts a piece without words is the breath or silence after a
        # sentence cut, not an utterance (the silence before each utterance is dropped too).
        if end > start and (words or keep_empty):
            name = f"{self.count:04d}.wav"
            atomic_write_bytes(self.directory / name, _wav_bytes(self._audio.view(start, end)))
            text = join_words(words).replace("\t", " ").replace("\n", " ")
            row = (str(self.count), f"{start / SAMPLE_RATE:.3f}", f"{end / SAMPLE_RATE:.3f}")
            self._table.write("\t".join((*row, text, name)) + "\n")
            self._table.flush()
            self.count += 1
        self._cut_at = end
        self._audio.drop_until(end)
