"""Evaluation data in: manifests of audio + reference text, and hypothesis/reference pairs.

Formats, chosen by the path:

    *.jsonl / *.json     one JSON object per line: `audio`, `text`, optional `language`, `id`
    *.csv / *.tsv        a header row naming the same columns (Common Voice's `path` and
                         `sentence`, NeMo's `audio_filepath` are understood too)
    wav.scp or a folder  Kaldi: `wav.scp` (`id path`) joined with `text` (`id words...`)
     with wav.scp
    a folder with        Hugging Face `audiofolder`: `file_name` + a text column
     metadata.csv/.jsonl
    anything else        (pairs only) plain text, one utterance per line

A bad row (malformed, not UTF-8, no text, missing audio file, duplicate id) never stops a
run: it becomes a `Skipped` entry that names its file and line. Relative audio paths are
resolved against the manifest's folder.

Every other field of a row is kept in `Utterance.columns` (keys lower-cased), so callers
that need more (fine-tuning's `split` and `speaker`, emotion's `label`) read the file once,
with the same quoting, BOM and key rules. A Kaldi folder's `utt2spk` gives `speaker`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yuyin.errors import ConfigurationError, InputError
from yuyin.media import is_url

__all__ = [
    "Manifest",
    "Pair",
    "Skipped",
    "Utterance",
    "is_manifest",
    "read_manifest",
    "read_pairs",
]

_AUDIO_KEYS = ("audio", "audio_filepath", "file_name", "path", "audio_path", "wav", "file")
_TEXT_KEYS = ("text", "transcription", "sentence", "transcript", "reference", "normalized_text")
_ID_KEYS = ("id", "utt_id", "utterance_id", "key", "uttid")
_LANGUAGE_KEYS = ("language", "lang", "locale")
_TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}
_JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")


@dataclass(frozen=True, slots=True)
class Utterance:
    """One usable manifest row.

    Attributes:
        id: the row's id (given, else the audio path as written, else the line number).
        text: the reference text (the hypothesis when the manifest holds hypotheses).
        audio: the absolute audio path, an http(s) URL as written, or None when the
            manifest has no audio.
        language: the row's language code, if the manifest gives one.
        source: the file the row came from.
        line: its 1-based line number there.
        columns: the row's other fields, by key lower-cased and stripped (a Kaldi folder:
            `speaker` from `utt2spk`). Values are strings, stripped: JSON numbers and
            booleans as JSON spells them (`3`, `1.5`, `true`); nulls, objects and lists
            are left out; an empty CSV cell is `""`. Left out of the hash; do not mutate.
    """

    id: str
    text: str
    audio: str | None = None
    language: str | None = None
    source: str = ""
    line: int = 0
    columns: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input row (or utterance) left out of scoring, and why.

    Attributes:
        source: the file it came from.
        line: its 1-based line number, when it has one.
        reason: what was wrong, in words.
        id: its id, when known.
    """

    source: str
    line: int | None
    reason: str
    id: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {"source": self.source, "line": self.line, "id": self.id, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Manifest:
    """The usable rows of a manifest and the ones that were skipped.

    Attributes:
        path: the manifest file or folder.
        format: `jsonl`, `csv`, `tsv`, `kaldi` or `audiofolder`.
        utterances: the usable rows, in file order.
        skipped: the rows left out, with their reasons.
        header: a CSV/TSV's column names, lower-cased and stripped (empty for other formats).
    """

    path: str
    format: str
    utterances: tuple[Utterance, ...]
    skipped: tuple[Skipped, ...] = ()
    header: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pair:
    """A reference and its hypothesis, ready to score.

    Attributes:
        id: the utterance id (the line number for plain text files).
        reference: the reference text.
        hypothesis: the hypothesis text.
        language: the language the reference manifest gives, if any.
        line: the reference's line number.
    """

    id: str
    reference: str
    hypothesis: str
    language: str | None = None
    line: int = 0


def _lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text) for each line; text is None for a line that is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror or exc}", hint="check the path and permissions"
        ) from exc
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None
            continue
        yield number, text.removeprefix("\ufeff") if number == 1 else text


def _lower_keys(row: dict[str, Any]) -> dict[str, Any]:
    return {str(k).strip().lower(): v for k, v in row.items()}


