"""Language codes: Whisper's 100 languages, their names, and the zh-TW / zh-CN script variants."""

from __future__ import annotations

from dataclasses import dataclass

from yuyin.errors import ConfigurationError

__all__ = ["LANGUAGES", "LanguageChoice", "resolve_language"]

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
