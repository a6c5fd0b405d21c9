"""Language codes: Whisper's 100 languages, their names, and the zh-TW / zh-CN script variants."""

from __future__ import annotations

from dataclasses import dataclass

from yuyin.errors import ConfigurationError

__all__ = [
    "BCP47_CODES",
    "BCP47_ENGINES",
    "LANGUAGES",
    "MULTILINGUAL_VOCAB_SIZE",
    "UNSPACED_LANGUAGES",
    "LanguageChoice",
    "engine_language_code",
    "language_from_engine_code",
    "resolve_language",
]

#: Multilingual Whisper vocabularies hold this many tokens or more (large-v3: 51866);
#: English-only ones hold 51864.
MULTILINGUAL_VOCAB_SIZE = 51865

#: Languages written without spaces between words: each character is a word (as in
#: openai-whisper's word timing).
UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th", "lo", "my", "yue"})

#: Whisper's language codes and English names (the order of the model's language tokens).
LANGUAGES: dict[str, str] = {
    "en": "english", "zh": "chinese", "de": "german", "es": "spanish", "ru": "russian",
    "ko": "korean", "fr": "french", "ja": "japanese", "pt": "portuguese", "tr": "turkish",
    "pl": "polish", "ca": "catalan", "nl": "dutch", "ar": "arabic", "sv": "swedish",
    "it": "italian", "id": "indonesian", "hi": "hindi", "fi": "finnish", "vi": "vietnamese",
    "he": "hebrew", "uk": "ukrainian", "el": "greek", "ms": "malay", "cs": "czech",
    "ro": "romanian", "da": "danish", "hu": "hungarian", "ta": "tamil", "no": "norwegian",
    "th": "thai", "ur": "urdu", "hr": "croatian", "bg": "bulgarian", "lt": "lithuanian",
    "la": "latin", "mi": "maori", "ml": "malayalam", "cy": "welsh", "sk": "slovak",
    "te": "telugu", "fa": "persian", "lv": "latvian", "bn": "bengali", "sr": "serbian",
    "az": "azerbaijani", "sl": "slovenian", "kn": "kannada", "et": "estonian",
    "mk": "macedonian", "br": "breton", "eu": "basque", "is": "icelandic", "hy": "armenian",
    "ne": "nepali", "mn": "mongolian", "bs": "bosnian", "kk": "kazakh", "sq": "albanian",
    "sw": "swahili", "gl": "galician", "mr": "marathi", "pa": "punjabi", "si": "sinhala",
    "km": "khmer", "sn": "shona", "yo": "yoruba", "so": "somali", "af": "afrikaans",
    "oc": "occitan", "ka": "georgian", "be": "belarusian", "tg": "tajik", "sd": "sindhi",
    "gu": "gujarati", "am": "amharic", "yi": "yiddish", "lo": "lao", "uz": "uzbek",
    "fo": "faroese", "ht": "haitian creole", "ps": "pashto", "tk": "turkmen",
    "nn": "nynorsk", "mt": "maltese", "sa": "sanskrit", "lb": "luxembourgish",
    "my": "myanmar", "bo": "tibetan", "tl": "tagalog", "mg": "malagasy", "as": "assamese",
    "tt": "tatar", "ln": "lingala", "ha": "hausa", "ba": "bashkir", "jw": "javanese",
    "su": "sundanese", "haw": "hawaiian", "yue": "cantonese",
}  # fmt: skip

# Regional Chinese tags users type, mapped to Whisper's `zh` plus the script to write.
_ZH_VARIANTS: dict[str, str] = {
    "zh-tw": "traditional",
    "zh-hant": "traditional",
    "zh-hk": "traditional",
    "cmn-hant-tw": "traditional",
    "zh-cn": "simplified",
    "zh-hans": "simplified",
    "zh-sg": "simplified",
    "cmn-hans-cn": "simplified",
}
_NAME_TO_CODE = {name: code for code, name in LANGUAGES.items()}
_NAME_TO_CODE.update({"mandarin": "zh", "burmese": "my", "castilian": "es", "flemish": "nl"})

