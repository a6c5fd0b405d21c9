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
from yuyin.errors import ConfigurationError, ModelError
from yuyin.languages import MULTILINGUAL_VOCAB_SIZE
from yuyin.train import cached_import

__all__ = [
    "BaseModel",
    "is_multilingual",
    "missing_language",
    "resolve_base_model",
]


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


def _config(folder: Path) -> dict[str, object]:
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _model_type(folder: Path) -> str | None:
    kind = _config(folder).get("model_type")
    return None if kind is None else str(kind)


def is_multilingual(base: BaseModel) -> bool | None:
    """Whether the base model is multilingual (it then needs a language to train); None for
    a hub id not downloaded yet."""
    if not base.local:
        return None
    size = _config(Path(base.checkpoint)).get("vocab_size")
    return isinstance(size, int) and size >= MULTILINGUAL_VOCAB_SIZE


def missing_language(name: str) -> ConfigurationError:
    """The error for a multilingual base model trained without a language."""
    # Without a language the labels would lack Whisper's language token, and the model would
    # learn to skip it (issue 7).
    return ConfigurationError(
        f"{name} is a multilingual model: it needs the language to train",
        hint="pass --language (en, zh-TW...) or give the manifest a `language` column",
    )


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