def _pick_key(lowered: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first of `keys` with a value in a row whose keys are lower-cased."""
    for key in keys:
        if key in lowered and lowered[key] not in (None, ""):
            return key
    return None


def _pick(row: dict[str, Any], keys: tuple[str, ...]) -> Any:
    lowered = _lower_keys(row)
    key = _pick_key(lowered, keys)
    return None if key is None else lowered[key]


def _as_text(value: Any) -> str | None:
    """A column value as a string; None for nulls, objects and lists."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


class _Builder:
    """Collects rows into a Manifest: checks text, audio and ids, records what it skips."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        base: Path,
        *,
        need_audio: bool,
        allow_empty: bool,
        need_text: bool = True,
        unique_ids: bool = True,
    ) -> None:
        self.path, self.fmt, self.base = path, fmt, base
        self.need_audio, self.allow_empty = need_audio, allow_empty
        self.need_text, self.unique_ids = need_text, unique_ids
        self.header: tuple[str, ...] = ()
        self.rows: list[Utterance] = []
        self.skipped: list[Skipped] = []
        self._seen: dict[str, int] = {}

    def skip(
        self, line: int | None, reason: str, uid: str | None = None, src: Path | None = None
    ) -> None:
        self.skipped.append(Skipped(str(src or self.path), line, reason, uid))

    def add(self, line: int, row: dict[str, Any], src: Path | None = None) -> None:
        lowered = _lower_keys(row)
        keys = {
            name: _pick_key(lowered, aliases)
            for name, aliases in (
                ("text", _TEXT_KEYS),
                ("audio", _AUDIO_KEYS),
                ("id", _ID_KEYS),
                ("language", _LANGUAGE_KEYS),
            )
        }
        text, audio, given_id, language = (
            None if key is None else lowered[key] for key in keys.values()
        )
        if isinstance(audio, dict):  # Hugging Face datasets write {"path": ..., "bytes": ...}
            audio = audio.get("path")
        if not self.need_text and not isinstance(text, str):
            text, keys["text"] = None, None  # not a transcript: left in `columns`
        uid = str(given_id) if given_id is not None else str(audio) if audio else str(line)
        resolved = self._resolve(audio)
        reason = self._problem(row, text, audio, resolved, uid)
        if reason is not None:
            self.skip(line, reason, uid, src)
            return
        self._seen.setdefault(uid, line)
        used = set(keys.values())
        columns = {k: v for k, v in lowered.items() if k not in used}
        self.rows.append(
            Utterance(
                uid,
                (text or "").strip(),
                resolved,
                str(language) if language is not None else None,
                str(src or self.path),
                line,
                {k: t for k, v in columns.items() if (t := _as_text(v)) is not None},
            )
        )

    def _resolve(self, audio: Any) -> str | None:
        if not isinstance(audio, str):
            return None
        if is_url(audio):
            return audio  # a link is read as given (yuyin.audio and batch download it)
        full = Path(audio).expanduser()
        return str(full if full.is_absolute() else self.base / full)

    def _problem(
        self, row: dict[str, Any], text: Any, audio: Any, resolved: str | None, uid: str
    ) -> str | None:
        """Why a row cannot be used, or None."""
        if not isinstance(text, str | None):
            return f"text is not a string: {text!r}"
        if not (text or "").strip() and self.need_text and not self.allow_empty:
            if text is None and not any(str(k).strip().lower() in _TEXT_KEYS for k in row):
                return f"no reference text (a {', '.join(_TEXT_KEYS[:3])} field)"
            return "empty reference text"
        if audio is not None and resolved is None:
            return f"audio is not a path: {audio!r}"
        if self.need_audio and resolved is None:
            return "no audio path (an audio or file_name field)"
        if self.need_audio and resolved and not is_url(resolved) and not Path(resolved).is_file():
            return f"audio file not found: {resolved}"
        if self.unique_ids and uid in self._seen:
            return f"duplicate id {uid!r} (first on line {self._seen[uid]})"
        return None

    def build(self) -> Manifest:
        return Manifest(
            str(self.path), self.fmt, tuple(self.rows), tuple(self.skipped), self.header
        )


def _read_jsonl(b: _Builder, path: Path) -> None:
    for line, text in _lines(path):
        if text is None:
            b.skip(line, "not UTF-8 text", src=path)
        elif text.strip():
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                b.skip(line, f"malformed JSON ({exc.msg} at column {exc.colno})", src=path)
                continue
            if not isinstance(row, dict):
                b.skip(line, "not a JSON object", src=path)
                continue
            b.add(line, row, path)


def _read_table(b: _Builder, path: Path, delimiter: str) -> None:
    decoded: list[str] = []
    for line, text in _lines(path):
        if text is None:
            b.skip(line, "not UTF-8 text", src=path)
        decoded.append(text or "")
    # Common Voice's TSVs leave quotes unescaped; only CSV uses quoting.
    if delimiter == "\t":
        reader = csv.reader(decoded, delimiter=delimiter, quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(decoded, delimiter=delimiter)
    header: list[str] | None = None
    try:
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = [f.strip().lower() for f in fields]
                b.header = tuple(header)
                if b.need_text and _pick(dict.fromkeys(header, "x"), _TEXT_KEYS) is None:
                    raise InputError(
                        f"{path}: the header row names no text column: {', '.join(header)}",
                        hint="name the columns, e.g. audio,text (or file_name,transcription)",
                    )
                continue
            if len(fields) != len(header):
                msg = f"expected {len(header)} columns, found {len(fields)}"
                b.skip(reader.line_num, msg, src=path)
                continue
            b.add(reader.line_num, dict(zip(header, fields, strict=True)), path)
    except csv.Error as exc:
        b.skip(reader.line_num, f"malformed {path.suffix[1:].upper()} ({exc})", src=path)


def _read_id_lines(b: _Builder, path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, id, rest) for each `id rest` line of a Kaldi file."""
    for line, text in _lines(path):
        if text is None:
            b.skip(line, "not UTF-8 text", src=path)
        elif text.strip():
            uid, _, rest = text.strip().partition(" ")
            yield line, uid, rest.strip()


def _read_speakers(path: Path) -> dict[str, str]:
    """Kaldi's `utt2spk` (`id speaker`), when the folder has one; lines that are not UTF-8
    or name no speaker are passed over (the utterance stays, without a speaker)."""
    if not path.is_file():
        return {}
    found: dict[str, str] = {}
    for _line, text in _lines(path):
        uid, _, speaker = (text or "").strip().partition(" ")
        if uid and speaker.strip():
            found[uid] = speaker.strip()
    return found


def _read_kaldi(b: _Builder, folder: Path) -> None:
    text_path, scp_path = folder / "text", folder / "wav.scp"
    speakers = _read_speakers(folder / "utt2spk")
    texts: dict[str, tuple[int, str]] = {}
    for line, uid, words in _read_id_lines(b, text_path):
        if uid in texts:
            b.skip(line, f"duplicate id {uid!r} (first on line {texts[uid][0]})", uid, text_path)
        else:
            texts[uid] = (line, words)
    if not scp_path.is_file():  # a bare `text` file: ids and texts, no audio
        for uid, (line, words) in texts.items():
            b.add(line, _kaldi_row(uid, words, None, speakers), text_path)
        return
    used: set[str] = set()
    for line, uid, audio in _read_id_lines(b, scp_path):
        if audio.endswith("|"):
            b.skip(line, "piped wav.scp commands are not supported", uid, scp_path)
        elif uid not in texts:
            b.skip(line, f"no transcript for {uid!r} in {text_path.name}", uid, scp_path)
        else:
            used.add(uid)
            text_line, words = texts[uid]
            if not words and not b.allow_empty:
                b.skip(text_line, "empty reference text", uid, text_path)
            else:
                b.add(line, _kaldi_row(uid, words, audio, speakers), scp_path)
    for uid, (line, _words) in texts.items():
        if uid not in used:
            b.skip(line, f"no audio for {uid!r} in wav.scp", uid, text_path)


def _kaldi_row(uid: str, words: str, audio: str | None, speakers: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {"id": uid, "text": words}
    if audio is not None:
        row["audio"] = audio
    if uid in speakers:
        row["speaker"] = speakers[uid]
    return row


def _detect(path: Path) -> tuple[str, Path]:
    """(format, file or folder to read) for a manifest path."""
    if path.is_dir():
        if (path / "wav.scp").is_file() or (path / "text").is_file():
            return "kaldi", path
        for name in ("metadata.csv", "metadata.jsonl"):
            if (path / name).is_file():
                return "audiofolder", path / name
        raise InputError(
            f"{path} is a folder without a manifest",
            hint="expected wav.scp + text (Kaldi) or metadata.csv (audiofolder)",
        )
    if path.name in ("wav.scp", "text"):
        return "kaldi", path.parent
    suffix = path.suffix.lower()
    if path.name in ("metadata.csv", "metadata.jsonl"):
        return "audiofolder", path
    if suffix in _JSON_SUFFIXES:
        return "jsonl", path
    if suffix in _TABLE_SUFFIXES:
        return suffix[1:], path
    raise ConfigurationError(
        f"cannot tell the manifest format of {path}",
        hint="use .jsonl, .csv or .tsv, a Kaldi folder (wav.scp + text) or an audiofolder",
    )


def is_manifest(path: str | Path) -> bool:
    """Whether `path` looks like a manifest (not a plain one-utterance-per-line text file)."""
    p = Path(path)
    return (
        p.is_dir()
        or p.name in ("wav.scp", "text", "metadata.csv", "metadata.jsonl")
        or p.suffix.lower() in (*_JSON_SUFFIXES, *_TABLE_SUFFIXES)
    )


def read_manifest(
    path: str | Path,
    *,
    need_audio: bool = True,
    allow_empty_text: bool = False,
    need_text: bool = True,
    unique_ids: bool = True,
) -> Manifest:
    """Read a manifest; bad rows are skipped and listed, never fatal.

    Args:
        path: a .jsonl/.csv/.tsv file, a Kaldi folder or wav.scp, or an audiofolder.
        need_audio: every row needs an existing audio file (for running ASR).
        allow_empty_text: accept rows with empty text (hypothesis manifests).
        need_text: rows are transcripts; False for manifests of other labels (emotion's
            `audio,label`): no text column needed in a table's header or in a row, `text`
            is "" where absent, and a non-string text field stays in `columns`.
        unique_ids: skip a row whose id an earlier row has; False keeps every row (the
            caller checks ids after its own checks).

    Raises:
        InputError: the path is missing or unreadable, or it holds no rows at all.
        ConfigurationError: the format cannot be told from the path.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"no such manifest: {p}", hint="check the path")
    fmt, target = _detect(p)
    base = (target if target.is_dir() else target.parent).resolve()
    b = _Builder(
        p,
        fmt,
        base,
        need_audio=need_audio,
        allow_empty=allow_empty_text,
        need_text=need_text,
        unique_ids=unique_ids,
    )
    if fmt == "kaldi":
        if not (target / "text").is_file():
            raise InputError(f"{target} has no Kaldi `text` file", hint="add text (id words...)")
        _read_kaldi(b, target)
    elif target.suffix.lower() in _TABLE_SUFFIXES:
        _read_table(b, target, _TABLE_SUFFIXES[target.suffix.lower()])
    else:
        _read_jsonl(b, target)
    manifest = b.build()
    if not manifest.utterances and not manifest.skipped:
        raise InputError(f"manifest {p} is empty", hint="add one row per utterance")
    return manifest


def _plain_lines(path: Path) -> list[tuple[int, str | None]]:
    if not path.is_file():
        raise InputError(f"no such file: {path}", hint="check the path")
    return list(_lines(path))


def read_pairs(hypotheses: str | Path, references: str | Path) -> tuple[list[Pair], list[Skipped]]:
    """Pair hypotheses with references: two manifests joined by id, or two plain text files
    joined line by line (one utterance per line, empty lines kept as empty utterances).

    Args:
        hypotheses: the hypothesis file (or manifest; empty texts allowed).
        references: the reference file (or manifest).

    Raises:
        InputError: a file is missing or empty, or two plain files differ in line count.
        ConfigurationError: one is a manifest and the other plain text.
    """
    hyp_path, ref_path = Path(hypotheses).expanduser(), Path(references).expanduser()
    if is_manifest(hyp_path) != is_manifest(ref_path):
        raise ConfigurationError(
            "--hyp and --ref must both be manifests (joined by id) or both plain text",
            hint="plain text files hold one utterance per line, in the same order",
        )
    if is_manifest(ref_path):
        return _join_manifests(
            read_manifest(hyp_path, need_audio=False, allow_empty_text=True),
            read_manifest(ref_path, need_audio=False),
        )
    hyp_lines, ref_lines = _plain_lines(hyp_path), _plain_lines(ref_path)
    if not ref_lines:
        raise InputError(f"reference file {ref_path} is empty", hint="one utterance per line")
    if len(hyp_lines) != len(ref_lines):
        raise InputError(
            f"{hyp_path} has {len(hyp_lines)} lines but {ref_path} has {len(ref_lines)}",
            hint="one utterance per line in both files, or manifests with an id column",
        )
    pairs: list[Pair] = []
    skipped: list[Skipped] = []
    for (line, hyp), (_, ref) in zip(hyp_lines, ref_lines, strict=True):
        if ref is None or hyp is None:
            skipped.append(
                Skipped(str(ref_path if ref is None else hyp_path), line, "not UTF-8 text")
            )
        elif not ref.strip():
            skipped.append(Skipped(str(ref_path), line, "empty reference text", str(line)))
        else:
            pairs.append(Pair(str(line), ref.strip(), hyp.strip(), None, line))
    return pairs, skipped


def _join_manifests(hyp: Manifest, ref: Manifest) -> tuple[list[Pair], list[Skipped]]:
    by_id = {u.id: u for u in hyp.utterances}
    skipped = [*hyp.skipped, *ref.skipped]
    pairs: list[Pair] = []
    for u in ref.utterances:
        h = by_id.pop(u.id, None)
        if h is None:
            skipped.append(Skipped(u.source, u.line, "no hypothesis with this id", u.id))
        else:
            pairs.append(Pair(u.id, u.text, h.text, u.language, u.line))
    for h in by_id.values():
        skipped.append(Skipped(h.source, h.line, "no reference with this id", h.id))
    return pairs, skipped