ZH_SCRIPTS: tuple[str, ...] = ("traditional", "simplified")


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    """A resolved language request: Whisper's code (None = detect) and the Chinese script."""

    code: str | None
    zh_script: str | None = None


def resolve_language(language: str | None, zh_script: str | None = None) -> LanguageChoice:
    """Turn a user's language code/name and script choice into what the model needs.

    Args:
        language: a Whisper code (`en`), a name (`English`), `zh-TW`/`zh-CN` (and similar
            regional tags), `auto` or None to detect.
        zh_script: `traditional`, `simplified` or None; overrides the script a tag implies.

    Raises:
        ConfigurationError: for an unknown language or script, listing the valid ones.
    """
    if zh_script is not None and zh_script not in ZH_SCRIPTS:
        raise ConfigurationError(
            f"unknown Chinese script {zh_script!r}",
            hint="use --zh-script traditional or --zh-script simplified",
        )
    if language is None or language.strip().lower() in ("", "auto"):
        return LanguageChoice(None, zh_script)
    key = language.strip().lower().replace("_", "-")
    if key in _ZH_VARIANTS:
        return LanguageChoice("zh", zh_script or _ZH_VARIANTS[key])
    if key in LANGUAGES:
        return LanguageChoice(key, zh_script)
    if key in _NAME_TO_CODE:
        return LanguageChoice(_NAME_TO_CODE[key], zh_script)
    raise ConfigurationError(
        f"unknown language {language!r}",
        hint="use one of: auto, zh-TW, zh-CN, " + ", ".join(sorted(LANGUAGES)),
    )


# --- per-engine language codes (issue 8) -----------------------------------------------------

#: Engines that take BCP-47 locale tags (`cmn-Hant-TW`) instead of Whisper's codes (`zh`).
BCP47_ENGINES: frozenset[str] = frozenset({"google"})

#: The Google Speech-to-Text locale for each Whisper language it serves (`zh` is special:
#: its tag depends on the script, see `_ZH_BCP47`). Languages missing here have no locale
#: we can vouch for; name one explicitly (`--language-codes`) to use them.
BCP47_CODES: dict[str, str] = {
    "en": "en-US", "yue": "yue-Hant-HK", "ja": "ja-JP", "ko": "ko-KR", "de": "de-DE",
    "es": "es-ES", "fr": "fr-FR", "it": "it-IT", "pt": "pt-BR", "ru": "ru-RU", "nl": "nl-NL",
    "tr": "tr-TR", "pl": "pl-PL", "ca": "ca-ES", "ar": "ar-EG", "sv": "sv-SE", "id": "id-ID",
    "hi": "hi-IN", "fi": "fi-FI", "vi": "vi-VN", "he": "iw-IL", "uk": "uk-UA", "el": "el-GR",
    "ms": "ms-MY", "cs": "cs-CZ", "ro": "ro-RO", "da": "da-DK", "hu": "hu-HU", "ta": "ta-IN",
    "no": "no-NO", "th": "th-TH", "ur": "ur-PK", "hr": "hr-HR", "bg": "bg-BG", "lt": "lt-LT",
    "ml": "ml-IN", "cy": "cy-GB", "sk": "sk-SK", "te": "te-IN", "fa": "fa-IR", "lv": "lv-LV",
    "bn": "bn-BD", "sr": "sr-RS", "az": "az-AZ", "sl": "sl-SI", "kn": "kn-IN", "et": "et-EE",
    "mk": "mk-MK", "eu": "eu-ES", "is": "is-IS", "hy": "hy-AM", "ne": "ne-NP", "mn": "mn-MN",
    "bs": "bs-BA", "kk": "kk-KZ", "sq": "sq-AL", "sw": "sw-KE", "gl": "gl-ES", "mr": "mr-IN",
    "pa": "pa-Guru-IN", "si": "si-LK", "km": "km-KH", "yo": "yo-NG", "so": "so-SO",
    "af": "af-ZA", "ka": "ka-GE", "be": "be-BY", "gu": "gu-IN", "am": "am-ET", "lo": "lo-LA",
    "uz": "uz-UZ", "mt": "mt-MT", "my": "my-MM", "tl": "fil-PH", "jw": "jv-ID", "su": "su-ID",
    "ha": "ha-NG", "ps": "ps-AF", "tg": "tg-TJ", "sd": "sd-IN", "oc": "oc-FR", "lb": "lb-LU",
    "as": "as-IN", "ln": "ln-CD", "sn": "sn-ZW", "mi": "mi-NZ",
}  # fmt: skip

