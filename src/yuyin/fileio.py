"""File plumbing: finding media inputs and writing results atomically."""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from yuyin.errors import MediaNotFoundError, OutputError

__all__ = ["MEDIA_EXTENSIONS", "atomic_write_bytes", "atomic_write_text", "find_media"]

#: Extensions treated as media when a folder or glob is expanded (PyAV decodes many more;
#: a file named explicitly is always tried, whatever its extension).
MEDIA_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".webm", ".wma",
        ".aiff", ".aif", ".amr", ".mp2", ".ac3", ".mp4", ".m4v", ".mkv", ".mov", ".avi",
        ".wmv", ".flv", ".mpg", ".mpeg", ".ts", ".3gp",
    }
)  # fmt: skip


def find_media(inputs: Iterable[str]) -> list[str]:
    """Expand files, folders (recursively) and globs into a sorted, de-duplicated input list.

    `-` (standard input) and URLs are passed through untouched.

    Raises:
        MediaNotFoundError: a path that does not exist, or a folder/glob with no media files.
    """
    found: list[str] = []
    for item in inputs:
        if item == "-" or "://" in item:
            found.append(item)
            continue
        path = Path(item).expanduser()
        if path.is_file():
            found.append(str(path))
        elif path.is_dir():
            media = sorted(
                str(p)
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS
            )
            if not media:
                raise MediaNotFoundError(
                    f"no audio or video files in folder {item}",
                    hint="extensions looked for: " + " ".join(sorted(MEDIA_EXTENSIONS)),
                )
            found.extend(media)
        elif glob.has_magic(item):
            media = sorted(p for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not media:
                raise MediaNotFoundError(f"no files match {item}", hint="check the pattern")
            found.extend(media)
        else:
            raise MediaNotFoundError(
                f"no such file or folder: {item}", hint="check the path and its spelling"
            )
    return list(dict.fromkeys(found))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write bytes so readers see the old file or the whole new one, never a partial file.

    Raises:
        OutputError: the folder cannot be created or written.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(
            f"cannot write to {target.parent}: {exc.strerror or exc}",
            hint="check that the folder can be created and written, or choose another path",
        ) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(
            f"cannot write {target}: {exc.strerror or exc}",
            hint="check free disk space and permissions",
        ) from exc
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 text atomically (see `atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))
