"""The conversion cache: which imported checkpoints and engine exports are still in use.

Imports (`<cache>/hf/`) and exports (`<cache>/ggml/`, `onnx/`, `openai-whisper/`, and
`converted/` for Hugging Face checkpoints run by faster-whisper) are named
by a fingerprint of what they were made from. When that changes (a new yuyin, a fine-tuned
model written again, a deleted source folder), the engines make a new copy and the old one
is never read again; each is 40 MB to several GB. This finds those and removes them.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yuyin.errors import ModelError, OutputError
from yuyin.train.importer import IMPORTER_VERSION, import_fingerprint
from yuyin.train.staging import checkpoint_fingerprint

__all__ = ["EXPORT_KINDS", "CachedConversion", "prune_conversions", "scan_conversions"]

#: The cache folders made from a checkpoint: the engines' exports, and Hugging Face
#: checkpoints converted to CTranslate2 for faster-whisper (`converted/`).
EXPORT_KINDS = ("ggml", "onnx", "openai-whisper", "converted")
_COMPLETE = ".complete"


@dataclass(frozen=True, slots=True)
class CachedConversion:
    """One folder of the conversion cache.

    Attributes:
        kind: `hf` (an imported checkpoint) or an export format (`ggml`, `onnx`, ...).
        path: the folder.
        bytes: its size on disk.
        source: what it was made from, when recorded.
        stale: why no engine will read it again, or None while it is current.
    """

    kind: str
    path: Path
    bytes: int
    source: str | None
    stale: str | None


def scan_conversions(cache_dir: str | Path) -> list[CachedConversion]:
    """Every import and export folder under `cache_dir`, each judged current or stale."""
    root = Path(cache_dir)
    found: list[CachedConversion] = []
    stale_imports: set[Path] = set()
    for kind in ("hf", *EXPORT_KINDS):  # imports first: exports are made from them
        folder = root / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or not path.is_dir():
                continue  # a conversion in progress (staging folders start with a dot)
            record = _record(path)
            source = record.get("source") if isinstance(record.get("source"), str) else None
            stale = _why_stale(kind, path, record, source)
            if stale is None and source is not None and Path(source) in stale_imports:
                stale = "made from a stale import"  # gone with it once that is pruned
            if stale is not None and kind == "hf":
                stale_imports.add(path)
            found.append(CachedConversion(kind, path, _size(path), source, stale))
    return found


def prune_conversions(entries: list[CachedConversion]) -> int:
    """Delete the stale folders among `entries`; return the bytes freed.

    Raises:
        OutputError: a folder cannot be deleted.
    """
    freed = 0
    for entry in entries:
        if entry.stale is None:
            continue
        try:
            shutil.rmtree(entry.path)
        except FileNotFoundError:
            continue  # another process removed it first
        except OSError as exc:
            raise OutputError(
                f"cannot delete {entry.path}: {exc.strerror or exc}",
                hint="check the cache folder's permissions",
            ) from exc
        freed += entry.bytes
    return freed


def _record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((path / _COMPLETE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _why_stale(kind: str, path: Path, record: dict[str, Any], source: str | None) -> str | None:
    if not record:
        return "no .complete marker (unfinished, or made by an older yuyin)"
    if source is None:
        return "made by an older yuyin (its source is not recorded)"
    if not Path(source).exists():
        return f"its source is gone ({source})"
    suffix = path.name.rsplit("-", 1)[-1]
    try:
        if kind == "hf":
            if record.get("importer") != IMPORTER_VERSION:
                return "made by another importer version"
            current = import_fingerprint(Path(source))
        else:
            version = record.get("version")
            if not isinstance(version, str):
                return "made by an older yuyin (its exporter version is not recorded)"
            current = checkpoint_fingerprint(Path(source), version)
    except ModelError:
        return f"its source cannot be read ({source})"
    return None if current == suffix else "its source has changed since"


def _size(path: Path) -> int:
    total = 0
    for file in path.rglob("*"):
        try:
            if file.is_file() and not file.is_symlink():
                total += file.stat().st_size
        except OSError:
            continue
    return total
