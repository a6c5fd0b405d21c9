"""The model a run starts from: a Hugging Face checkpoint, whatever the user named.

    a folder with config.json (model_type whisper)   a Hugging Face checkpoint: used as is
    a folder with model.bin                          CTranslate2: imported (yuyin.train)
    owner/name                                       a Hugging Face hub id (downloaded once)
    tiny.en, base, small...                          yuyin's names: the CTranslate2 model
                                                     `yuyin transcribe` would load, imported

The import is cached (`cached_import`), so the second run starts at once. When the base is
a CTranslate2 model, that same folder scores the "before" side of the final report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from yuyin.engines import resolve_model
from yuyin.errors import ModelError
from yuyin.train import cached_import

__all__ = ["BaseModel", "resolve_base_model"]


@dataclass(frozen=True, slots=True)
class BaseModel:
    """Where the base model's Hugging Face checkpoint is, and its CTranslate2 twin if any.

    Attributes:
        name: what the user asked for.
        checkpoint: a Hugging Face checkpoint folder, or a hub id.
        ct2: the CTranslate2 folder it was imported from (None for Hugging Face bases).
        local: whether `checkpoint` is a local folder (no network needed).
    """

    name: str
    checkpoint: str
    ct2: Path | None
    local: bool


def _model_type(folder: Path) -> str | None:
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(data.get("model_type")) if isinstance(data, dict) else None


def resolve_base_model(name: str, cache_dir: Path) -> BaseModel:
    """Find or build the Hugging Face checkpoint of the base model `name`.

    Args:
        name: a checkpoint folder, a CTranslate2 folder, a hub id or a yuyin model name.
        cache_dir: yuyin's cache, where imported CTranslate2 models are kept.

    Raises:
        ModelNotFoundError: an unknown name, or one that cannot be downloaded now.
        ModelError: a folder that is no Whisper model.
        MissingDependencyError: torch or transformers is not installed (the `train` extra).
    """
    folder = Path(name).expanduser()
    if folder.is_dir():
        if (folder / "model.bin").is_file():
            imported = cached_import(folder, cache_dir, name=folder.name)
            return BaseModel(name, str(imported), folder.resolve(), True)
        kind = _model_type(folder)
        if kind == "whisper":
            return BaseModel(name, str(folder.resolve()), None, True)
        raise ModelError(
            f"{folder} is not a Whisper model"
            + (f" (its config.json says {kind!r})" if kind else ""),
            hint="give a Hugging Face Whisper checkpoint folder, a CTranslate2 Whisper "
            "folder, a hub id like openai/whisper-small, or a name like tiny.en",
        )
    if "/" in name and not name.startswith((".", "/", "~")):
        return BaseModel(name, name, None, False)
    resolved = resolve_model(name, cache_dir=cache_dir)
    imported = cached_import(resolved.path, cache_dir, name=name)
    return BaseModel(name, str(imported), resolved.path, True)
