"""Sentence splitting for English-like and Chinese text, without a model download.

Chinese ends sentences with full-width 。！？；… and needs no space after them; Western text
ends them with . ! ? followed by a space, except after common abbreviations (`Dr.`), single
initials (`J.`), dotted letters (`p.m.`) and inside numbers (`3.5`). Closing quotes and
brackets stay with the sentence they close. Used by the `sentence` buffer-trimming mode and
by the utterance writer.
"""

from __future__ import annotations

from collections.abc import Sequence

from yuyin.types import Word

__all__ = ["ends_sentence", "group_sentences", "split_sentences"]

_CJK_ENDS = frozenset("。！？；…")
_WESTERN_ENDS = frozenset(".!?")
_CLOSERS = "\"'”’)]}」』）】》〉"
_ABBREVIATION_WORDS = (
    "mr mrs ms dr prof sr jr st vs etc no mt fig approx dept est inc ltd co "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())


def _is_abbreviation(token: str) -> bool:
    """Whether a token ending in `.` is an abbreviation or an initial rather than an end."""
    core = token.rstrip(".").lstrip("\"'“‘([{")
    if len(core) == 1 and core.isalpha() and core.isupper():
        return True  # an initial: "J. R. R. Tolkien"
    if "." in core and all(len(part) == 1 for part in core.split(".")):
        return True  # dotted letters: "p.m.", "e.g.", "U.S."
    return core.replace(".", "").casefold() in _ABBREVIATIONS


def ends_sentence(text: str) -> bool:
    """Whether a word or text ends with sentence-final punctuation (closing quotes allowed).

    Args:
        text: one word as Whisper writes it (leading space, punctuation attached) or a text.
    """
    core = text.strip().rstrip(_CLOSERS)
    if not core:
        return False
    last = core[-1]
    if last in _CJK_ENDS:
        return True
    if last not in _WESTERN_ENDS:
        return False
    if last == ".":
        token = core.split()[-1]
        if token.rstrip(".") and _is_abbreviation(token):
            return False
    return True


def split_sentences(text: str) -> list[str]:
    """Split text into sentences, each stripped; the last one may be unfinished.

    Args:
        text: English, Chinese or mixed text.
    """
    sentences: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char in _CJK_ENDS or char in _WESTERN_ENDS:
            j = i + 1
            while j < n and (text[j] in _CJK_ENDS or text[j] in _WESTERN_ENDS):
                j += 1  # "?!", "……", "..."
            while j < n and text[j] in _CLOSERS:
                j += 1
            western = all(c in _WESTERN_ENDS for c in text[i:j].rstrip(_CLOSERS))
            boundary = j == n or not western or text[j].isspace() or _starts_cjk(text[j])
            if western and boundary and char == "." and j - i == 1:
                token = text[start : i + 1].split()[-1] if text[start : i + 1].split() else ""
                boundary = not _is_abbreviation(token)
            if boundary:
                piece = text[start:j].strip()
                if piece:
                    sentences.append(piece)
                start = j
            i = j
            continue
        i += 1
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def _starts_cjk(char: str) -> bool:
    code = ord(char)
    return 0x3000 <= code <= 0x9FFF or 0xF900 <= code <= 0xFFEF


def group_sentences(words: Sequence[Word]) -> list[tuple[Word, ...]]:
    """Group timed words into sentences; the last group may be an unfinished sentence.

    Args:
        words: consecutive words in time order.
    """
    groups: list[tuple[Word, ...]] = []
    current: list[Word] = []
    for word in words:
        current.append(word)
        if ends_sentence(word.word):
            groups.append(tuple(current))
            current = []
    if current:
        groups.append(tuple(current))
    return groups
