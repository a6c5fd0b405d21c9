"""Text normalisers for scoring: named, composable pipelines of `str -> str` steps.

    none      the text as written: orthographic scores
    basic     Unicode NFKC (full-width to half-width), lower case, punctuation and symbols
              removed, whitespace collapsed
    english   Whisper-style English: basic plus bracketed annotations and fillers dropped,
              contractions expanded, British spellings made American, number words written
              as digits (see `yuyin.eval.english`)
    chinese   full/half width folded, lower case, Traditional/Simplified folded with OpenCC
              (both sides become Traditional with Taiwan phrasing, so a Simplified hypothesis
              is not penalised against a Traditional reference), Chinese and ASCII
              punctuation removed, spaces between Chinese characters removed, and Chinese
              numerals written as digits where the reading is unambiguous

Every pipeline is idempotent (normalising twice changes nothing), so a score does not move
when either side was already normalised; the unit tests check this on random text. Build
your own with `Normalizer("mine", (nfkc, lowercase, ...))` or `BASIC.then(step)`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from yuyin.errors import ConfigurationError
from yuyin.eval import english
from yuyin.eval.metrics import mostly_unspaced
from yuyin.languages import resolve_language
from yuyin.text import convert_script

__all__ = [
    "BASIC",
    "CHINESE",
    "ENGLISH",
    "NONE",
    "NORMALIZERS",
    "Normalizer",
    "chinese_numerals_to_digits",
    "collapse_whitespace",
    "default_normalizer",
    "get_normalizer",
    "lowercase",
    "nfkc",
    "remove_punctuation",
    "remove_spaces_between_cjk",
    "to_traditional",
]

Step = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Normalizer:
    """A named pipeline of text steps applied in order; call it on a string.

    Attributes:
        name: what reports call it.
        steps: functions from text to text, applied first to last.
    """

    name: str
    steps: tuple[Step, ...] = ()

    def __call__(self, text: str) -> str:
        """Normalise one text."""
        for step in self.steps:
            text = step(text)
        return text

    def then(self, *steps: Step, name: str | None = None) -> Normalizer:
        """A new pipeline: this one followed by `steps`.

        Args:
            steps: functions from text to text.
            name: the new pipeline's name (default: this one's).
        """
        return Normalizer(name or self.name, self.steps + steps)

    def many(self, texts: Iterable[str]) -> list[str]:
        """Normalise each text.

        Args:
            texts: the texts.
        """
        if not self.steps:
            return list(texts)
        return [self(t) for t in texts]


# --- steps --------------------------------------------------------------------------------


def nfkc(text: str) -> str:
    """Unicode NFKC: full-width letters, digits and punctuation become their ASCII forms."""
    return unicodedata.normalize("NFKC", text)


def lowercase(text: str) -> str:
    """Lower case."""
    return text.lower()


def collapse_whitespace(text: str) -> str:
    """Single spaces between tokens, none at the ends."""
    return " ".join(text.split())


_APOSTROPHES = "'\u2018\u2019\u02bc\u0060\u00b4"


class _PunctuationTable(dict[int, "str | None"]):
    """A `str.translate` table, filled lazily: punctuation (P*) and symbols (S*) become a
    space, apostrophes vanish (don't → dont), everything else maps to itself."""

    def __init__(self, keep: str = "") -> None:
        super().__init__({ord(c): None for c in _APOSTROPHES})
        self.update({ord(c): c for c in keep})

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        value = " " if unicodedata.category(char)[0] in "PS" else char
        self[code] = value
        return value


_PUNCTUATION = _PunctuationTable()


def remove_punctuation(text: str) -> str:
    """Punctuation and symbols (any script) become spaces; apostrophes are dropped."""
    return text.translate(_PUNCTUATION)


# Keeps the marks numbers need: "3.5", "1,000" (commas dropped), "$5" and "5%".
_NUMERIC_PUNCTUATION = _PunctuationTable(keep=".$%")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_STRAY_NUMERIC = re.compile(r"(?<!\d)\.|\.(?!\d)|\$(?!\d)|(?<!\d)%")
_SPACED_PERCENT = re.compile(r"(?<=\d)\s+%")


def remove_punctuation_keep_numbers(text: str) -> str:
    """Like `remove_punctuation`, but decimal points, `$` before and `%` after a number stay,
    and thousands separators are removed (1,000 → 1000)."""
    text = _THOUSANDS.sub("", text).translate(_NUMERIC_PUNCTUATION)
    return _STRAY_NUMERIC.sub(" ", _SPACED_PERCENT.sub("%", text))


_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
_NUMERALS = "零〇一二兩两三四五六七八九十百千萬万億亿"


def _space_between_cjk(match: re.Match[str]) -> str:
    before, after = match.string[match.start() - 1], match.string[match.end()]
    return " " if before in _NUMERALS and after in _NUMERALS else ""


def remove_spaces_between_cjk(text: str) -> str:
    """Remove whitespace between two CJK characters (keep it between English words).

    A space between two Chinese numerals stays, so that separate numbers (兩萬、三萬五)
    are not merged into one run that reads as neither.
    """
    return _SPACE_BETWEEN_CJK.sub(_space_between_cjk, text)


def to_traditional(text: str) -> str:
    """Fold Chinese script to Traditional with Taiwan phrasing (OpenCC s2twp)."""
    return convert_script(text, "traditional")


_ZH_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "兩": 2, "两": 2}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_BIG = (("億", 10**8), ("亿", 10**8), ("萬", 10**4), ("万", 10**4))
_ZH_NUMERAL_RUN = re.compile(f"[{_NUMERALS}]{{2,}}")


