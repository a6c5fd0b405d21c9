"""The English steps of the `english` normaliser, in the spirit of Whisper's English normaliser.

Whisper's paper scores with a normaliser so that spelling conventions (colour/color, 21/
twenty-one, you're/you are) are not counted as recognition errors. These steps make the
same choices, compactly; each expects lower-case text and is idempotent. Known limits, all
symmetric (both sides are changed alike): "one" is always a number (no one → no 1), `'d`
always reads "would", and runs of number words are read as one number or a year where
they can be (nineteen ninety nine → 1999, five five five → 555).
"""

from __future__ import annotations

import re

__all__ = [
    "expand_contractions",
    "remove_annotations",
    "remove_fillers",
    "standardize_spellings",
    "words_to_digits",
]

_ANNOTATION = re.compile(r"\[[^\]]*\]|<[^>]*>|\([^)]*\)")


def remove_annotations(text: str) -> str:
    """Drop text in brackets, angle brackets and parentheses ([music], <unk>, (laughs))."""
    return _ANNOTATION.sub(" ", text)


_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u02bc`\u00b4", "'"))
_WHOLE_WORDS = {
    "won't": "will not",
    "can't": "can not",
    "cannot": "can not",
    "shan't": "shall not",
    "ain't": "is not",
    "let's": "let us",
    "y'all": "you all",
    "ma'am": "madam",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "gimme": "give me",
    "lemme": "let me",
    "kinda": "kind of",
    "sorta": "sort of",
    "outta": "out of",
}
_WHOLE_WORD = re.compile(r"\b(?:" + "|".join(map(re.escape, _WHOLE_WORDS)) + r")\b")
_IS = re.compile(r"\b(it|that|what|there|here|he|she|who|where|how|when|why)'s\b")
_SUFFIXES = {
    "n't": " not",
    "'re": " are",
    "'ll": " will",
    "'ve": " have",
    "'m": " am",
    "'d": " would",
}
_SUFFIX = re.compile(r"(?:n't|'re|'ll|'ve|'m|'d)\b")


def expand_contractions(text: str) -> str:
    """Expand contractions and colloquial forms (won't → will not, gonna → going to).

    `'s` is expanded only after pronouns and question words (it's → it is), so possessives
    (john's) are left for punctuation removal (johns).
    """
    text = _WHOLE_WORD.sub(lambda m: _WHOLE_WORDS[m.group()], text.translate(_APOSTROPHES))
    if "'" not in text:
        return text
    return _SUFFIX.sub(lambda m: _SUFFIXES[m.group()], _IS.sub(r"\1 is", text))


_FILLERS = re.compile(r"\b(?:hm+|m{2,}|mhm+|uh+|um+|uhm+|erm+)\b")


def remove_fillers(text: str) -> str:
    """Drop hesitation fillers (uh, um, hmm, mhm, erm) that transcripts treat inconsistently."""
    return _FILLERS.sub(" ", text)


# British → American spellings and spelled-out abbreviations; no value is also a key.
_SPELLING_PAIRS = (
    "colour:color colours:colors coloured:colored favourite:favorite favourites:favorites "
    "favour:favor honour:honor humour:humor labour:labor neighbour:neighbor "
    "neighbours:neighbors neighbourhood:neighborhood behaviour:behavior flavour:flavor "
    "harbour:harbor rumour:rumor centre:center centres:centers theatre:theater "
    "metre:meter metres:meters litre:liter litres:liters fibre:fiber organise:organize "
    "organised:organized organisation:organization realise:realize realised:realized "
    "recognise:recognize recognised:recognized apologise:apologize analyse:analyze "
    "analysed:analyzed travelling:traveling travelled:traveled traveller:traveler "
    "cancelled:canceled cancelling:canceling modelling:modeling labelled:labeled "
    "jewellery:jewelry grey:gray programme:program programmes:programs catalogue:catalog "
    "defence:defense offence:offense licence:license tyre:tire aluminium:aluminum "
    "cheque:check mum:mom aeroplane:airplane ageing:aging plough:plow pyjamas:pajamas "
    "sceptical:skeptical manoeuvre:maneuver paediatric:pediatric enquiry:inquiry "
    "mr:mister mrs:missus dr:doctor prof:professor vs:versus ok:okay"
)
_SPELLINGS = dict(pair.split(":") for pair in _SPELLING_PAIRS.split())


def standardize_spellings(text: str) -> str:
    """Make British spellings American and spell out a few titles (colour → color, mr → mister)."""
    return " ".join(_SPELLINGS.get(word, word) for word in text.split())


# --- number words → digits ----------------------------------------------------------------

_SMALL_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TENS_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety"
_SMALL = _SMALL_WORDS.split()
_KINDS: dict[str, tuple[str, int]] = {w: ("unit", i) for i, w in enumerate(_SMALL) if i < 10}
_KINDS |= {w: ("teen", i) for i, w in enumerate(_SMALL) if i >= 10}
_KINDS |= {w: ("tens", 10 * i) for i, w in enumerate(_TENS_WORDS.split(), 2)}
_KINDS["zero"] = ("zero", 0)
_KINDS["hundred"] = ("hundred", 100)
_KINDS |= {"thousand": ("scale", 10**3), "million": ("scale", 10**6)}
_KINDS |= {"billion": ("scale", 10**9), "trillion": ("scale", 10**12)}
_IRREGULAR_ORDINALS = {
    "first": "one",
    "second": "two",
    "third": "three",
    "fifth": "five",
    "eighth": "eight",
    "ninth": "nine",
    "twelfth": "twelve",
}
# Which kind of word may follow which inside one number.
_FOLLOWS = {
    "zero": (None,),
    "unit": (None, "tens", "hundred", "scale"),
    "teen": (None, "hundred", "scale"),
    "tens": (None, "hundred", "scale"),
    "hundred": ("unit", "teen", "tens"),
    "scale": ("unit", "teen", "tens", "hundred"),
}
_LITERAL = re.compile(r"\d+(?:\.\d+)?")
_DIGIT_WORDS = {w: str(i) for i, w in enumerate(_SMALL[:10])}


def _ordinal_kinds() -> dict[str, tuple[str, int, bool]]:
    """Every ordinal word (first, twelfth, twentieth, hundredth...) with its kind and value."""
    ordinals: dict[str, tuple[str, int, bool]] = {}
    for word, (kind, value) in _KINDS.items():
        if word in _IRREGULAR_ORDINALS.values():
            name = next(k for k, v in _IRREGULAR_ORDINALS.items() if v == word)
        elif word.endswith("y"):
            name = word[:-1] + "ieth"
        else:
            name = word + "th"
        ordinals[name] = (kind, value, True)
    return ordinals


_WORD_KINDS = {w: (kind, value, False) for w, (kind, value) in _KINDS.items()}
_WORD_KINDS |= _ordinal_kinds()
_UNIT_WORDS = frozenset({"percent", "dollar", "dollars"})


def _ordinal_suffix(value: int) -> str:
    if value % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")


def _parse(words: list[str], start: int) -> tuple[str, str, int] | None:
    """The longest number phrase at `words[start]`: (text, kind, end index), or None.

    The kind says how the result may join a following phrase: `digit` (a single digit
    word) and `pair` (10-99 without hundreds) join their own kind; `number`, `decimal`
    and `ordinal` join nothing, and an ordinal takes no unit (1st percent stays apart).
    """
    total = current = 0
    last: str | None = None
    smallest_scale = 10**15
    kinds: set[str] = set()
    j, n = start, len(words)
    while j < n:
        parsed = _WORD_KINDS.get(words[j])
        if parsed is None:
            nxt = _WORD_KINDS.get(words[j + 1]) if j + 1 < n else None
            after_scale = last in ("hundred", "scale")
            if words[j] == "and" and after_scale and nxt and nxt[0] in ("unit", "teen", "tens"):
                j += 1
                continue
            break
        kind, value, ordinal = parsed
        if last not in _FOLLOWS[kind] or (kind == "hundred" and current >= 100):
            break
        if kind == "scale" and (value >= smallest_scale or current == 0):
            break
        if kind == "hundred":
            current *= 100
        elif kind == "scale":
            total, current, smallest_scale = total + current * value, 0, value
        else:
            current += value
        kinds.add(kind)
        last, j = kind, j + 1
        if ordinal:
            number = total + current
            return f"{number}{_ordinal_suffix(number)}", "ordinal", j
        if kind == "zero":
            break
    if last is None or last == "and":
        return None
    text = str(total + current)
    if j + 1 < n and words[j] == "point" and words[j + 1] in _DIGIT_WORDS:
        decimals = []
        j += 1
        while j < n and words[j] in _DIGIT_WORDS:
            decimals.append(_DIGIT_WORDS[words[j]])
            j += 1
        return f"{text}.{''.join(decimals)}", "decimal", j
    if kinds <= {"unit", "zero"}:
        return text, "digit", j
    if kinds <= {"teen", "tens", "unit"}:
        return text, "pair", j
    return text, "number", j


def _is_numeric(token: str) -> bool:
    return token[:1].isdigit() or (token[:1] == "$" and token[1:2].isdigit())


def words_to_digits(text: str) -> str:
    """Write number words as digits: twenty-one → 21, one hundred and five → 105,
    three point five → 3.5, twenty first → 21st, nineteen ninety nine → 1999,
    five percent → 5%, ten dollars → $10 (also after digits: 5 percent → 5%).

    Expects punctuation already removed (hyphens as spaces).
    """
    words = text.split()
    if not any(w in _WORD_KINDS or w in _UNIT_WORDS for w in words):
        return text
    out: list[str] = []
    kinds: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        # "one second" is a duration, not "1 2nd".
        after_number = bool(out) and _is_numeric(out[-1])
        parsed = None if (word == "second" and after_number) else _parse(words, i)
        if parsed is None:
            out.append(word)
            kinds.append("literal" if _LITERAL.fullmatch(word) else "")
            i += 1
        else:
            number, kind, i = parsed
            if kinds and kinds[-1] == kind == "digit":
                out[-1] += number  # five five five → 555
            elif kinds and kinds[-1] == kind == "pair" and int(number) >= 10:
                out[-1] += number  # nineteen ninety → 1990
                kinds[-1] = "number"
            else:
                out.append(number)
                kinds.append(kind)
        takes_unit = kinds[-1] in ("digit", "pair", "number", "decimal", "literal")
        if takes_unit and i < len(words) and words[i] in _UNIT_WORDS:
            out[-1] = out[-1] + "%" if words[i] == "percent" else "$" + out[-1]
            kinds[-1] = "final"
            i += 1
    return " ".join(out)