# Mandarin in each script; without a script yuyin means Traditional (Taiwan), its focus.
_ZH_BCP47: dict[str | None, str] = {
    "traditional": "cmn-Hant-TW",
    "simplified": "cmn-Hans-CN",
    None: "cmn-Hant-TW",
}
# Primary subtags that differ from Whisper's codes (old or macrolanguage forms included).
_BCP47_PRIMARY: dict[str, str] = {
    "cmn": "zh", "iw": "he", "fil": "tl", "jv": "jw", "nb": "no",
}  # fmt: skip
_TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo"})


def engine_language_code(
    language: str | None, zh_script: str | None = None, *, engine: str = "google"
) -> str | None:
    """The code `engine` expects for a yuyin language choice (`zh` + traditional → `cmn-Hant-TW`).

    Args:
        language: anything `resolve_language` accepts (`en`, `English`, `zh-TW`), or None /
            `auto` to detect.
        zh_script: `traditional`, `simplified` or None; overrides the script `language` implies.
        engine: the engine name; BCP-47 engines (`google`) get a locale tag, Whisper engines
            (`faster-whisper`, `openai`, ...) get Whisper's own code.

    Returns:
        The engine's code, or None when the language is left to detection.

    Raises:
        ConfigurationError: an unknown language or script, or a language the engine has no
            locale for.
    """
    choice = resolve_language(language, zh_script)
    if choice.code is None or engine not in BCP47_ENGINES:
        return choice.code
    if choice.code == "zh":
        return _ZH_BCP47[choice.zh_script]
    tag = BCP47_CODES.get(choice.code)
    if tag is None:
        raise ConfigurationError(
            f"no {engine} locale is known for {LANGUAGES[choice.code]} ({choice.code!r})",
            hint="name the BCP-47 locale yourself, e.g. --language-codes xx-YY",
        )
    return tag


def language_from_engine_code(code: str, *, engine: str = "google") -> LanguageChoice:
    """The yuyin language choice for a code an engine reports (`cmn-Hant-TW` → `zh`, traditional).

    Args:
        code: the engine's language code; BCP-47 tags are matched case-insensitively and by
            their primary subtag when the full tag is not in the table (`en-GB` → `en`).
        engine: the engine name (see `engine_language_code`).

    Raises:
        ConfigurationError: a code that names no language Whisper knows.
    """
    if engine not in BCP47_ENGINES:
        return resolve_language(code)
    parts = code.strip().replace("_", "-").lower().split("-")
    primary = _BCP47_PRIMARY.get(parts[0], parts[0])
    if primary not in LANGUAGES:
        raise ConfigurationError(
            f"the {engine} language code {code!r} names no language yuyin knows",
            hint="use one of: " + ", ".join(sorted(v.lower() for v in BCP47_CODES.values())),
        )
    if primary != "zh":
        return LanguageChoice(primary)
    subtags = set(parts[1:])
    if "hant" in subtags or subtags & _TRADITIONAL_REGIONS:
        return LanguageChoice("zh", "traditional")
    if "hans" in subtags or subtags & {"cn", "sg"}:
        return LanguageChoice("zh", "simplified")
    return LanguageChoice("zh")
