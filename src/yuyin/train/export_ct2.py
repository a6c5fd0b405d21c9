"""Export a Hugging Face Whisper checkpoint to CTranslate2, the format `yuyin transcribe` runs.

The conversion itself is CTranslate2's own `TransformersConverter`; this module adds what
makes the result safe to use: it is built in a staging folder next to the target and renamed
into place only when complete (a `.complete` marker is its last file), it refuses to replace
a folder that already holds something unless asked, and it turns the converter's many foreign
errors into `ModelError` / `OutputError` with a hint (issue 7).
"""

from __future__ import annotations

import errno
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from yuyin.errors import ConfigurationError, MissingDependencyError, ModelError, OutputError

__all__ = ["COMPLETE_MARKER", "QUANTIZATIONS", "export_ctranslate2"]

log = logging.getLogger(__name__)

#: CTranslate2 weight types an export can store; the engine picks the compute type at load.
QUANTIZATIONS = ("int8", "int8_float16", "int8_float32", "float16", "bfloat16", "float32")

#: The file written last into a finished export.
COMPLETE_MARKER = ".complete"

# Files faster-whisper reads beside model.bin: the tokenizer, and the feature extractor's
# settings (mel bins), without which a 128-bin model would be fed 80 bins.
_TOKENIZER = "tokenizer.json"
_PREPROCESSOR = "preprocessor_config.json"


def _feature_settings(checkpoint: Path) -> dict[str, Any] | None:
    """The feature extractor settings of a checkpoint (transformers 4 or 5 layout), if any."""
    for name, key in ((_PREPROCESSOR, None), ("processor_config.json", "feature_extractor")):
        path = checkpoint / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if key is not None:
            data = data.get(key) if isinstance(data, dict) else None
        if isinstance(data, dict):
            return data
    return None


def _check_checkpoint(checkpoint: Path) -> None:
    config = checkpoint / "config.json"
    if not checkpoint.is_dir():
        raise ModelError(
            f"no checkpoint folder at {checkpoint}",
            hint="give a Hugging Face Whisper folder (config.json + model.safetensors)",
        )
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelError(
            f"{checkpoint} has no readable config.json",
            hint="give a Hugging Face Whisper folder (config.json + model.safetensors)",
        ) from exc
    if model_type != "whisper":
        raise ModelError(
            f"{checkpoint} holds a {model_type!r} model, not Whisper",
            hint="only Whisper checkpoints can be exported for yuyin transcribe",
        )
    if not (checkpoint / _TOKENIZER).is_file():
        raise ModelError(
            f"{checkpoint} has no {_TOKENIZER}",
            hint="save the processor with the model (processor.save_pretrained(folder))",
        )


def _disk_error(target: Path, exc: OSError) -> OutputError:
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return OutputError(
        f"cannot write the CTranslate2 model to {target}: {exc.strerror or exc}",
        hint="free some disk space (a tiny model needs about 40 MB in int8, base about 80 MB)"
        if full
        else "check that the folder is writable",
    )


def export_ctranslate2(
    checkpoint: Path,
    output_dir: Path,
    *,
    quantization: str = "int8",
    overwrite: bool = False,
) -> Path:
    """Convert a Hugging Face Whisper checkpoint into a CTranslate2 model folder.

    The folder holds `model.bin`, `config.json`, `tokenizer.json` and
    `preprocessor_config.json`, loadable with `yuyin transcribe --model OUTPUT_DIR`.

    Args:
        checkpoint: a Hugging Face Whisper folder (config.json, weights, tokenizer.json).
        output_dir: the folder to create; it must not exist or be empty.
        quantization: the stored weight type: int8 (smallest, fastest on CPU), float16
            (for GPUs) or another of `QUANTIZATIONS`.
        overwrite: replace an `output_dir` that already holds files.

    Raises:
        MissingDependencyError: transformers or torch is not installed (the `train` extra).
        ConfigurationError: an unknown quantization.
        ModelError: `checkpoint` is not a complete Whisper checkpoint.
        OutputError: `output_dir` is not empty (without `overwrite`) or cannot be written.
    """
    if quantization not in QUANTIZATIONS:
        raise ConfigurationError(
            f"unknown quantization {quantization!r}", hint="use one of: " + ", ".join(QUANTIZATIONS)
        )
    for package in ("torch", "transformers"):
        if importlib.util.find_spec(package) is None:
            raise MissingDependencyError(package, "train", "exporting to CTranslate2")
    source, target = Path(checkpoint).expanduser(), Path(output_dir).expanduser()
    _check_checkpoint(source)
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target} is a file, not a folder", hint="choose a folder path")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise OutputError(
            f"{target} already exists and is not empty",
            hint="choose a new folder, or pass overwrite=True (--overwrite) to replace it",
        )
    started = time.perf_counter()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.export-"))
    except OSError as exc:
        raise _disk_error(target, exc) from exc
    try:
        _convert(source, staging / "model", quantization)
        (staging / "model" / COMPLETE_MARKER).write_text(
            json.dumps({"source": str(source), "quantization": quantization}), encoding="utf-8"
        )
        if target.exists():
            # Replace only now that the new model is whole: a failed export keeps the old one.
            os.replace(target, staging / "old")
        try:
            os.replace(staging / "model", target)
        except OSError:
            if (staging / "old").exists():
                os.replace(staging / "old", target)
            raise
    except OSError as exc:
        raise _disk_error(target, exc) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    spent = time.perf_counter() - started
    log.info("exported %s to %s (%s) in %.1f s", source, target, quantization, spent)
    return target


def _convert(source: Path, destination: Path, quantization: str) -> None:
    import ctranslate2.converters

    copy = [_TOKENIZER]
    if (source / _PREPROCESSOR).is_file():
        copy.append(_PREPROCESSOR)
    from transformers.utils import logging as hf_logging

    converter = ctranslate2.converters.TransformersConverter(str(source), copy_files=copy)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a library does not draw on the caller's terminal
    try:
        converter.convert(str(destination), quantization=quantization, force=True)
    except OSError:
        raise  # disk and permission problems: the caller names the folder
    except Exception as exc:  # the converter raises many foreign types
        raise ModelError(
            f"cannot convert {source} to CTranslate2: {type(exc).__name__}: {exc}",
            hint="check it is a complete Whisper checkpoint (config, weights, tokenizer)",
        ) from exc
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    if _PREPROCESSOR not in copy:
        features = _feature_settings(source)
        if features is not None:
            (destination / _PREPROCESSOR).write_text(
                json.dumps(features, indent=2), encoding="utf-8"
            )
