"""Emotion model files: one zip holding `meta.json` and the weights, with a format version.

    meta.json       format, format_version, model_type, classes, label_set, features,
                    yuyin version, training info
    pipeline.skops  classic models: the scikit-learn Pipeline in skops' format
    weights.pt      CNN models: the network's state dict (tensors only)

Neither payload is a pickle: skops rebuilds only the scikit-learn and numpy types it trusts
(loading stops on any other type) and torch loads the weights with `weights_only=True`.
Still, load models you trained yourself or got from someone you trust.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from yuyin import __version__
from yuyin.emotion.features import FeatureOptions
from yuyin.emotion.models import ClassicModel, EmotionModel
from yuyin.errors import (
    ConfigurationError,
    MissingDependencyError,
    ModelError,
    ModelNotFoundError,
)
from yuyin.fileio import atomic_write_bytes

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "save_model"]

#: The `format` field every yuyin emotion model file carries.
FORMAT = "yuyin-emotion-model"
#: Bumped whenever a file written now could not be read the same way by older code.
FORMAT_VERSION = 1
_RETRAIN = "train a new one with `yuyin emotion train DATA --output MODEL`"


def save_model(model: EmotionModel, path: str | Path) -> Path:
    """Write a model file atomically; returns its path.

    Raises:
        OutputError: the file cannot be written.
    """
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "yuyin_version": __version__,
        "model_type": model.kind,
        "classes": list(model.classes),
        "label_set": model.label_set,
        "features": model.features.to_dict(),
        "info": model.info,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if isinstance(model, ClassicModel):
            archive.writestr("pipeline.skops", _skops().dumps(model.pipeline))
        else:
            import torch

            from yuyin.emotion.cnn import CnnModel

            if not isinstance(model, CnnModel):
                raise ConfigurationError(
                    f"cannot save a {type(model).__name__}", hint="save a classic or cnn model"
                )
            meta["channels"] = model.channels
            meta["history"] = model.history
            weights = io.BytesIO()
            torch.save(model.network.state_dict(), weights)
            archive.writestr("weights.pt", weights.getvalue())
        archive.writestr("meta.json", json.dumps(meta, indent=2, ensure_ascii=False))
    return atomic_write_bytes(path, buffer.getvalue())


def _read_meta(archive: zipfile.ZipFile, name: str) -> dict[str, Any]:
    try:
        meta = json.loads(archive.read("meta.json"))
    except (KeyError, ValueError) as exc:
        raise ModelError(
            f"{name} is not a yuyin emotion model (no meta.json)", hint=_RETRAIN
        ) from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{name} is not a yuyin emotion model", hint=_RETRAIN)
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(
            f"{name} is an emotion model of format version {version} (written by yuyin "
            f"{meta.get('yuyin_version', '?')}); this yuyin reads version {FORMAT_VERSION}",
            hint=f"use the yuyin version that wrote it, or {_RETRAIN}",
        )
    return meta


def load_model(path: str | Path) -> EmotionModel:
    """Read a model file written by `save_model`.

    Raises:
        ModelNotFoundError: no such file.
        ModelError: not a model file, another format version, or a payload that is damaged
            or holds types a yuyin model never contains.
        MissingDependencyError: skops (`emotion` extra) or torch (`train` extra) is missing.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelNotFoundError(f"no such emotion model: {p}", hint=_RETRAIN)
    try:
        with zipfile.ZipFile(p) as archive:
            meta = _read_meta(archive, str(p))
            common = _common(meta, str(p))
            if meta.get("model_type") == "classic":
                return ClassicModel(_load_pipeline(archive.read("pipeline.skops"), p), **common)
            if meta.get("model_type") == "cnn":
                return _load_cnn(archive.read("weights.pt"), meta, common, p)
    except zipfile.BadZipFile as exc:
        raise ModelError(
            f"{p} is not a yuyin emotion model (not a zip file)", hint=_RETRAIN
        ) from exc
    except KeyError as exc:  # a member missing from the zip
        raise ModelError(f"{p} is damaged: {exc.args[0]}", hint=_RETRAIN) from exc
    raise ModelError(f"{p}: unknown model type {meta.get('model_type')!r}", hint=_RETRAIN)


def _common(meta: dict[str, Any], name: str) -> dict[str, Any]:
    try:
        features = FeatureOptions.from_dict(meta["features"])
        classes = [str(c) for c in meta["classes"]]
    except (KeyError, TypeError, ConfigurationError) as exc:
        raise ModelError(f"{name} has unreadable settings ({exc})", hint=_RETRAIN) from exc
    return {
        "classes": classes,
        "label_set": str(meta.get("label_set", "custom")),
        "features": features,
        "info": meta.get("info") or {},
    }


def _skops() -> Any:
    try:
        import skops.io
    except ImportError as exc:
        raise MissingDependencyError("skops", "emotion", "emotion model files") from exc
    return skops.io


def _load_pipeline(data: bytes, path: Path) -> Any:
    skops_io = _skops()
    try:
        untrusted = skops_io.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises many kinds on a damaged file
        raise ModelError(f"{path} is damaged ({exc})", hint=_RETRAIN) from exc
    if untrusted:
        raise ModelError(
            f"{path} holds types a yuyin emotion model never contains: {', '.join(untrusted)}",
            hint="it was not written by yuyin; loading it could run foreign code",
        )
    try:
        return skops_io.loads(data)
    except Exception as exc:
        raise ModelError(f"{path} cannot be loaded ({exc})", hint=_RETRAIN) from exc


def _load_cnn(
    data: bytes, meta: dict[str, Any], common: dict[str, Any], path: Path
) -> EmotionModel:
    try:
        import torch

        from yuyin.emotion.cnn import build_cnn
    except ImportError as exc:
        raise MissingDependencyError("torch", "train", "the CNN emotion model") from exc
    try:
        state = torch.load(io.BytesIO(data), weights_only=True)
        return build_cnn(
            state,
            common.pop("classes"),
            int(meta["channels"]),
            history=meta.get("history", []),
            **common,
        )
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise ModelError(
            f"{path} holds CNN weights that do not fit ({exc})", hint=_RETRAIN
        ) from exc
