"""What a batch run works on: files, folders, globs, manifests and lists of paths or URLs.

Every input becomes a `BatchItem` whose `key` (the absolute path, or the URL as given) is
its identity in the journal; the same file named twice, through two routes, is one item.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from yuyin.errors import InputError
from yuyin.eval.manifest import Skipped, is_manifest, read_manifest
from yuyin.fileio import find_media
from yuyin.media import canonical_url, is_url

__all__ = ["LIST_SUFFIXES", "BatchInputs", "BatchItem", "expand_inputs"]

#: Suffixes of plain-text files that list one path or URL per line (`#` starts a comment).
LIST_SUFFIXES: frozenset[str] = frozenset({".txt", ".lst", ".list"})


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One input of a batch run.

    Attributes:
        key: its identity in the journal: the absolute path, or the URL (one spelling per
            YouTube video, see `yuyin.media.canonical_url`).
        source: what is transcribed (the same path or URL).
        id: the utterance id written to the output manifest (a manifest row's id, else `key`),
            so `yuyin eval --hyp` can join the output with the reference manifest.
        reference: the manifest row's text, when the input came from a manifest.
        language: the manifest row's language, when it gives one.
    """

    key: str
    source: str
    id: str
    reference: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class BatchInputs:
    """The expanded inputs of a run.

    Attributes:
        items: the unique inputs, in the order first named.
        duplicates: inputs named more than once (by key), each listed once per extra naming.
        skipped: manifest rows that cannot be used (no audio path, malformed), with reasons.
    """

    items: tuple[BatchItem, ...]
    duplicates: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()


def _is_url(text: str) -> bool:
    return "://" in text


def _url_key(url: str) -> str:
    # One key per video: youtu.be/ID, shorts/ID and watch?v=ID&t=5 are the same work.
    return canonical_url(url) if is_url(url) else url


def _key(path: str | Path) -> str:
    # realpath: `a/../en.wav`, `./en.wav` and a symlink to it are all the same work.
    return os.path.realpath(os.path.expanduser(path))


def _read_list(path: Path) -> tuple[list[BatchItem], list[Skipped]]:
    """Items from a text file of paths/URLs; relative paths are read from the file's folder."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror or exc}", hint="check the path and permissions"
        ) from exc
    items: list[BatchItem] = []
    skipped: list[Skipped] = []
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            line = raw.decode("utf-8").removeprefix("\ufeff").strip()
        except UnicodeDecodeError:
            skipped.append(Skipped(str(path), number, "not UTF-8 text"))
            continue
        if not line or line.startswith("#"):
            continue
        if _is_url(line):
            items.append(BatchItem(_url_key(line), line, line))
            continue
        # A missing file is kept: the worker reports it as failed, like a file that vanishes
        # mid-run, so one bad line never stops the other thousands.
        key = _key(path.parent / Path(line).expanduser())
        items.append(BatchItem(key, key, key))
    return items, skipped


def _read_manifest_items(path: Path) -> tuple[list[BatchItem], list[Skipped]]:
    manifest = read_manifest(path, need_audio=False, allow_empty_text=True)
    items: list[BatchItem] = []
    skipped = list(manifest.skipped)
    for u in manifest.utterances:
        if u.audio is None:
            skipped.append(Skipped(u.source, u.line, "no audio path", u.id))
            continue
        if _is_url(u.audio):
            items.append(BatchItem(_url_key(u.audio), u.audio, u.id, u.text or None, u.language))
            continue
        key = _key(u.audio)
        items.append(BatchItem(key, key, u.id, u.text or None, u.language))
    return items, skipped


def _is_manifest_input(path: Path) -> bool:
    if path.is_dir():  # only folders that hold a manifest; others are searched for media
        return any(
            (path / name).is_file()
            for name in ("wav.scp", "text", "metadata.csv", "metadata.jsonl")
        )
    return path.suffix.lower() not in LIST_SUFFIXES and is_manifest(path)


def expand_inputs(inputs: Iterable[str]) -> BatchInputs:
    """Expand files, folders (recursively), globs, manifests and list files into unique items.

    A `.txt`/`.lst`/`.list` file lists one path or URL per line; a `.jsonl`/`.csv`/`.tsv`
    file, a Kaldi folder or an audiofolder is read as a manifest (the `yuyin eval` formats);
    any other file is media. Folders and globs are expanded as `yuyin transcribe` does.

    Raises:
        MediaNotFoundError: an input that does not exist, or a folder/glob with no media.
        InputError: a list file or manifest that cannot be read or holds no rows.
    """
    found: list[BatchItem] = []
    skipped: list[Skipped] = []
    for item in inputs:
        if _is_url(item):
            found.append(BatchItem(_url_key(item), item, item))
            continue
        path = Path(item).expanduser()
        if path.exists() and _is_manifest_input(path):
            rows, bad = _read_manifest_items(path)
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            rows, bad = _read_list(path)
        else:
            rows = [BatchItem(_key(p), _key(p), _key(p)) for p in find_media([item])]
            bad = []
        found.extend(rows)
        skipped.extend(bad)
    unique: dict[str, BatchItem] = {}
    duplicates: list[str] = []
    for entry in found:
        if entry.key in unique:
            duplicates.append(entry.key)
        else:
            unique[entry.key] = entry
    return BatchInputs(tuple(unique.values()), tuple(duplicates), tuple(skipped))
