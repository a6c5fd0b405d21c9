"""What a batch run works on: files, folders, globs, manifests and lists of paths or URLs.

Every input becomes a `BatchItem` whose `key` (the absolute path, or the URL as given) is
its identity in the journal; the same file named twice, through two routes, is one item.
With `MediaOptions(playlist=True)` a playlist URL becomes one item per entry, each with the
entry's own link as its key, so a resumed run skips finished entries one by one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yuyin.errors import InputError, YuyinError
from yuyin.eval.manifest import Skipped, is_manifest, read_manifest
from yuyin.fileio import find_media
from yuyin.media import MediaEntry, MediaOptions, canonical_url, is_url, list_media
from yuyin.transcribe import resolve_download_dir

__all__ = ["LIST_SUFFIXES", "BatchInputs", "BatchItem", "UnlistedInput", "expand_inputs"]

log = logging.getLogger(__name__)

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
            so `yuyin eval --hyp` can join the output with the reference manifest; a
            playlist entry's is `<playlist URL or row id> [N]` (N counts from 1).
        reference: the manifest row's text, when the input came from a manifest.
        language: the manifest row's language, when it gives one.
    """

    key: str
    source: str
    id: str
    reference: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class UnlistedInput:
    """A playlist URL whose entries could not be listed (HTTP 404, no network...).

    It fails alone, and is not journaled: the next run lists it again.

    Attributes:
        source: the URL as given.
        id: the item's id (the URL, or the manifest row's id).
        error: why it could not be listed.
    """

    source: str
    id: str
    error: YuyinError


@dataclass(frozen=True, slots=True)
class BatchInputs:
    """The expanded inputs of a run.

    Attributes:
        items: the unique inputs, in the order first named.
        duplicates: inputs named more than once (by key), each listed once per extra naming.
        skipped: manifest rows that cannot be used (no audio path, malformed), with reasons.
        unlisted: playlist URLs whose entries could not be listed (with `playlist` only).
    """

    items: tuple[BatchItem, ...]
    duplicates: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    unlisted: tuple[UnlistedInput, ...] = ()


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


def expand_inputs(
    inputs: Iterable[str],
    *,
    media: MediaOptions | None = None,
    cache_dir: Path | None = None,
) -> BatchInputs:
    """Expand files, folders (recursively), globs, manifests and list files into unique items.

    A `.txt`/`.lst`/`.list` file lists one path or URL per line; a `.jsonl`/`.csv`/`.tsv`
    file, a Kaldi folder or an audiofolder is read as a manifest (the `yuyin eval` formats);
    any other file is media. Folders and globs are expanded as `yuyin transcribe` does.

    Args:
        inputs: paths, folders, globs, manifests, list files and URLs.
        media: with `playlist`, each http(s) URL (wherever it was named) is looked up
            (yt-dlp, or the download cache) and a playlist becomes one item per entry; a
            URL that cannot be looked up goes to `unlisted`. Without it nothing touches the
            network, and a playlist URL fails in the worker with a hint to add `--playlist`.
        cache_dir: the model cache folder, whose `downloads` is the default download cache.

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
    unlisted: list[UnlistedInput] = []
    duplicates: list[str] = []
    if media is not None and media.playlist:
        found, unlisted, duplicates = _expand_playlists(
            found, media, resolve_download_dir(media, cache_dir)
        )
    unique: dict[str, BatchItem] = {}
    for entry in found:
        if entry.key in unique:
            duplicates.append(entry.key)
        else:
            unique[entry.key] = entry
    return BatchInputs(tuple(unique.values()), tuple(duplicates), tuple(skipped), tuple(unlisted))


def _expand_playlists(
    items: list[BatchItem], media: MediaOptions, download_dir: Path
) -> tuple[list[BatchItem], list[UnlistedInput], list[str]]:
    """Replace each playlist URL by its entries; look each URL up once, however often named.

    Returns:
        the items (entries in place of their playlist), the URLs that could not be looked
        up, and the keys of repeated namings of those (counted as duplicates).
    """
    looked_up: dict[str, list[MediaEntry] | YuyinError] = {}
    expanded: list[BatchItem] = []
    unlisted: list[UnlistedInput] = []
    repeated: list[str] = []
    for item in items:
        if not is_url(item.source):
            expanded.append(item)
            continue
        if item.key in looked_up:
            found = looked_up[item.key]
            if isinstance(found, YuyinError):
                repeated.append(item.key)
                continue
        else:
            found = looked_up[item.key] = _look_up(item.source, media, download_dir)
            if isinstance(found, YuyinError):
                unlisted.append(UnlistedInput(item.source, item.id, found))
                continue
        if len(found) == 1 and found[0].index is None:  # one video: the item as it was
            expanded.append(item)
            continue
        for entry in found:
            label = f"{item.id} [{entry.index}]"
            link = _entry_link(entry.info or {}, item.source)
            if link is None:
                unlisted.append(UnlistedInput(item.source, label, _no_link(item.source, entry)))
            else:
                expanded.append(BatchItem(_url_key(link), link, label, None, item.language))
    return expanded, unlisted, repeated


def _look_up(url: str, media: MediaOptions, download_dir: Path) -> list[MediaEntry] | YuyinError:
    try:
        return list_media(url, media, download_dir=download_dir)
    except YuyinError as exc:
        log.debug("%s: cannot list", url, exc_info=True)
        return exc
    except Exception as exc:
        # Planning is a boundary too: one URL that trips up the extractor fails alone.
        log.warning("%s: unexpected error", url, exc_info=True)
        return YuyinError(
            f"cannot list {url}: unexpected error: {type(exc).__name__}: {exc}",
            hint="please report it with the link that caused it",
        )


def _no_link(playlist: str, entry: MediaEntry) -> InputError:
    return InputError(
        f"entry {entry.index} of the playlist {playlist} has no link of its own",
        hint=f"transcribe it with `yuyin transcribe {playlist} --playlist`",
    )


def _entry_link(info: dict[str, Any], playlist: str) -> str | None:
    """The link of a playlist entry by itself, to transcribe (and journal) it on its own.

    yt-dlp lists a site's playlist flat (`_type: url`, the video page in `url`); its generic
    extractor lists a page's <audio>/<video> tags as full entries whose media link is in
    `formats`. A link that is the playlist's own is no link to the entry.

    Args:
        info: the entry's yt-dlp info (`MediaEntry.info`).
        playlist: the playlist's URL.

    Returns:
        An http(s) URL, or None when the entry has none of its own.
    """
    flat = info.get("_type") in ("url", "url_transparent")
    fields = ("url", "webpage_url", "original_url") if flat else ("webpage_url", "original_url")
    candidates = [info.get(name) for name in fields]
    candidates += [f.get("url") for f in info.get("formats") or () if isinstance(f, dict)][:1]
    if not flat:
        candidates.append(info.get("url"))
    own = canonical_url(playlist)
    for link in candidates:
        if isinstance(link, str) and is_url(link) and canonical_url(link) != own:
            return link
    return None
