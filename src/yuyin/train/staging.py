"""Write exported models atomically, and keep one export per model in yuyin's cache (issue 13).

Every exporter writes into a hidden staging folder beside its output folder and renames it
into place at the end, so a reader never sees a half-written model and a failed export
leaves nothing behind. `cached_export` does the same one level up for the cache.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from yuyin.errors import ModelError, OutputError, YuyinError

__all__ = [
    "cached_build",
    "cached_export",
    "checkpoint_fingerprint",
    "staged_output_dir",
    "write_failure",
]

_COMPLETE = ".complete"
# safetensors (Rust) ends its I/O errors with the OS error number: "... (os error 28)".
_OS_ERROR_NUMBER = re.compile(r"\(os error (\d+)\)")
# torch.save reports a failed write as a RuntimeError from its zip writer (or the C++ stream
# error as the exception's context), with no errno at all.
_TORCH_WRITE_FAILURES = ("PytorchStreamWriter", "inline_container", "iostream error")


def write_failure(exc: BaseException) -> OSError | None:
    """The OSError behind a failed save, also when torch or safetensors wrapped it in their own
    exception types (a full disk during `save_pretrained` is a `SafetensorError`, during
    `torch.save` a `RuntimeError`); None when `exc` is not a failed write.

    Args:
        exc: what a save raised.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, YuyinError):
            return None  # already explained (an unreadable clip is no disk problem)
        if isinstance(seen, OSError):
            return seen
        text = str(seen)
        number = _OS_ERROR_NUMBER.search(text)
        if number is not None:
            code = int(number.group(1))
            return OSError(code, os.strerror(code))
        if any(marker in text for marker in _TORCH_WRITE_FAILURES):
            return OSError(errno.EIO, "the file could not be written")
        seen = seen.__cause__ or seen.__context__
    return None


def _scratch_beside(target: Path, *, hint: str) -> Path:
    """A new hidden folder beside `target` (same file system: the final rename is atomic)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    except OSError as exc:
        raise OutputError(f"cannot create a folder in {target.parent}: {exc}", hint=hint) from exc


@contextmanager
def staged_output_dir(output_dir: Path) -> Iterator[Path]:
    """Yield an empty staging folder that becomes `output_dir` when the block succeeds.

    Args:
        output_dir: the folder to create; it must not exist or be empty.

    Raises:
        OutputError: `output_dir` is a file or a non-empty folder, or cannot be written.
    """
    target = Path(output_dir)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OutputError(
            f"{target} already exists and is not empty",
            hint="choose a new --output-dir, or delete the folder first",
        )
    staging = _scratch_beside(target, hint="check the folder's permissions")
    try:
        yield staging
        if target.is_dir():
            target.rmdir()  # empty (checked above); rename() cannot replace a folder on all OSes
        os.replace(staging, target)
    except OSError as exc:
        raise OutputError(
            f"cannot write the export to {target}: {exc}",
            hint="check free disk space and permissions",
        ) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def checkpoint_fingerprint(checkpoint: Path, version: str) -> str:
    """A short hash of a Hugging Face checkpoint's files (names, sizes, times) and `version`.

    Raises:
        ModelError: the folder cannot be listed.
    """
    digest = hashlib.sha256(version.encode())
    try:
        for file in sorted(p for p in Path(checkpoint).iterdir() if p.is_file()):
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    except OSError as exc:
        raise ModelError(f"cannot read the checkpoint in {checkpoint}: {exc}") from exc
    return digest.hexdigest()[:12]


def cached_build(
    target: Path,
    build: Callable[[Path], dict[str, Any]],
    *,
    what: str,
    complete: Callable[[Path], bool] | None = None,
) -> Path:
    """Build the cache folder `target` once and return it; reuse it once it is complete.

    `build(folder)` writes `folder` (which does not exist yet) and returns the record kept in
    its `.complete` marker. The folder is built beside `target` and renamed into place, so
    readers never see a half-written one and two processes building at once both end with a
    whole one.

    Args:
        target: the cache folder.
        build: writes the folder; returns its marker's record (JSON-serialisable).
        what: names the content in errors ("the imported model").
        complete: whether a folder is whole (default: it has its `.complete` marker).

    Raises:
        OutputError: the cache cannot be written; anything `build` raises.
    """
    whole = complete or (lambda folder: (folder / _COMPLETE).is_file())
    if whole(target):
        return target
    scratch = _scratch_beside(target, hint="set YUYIN_CACHE_DIR to a writable folder")
    try:
        built = scratch / "build"
        record = build(built)
        (built / _COMPLETE).write_text(json.dumps(record), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)  # an older, incomplete attempt
        os.replace(built, target)
    except OSError as exc:
        if whole(target):
            return target  # another process finished the same build first
        raise OutputError(
            f"cannot store {what} in {target}: {exc}",
            hint="check free disk space and permissions of the cache folder",
        ) from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def cached_export(
    checkpoint: Path,
    cache_dir: Path,
    kind: str,
    export: Callable[[Path, Path], Path],
    *,
    version: str,
) -> Path:
    """Export a Hugging Face checkpoint once into `<cache_dir>/<kind>/`; return the model file.

    The folder is named after the checkpoint's folder and a fingerprint of its files and
    `version` (the importer's cache folders already carry the CTranslate2 model's hash), so
    a changed checkpoint or exporter gets a new export and an unchanged one is reused.

    Args:
        checkpoint: a Hugging Face Whisper folder.
        cache_dir: yuyin's cache folder.
        kind: the format's folder name (`openai-whisper`, `ggml`).
        export: `export(checkpoint, output_dir) -> model file`, writing a new folder.
        version: the exporter's version and options that change its output.

    Raises:
        OutputError: the cache cannot be written; anything `export` raises.
    """
    source = Path(checkpoint)
    label = re.sub(r"[^\w.-]+", "_", source.name).strip("_") or "model"
    target = Path(cache_dir) / kind / f"{label}-{checkpoint_fingerprint(source, version)}"

    def build(folder: Path) -> dict[str, Any]:
        file = export(source, folder)
        # The source and version let `yuyin models cache` tell current exports from stale.
        relative = file.relative_to(folder).as_posix()
        return {"file": relative, "source": str(source), "version": version}

    folder = cached_build(
        target, build, what="the exported model", complete=lambda f: _completed(f) is not None
    )
    done = _completed(folder)
    if done is None:  # pragma: no cover - cached_build only returns a complete folder
        raise OutputError(f"the export in {folder} is incomplete", hint="delete the folder")
    return done


def _completed(target: Path) -> Path | None:
    try:
        file = target / json.loads((target / _COMPLETE).read_text(encoding="utf-8"))["file"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return file if file.is_file() else None