def _zh_section(text: str, leading: bool) -> int | None:
    """Value of a run below 10,000 (一百零五, 三千五, 十二), or None if it is not one."""
    value, digit, last_unit, zero = 0, -1, 10_000, False
    for i, char in enumerate(text):
        if char in "零〇":
            if digit >= 0:
                return None
            zero = True
        elif char in _ZH_DIGITS:
            if digit >= 0:
                return None
            digit = _ZH_DIGITS[char]
        else:
            unit = _ZH_UNITS[char]
            if unit >= last_unit:
                return None
            if digit < 0:
                if not (char == "十" and i == 0 and leading):
                    return None
                digit = 1
            value, digit, last_unit, zero = value + digit * unit, -1, unit, False
    if digit >= 0:
        if text[-1] in "兩两":
            return None  # 十兩 is ten taels, not twelve
        # 三千五 is 3,500 and 一百五 is 150; after a zero (一百零五) the digit is units.
        value += digit if zero or last_unit == 10_000 else digit * (last_unit // 10)
    return value


def _zh_number(text: str, leading: bool = True, whole: bool = True) -> int | None:
    """Value of a numeral run (with 萬/億), or None; `whole` is False for the parts
    around a 萬 or 億, where a single digit is a number (the 兩 of 兩萬)."""
    for char, size in _ZH_BIG:
        if char in text:
            left, _, right = text.partition(char)
            high = _zh_number(left, leading, False) if left else None
            low = _zh_rest(right, size)
            if high is None or low is None or low >= size:
                return None
            return high * size + low
    if any(c in _ZH_UNITS for c in text):
        return _zh_section(text, leading)
    if len(text) == 1 and not whole and text not in "零〇":
        return _ZH_DIGITS[text]
    return None


def _zh_rest(text: str, size: int) -> int | None:
    """Value of what follows 萬 or 億: 三萬五 is 35,000, 一萬零五 is 10,005."""
    if not text:
        return 0
    if text[0] in "零〇":
        return _zh_number(text[1:], False, False) if len(text) > 1 else None
    if len(text) == 1:
        digit = _zh_number(text, False, False)
        return None if digit is None else digit * size // 10
    return _zh_number(text, False, False)


def _numeral_match(match: re.Match[str]) -> str:
    run = match.group()
    if all(c in _ZH_DIGITS for c in run):
        if len(run) < 3 or any(c in "兩两" for c in run):
            return run
        return "".join(str(_ZH_DIGITS[c]) for c in run)  # 二〇二四 → 2024, 零零七 → 007
    value = _zh_number(run)
    return run if value is None else str(value)


def chinese_numerals_to_digits(text: str) -> str:
    """Write Chinese numerals as digits where the reading is unambiguous.

    Converted: runs of two or more numeral characters that parse as one number with
    place units (十五 → 15, 一百零五 → 105, 三千五 → 3500, 兩萬 → 20000) and digit
    strings of three or more (二〇二四 → 2024). Left alone: single characters (一起, 十分),
    runs that are not one number (萬一, 千萬, 一五一十, 三三兩兩) and two-digit strings.
    """
    return _ZH_NUMERAL_RUN.sub(_numeral_match, text)


# --- pipelines ----------------------------------------------------------------------------

NONE = Normalizer("none")
BASIC = Normalizer("basic", (nfkc, lowercase, remove_punctuation, collapse_whitespace))
ENGLISH = Normalizer(
    "english",
    (
        nfkc,
        lowercase,
        english.remove_annotations,
        english.expand_contractions,
        remove_punctuation_keep_numbers,
        english.remove_fillers,
        english.standardize_spellings,
        english.words_to_digits,
        collapse_whitespace,
    ),
)
CHINESE = Normalizer(
    "chinese",
    (
        nfkc,
        lowercase,
        to_traditional,
        remove_punctuation_keep_numbers,
        remove_spaces_between_cjk,
        chinese_numerals_to_digits,
        collapse_whitespace,
    ),
)

#: The built-in pipelines by name.
NORMALIZERS: dict[str, Normalizer] = {n.name: n for n in (NONE, BASIC, ENGLISH, CHINESE)}


def get_normalizer(name: str) -> Normalizer:
    """A built-in pipeline by name: `none`, `basic`, `english` or `chinese`.

    Raises:
        ConfigurationError: an unknown name.
    """
    try:
        return NORMALIZERS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown normalizer {name!r}", hint="use one of: auto, " + ", ".join(NORMALIZERS)
        ) from None


def default_normalizer(language: str | None, texts: Iterable[str] = ()) -> Normalizer:
    """The pipeline for a language: `english` for English, `chinese` for Chinese, else `basic`.

    Args:
        language: a language code or name; None guesses from `texts` (mostly Chinese
            characters: `chinese`; mostly ASCII letters: `english`).
        texts: reference texts, used only when `language` is None.

    Raises:
        ConfigurationError: an unknown language.
    """
    code = resolve_language(language).code if language else None
    if code is None:
        joined = "".join(texts)
        letters = sum(c.isalpha() for c in joined)
        if _HAN.search(joined) and mostly_unspaced([joined]):
            return CHINESE
        ascii_letters = sum(c.isascii() and c.isalpha() for c in joined)
        return ENGLISH if letters and ascii_letters > letters / 2 else BASIC
    return {"en": ENGLISH, "zh": CHINESE, "yue": CHINESE}.get(code, BASIC)


_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
