"""Output names for a batch run: stable across runs and never shared by two inputs.

`<stem>-<hash>` where the hash is of the input's key (its absolute path or URL): the same
file always gets the same name, whatever else the run holds (so a resumed or extended run
never renames finished work), and `a/talk.wav` and `b/talk.wav` get different names.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from yuyin.media import is_youtube_url

__all__ = ["output_stems"]

_HASH_CHARS = 8


def _readable_stem(key: str) -> str:
    if "://" in key:
        parts = urllib.parse.urlsplit(key)
        # Every YouTube video is `.../watch?v=ID` (see canonical_url): the ID names it.
        video = urllib.parse.parse_qs(parts.query).get("v") if is_youtube_url(key) else None
        tail = video[0] if video else PurePosixPath(parts.path.rstrip("/")).stem
    else:
        tail = Path(key).stem
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in tail).strip(".")
    return safe[:80] or "input"


def output_stems(keys: Iterable[str], output_dir: str | Path) -> dict[str, Path]:
    """Choose `<output_dir>/<stem>-<hash>` for each key (format suffixes are added later).

    Args:
        keys: input keys (absolute paths or URLs); repeats are ignored.
        output_dir: the batch output folder.

    Returns:
        key → stem path, unique within `keys`; the same key gives the same stem in every run
        (a longer hash is used only in the astronomically rare case of a prefix collision).
    """
    out = Path(output_dir)
    stems: dict[str, Path] = {}
    taken: dict[Path, str] = {}
    for key in dict.fromkeys(keys):
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        length = _HASH_CHARS
        candidate = out / f"{_readable_stem(key)}-{digest[:length]}"
        while candidate in taken:
            length += 4
            candidate = out / f"{_readable_stem(key)}-{digest[:length]}"
        taken[candidate] = key
        stems[key] = candidate
    return stems
