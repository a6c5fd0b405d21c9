"""Chinese script conversion with OpenCC, applied to whole transcripts without losing timings."""

from __future__ import annotations

import dataclasses
import functools
import threading

import opencc

from yuyin.errors import ConfigurationError
from yuyin.types import Segment, Word

__all__ = ["convert_script", "convert_segments"]

# s2twp: Simplified → Traditional with Taiwan phrasing (軟件 → 軟體); tw2sp: the reverse,
# so Traditional-with-Taiwan-phrasing input maps back to Mainland vocabulary.
_CONFIGS = {"traditional": "s2twp", "simplified": "tw2sp"}
_lock = threading.Lock()


@functools.cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def convert_script(text: str, script: str) -> str:
    """Convert Chinese `text` to `traditional` (Taiwan, s2twp) or `simplified` (tw2sp) script."""
    try:
        config = _CONFIGS[script]
    except KeyError:
        raise ConfigurationError(
            f"unknown Chinese script {script!r}", hint="use traditional or simplified"
        ) from None
    # The OpenCC binding is not documented as thread-safe; conversions are microseconds.
    with _lock:
        return str(_converter(config).convert(text))


def _convert_words(words: tuple[Word, ...], script: str) -> tuple[Word, ...]:
    # Convert the words as one string so phrase rules (鼠标 → 滑鼠) see whole phrases, then
    # cut the result back at the original boundaries when the length is unchanged.
    joined = convert_script("".join(w.word for w in words), script)
    if len(joined) == sum(len(w.word) for w in words):
        out, pos = [], 0
        for w in words:
            out.append(dataclasses.replace(w, word=joined[pos : pos + len(w.word)]))
            pos += len(w.word)
        return tuple(out)
    return tuple(dataclasses.replace(w, word=convert_script(w.word, script)) for w in words)


def convert_segments(segments: tuple[Segment, ...], script: str) -> tuple[Segment, ...]:
    """Convert segment texts and their words to `script`, keeping every timestamp."""
    return tuple(
        dataclasses.replace(
            s, text=convert_script(s.text, script), words=_convert_words(s.words, script)
        )
        for s in segments
    )
