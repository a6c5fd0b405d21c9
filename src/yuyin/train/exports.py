"""One entry point for every exporter: a Hugging Face Whisper checkpoint out in any format.

    hf              the checkpoint itself, copied (transformers; the `train` extra)
    ct2             CTranslate2 (faster-whisper)              yuyin.train.export_ct2
    openai-whisper  openai-whisper's model.pt                 yuyin.train.export_openai
    ggml            whisper.cpp's ggml file                   yuyin.train.export_ggml
    onnx            sherpa-onnx's encoder/decoder/tokens      yuyin.train.export_onnx

Exporter modules are imported only when their format is asked for, so a missing module or
a missing extra turns into a `YuyinError` that names what to install. Turning a model name
or a CTranslate2 folder into a checkpoint happens above this layer (`yuyin models export`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yuyin.errors import ConfigurationError, MissingDependencyError, ModelError
from yuyin.train.staging import staged_output_dir

__all__ = [
    "EXPORT_FORMATS",
    "VERIFY_SAMPLE",
    "VERIFY_TEXT",
    "ExportFormat",
    "check_export_options",
    "export_checkpoint",
    "export_hf",
    "exporter",
]

#: A short English sample (espeak-ng) and its text, for `yuyin models export --verify`.
VERIFY_SAMPLE = Path(__file__).with_name("verify_en.ogg")
VERIFY_TEXT = "I like to read a good book in the morning. It makes me happy and ready for the day."


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One export format: where its exporter lives and which engine runs its output.

    Attributes:
        name: the `--format` value.
        description: one line for `--help`.
        module: the module holding the exporter.
        function: the exporter's name there: `f(checkpoint, output_dir, **options) -> Path`.
        extra: the yuyin extra that installs what the exporter needs.
        packages: import names the exporter needs (checked before it runs).
        engine: the `--engine` that transcribes the exported model.
        options: keyword options the exporter takes (e.g. `dtype`, `quantization`).
    """

    name: str
    description: str
    module: str
    function: str
    extra: str
    packages: tuple[str, ...]
    engine: str
    options: tuple[str, ...] = ()


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "hf", "Hugging Face transformers checkpoint (a copy)", "yuyin.train.exports",
            "export_hf", "train", (), "transformers",
        ),
        ExportFormat(
            "ct2", "CTranslate2 model for faster-whisper", "yuyin.train.export_ct2",
            "export_ctranslate2", "train", ("ctranslate2", "transformers", "torch"),
            "faster-whisper", ("quantization",),
        ),
        ExportFormat(
            "openai-whisper", "openai-whisper checkpoint (model.pt)", "yuyin.train.export_openai",
            "export_openai_whisper", "train", (), "openai-whisper",
        ),
        ExportFormat(
            "ggml", "whisper.cpp ggml model", "yuyin.train.export_ggml", "export_ggml",
            "train", (), "whisper.cpp", ("dtype",),
        ),
        ExportFormat(
            "onnx", "sherpa-onnx Whisper encoder/decoder ONNX + tokens.txt",
            "yuyin.train.export_onnx", "export_onnx", "sherpa-onnx",
            ("torch", "transformers", "onnx"), "sherpa-onnx",
        ),
    )
}  # fmt: skip


def exporter(fmt: str) -> Callable[..., Path]:
    """The export function of a format, imported now.

    Args:
        fmt: a key of `EXPORT_FORMATS`.

    Raises:
        ConfigurationError: an unknown format, or its exporter is not part of this install.
        MissingDependencyError: a package the exporter needs is missing (names the extra).
    """
    spec = EXPORT_FORMATS.get(fmt)
    if spec is None:
        raise ConfigurationError(
            f"unknown export format {fmt!r}", hint="choose one of: " + ", ".join(EXPORT_FORMATS)
        )
    for package in spec.packages:
        if importlib.util.find_spec(package) is None:
            raise MissingDependencyError(package, spec.extra, f"exporting to {fmt}")
    try:
        module = importlib.import_module(spec.module)
    except ModuleNotFoundError as exc:
        if exc.name == spec.module:
            raise ConfigurationError(
                f"the {fmt} exporter ({spec.module}) is not part of this yuyin install",
                hint="upgrade yuyin, or choose another --format",
            ) from exc
        raise MissingDependencyError(exc.name or "?", spec.extra, f"exporting to {fmt}") from exc
    function: Callable[..., Path] = getattr(module, spec.function)
    return function


def export_checkpoint(
    checkpoint: str | os.PathLike[str], fmt: str, output_dir: str | os.PathLike[str], **options: Any
) -> Path:
    """Export a Hugging Face Whisper checkpoint to `fmt` in `output_dir`; return its path.

    Args:
        checkpoint: a Hugging Face Whisper folder.
        fmt: `hf`, `ct2`, `openai-whisper`, `ggml` or `onnx`.
        output_dir: a missing or empty folder.
        options: the format's options (`quantization` for ct2, `dtype` for ggml); options
            left as None are not passed, so each exporter keeps its default.

    Raises:
        ConfigurationError: an unknown format, or an option the format does not take.
        MissingDependencyError: the format's extra is missing.
        ModelError, OutputError: what the exporter raises (not a checkpoint, non-empty
            output folder, unwritable output).
    """
    function = exporter(fmt)
    given = check_export_options(fmt, **options)
    return function(Path(checkpoint), Path(output_dir), **given)


def check_export_options(fmt: str, **options: Any) -> dict[str, Any]:
    """The options `fmt` takes, with those left as None dropped; checked before any work.

    Args:
        fmt: a key of `EXPORT_FORMATS`.
        options: option name -> value (None: not given).

    Raises:
        ConfigurationError: an unknown format, or an option the format does not take.
    """
    spec = EXPORT_FORMATS.get(fmt)
    if spec is None:
        raise ConfigurationError(
            f"unknown export format {fmt!r}", hint="choose one of: " + ", ".join(EXPORT_FORMATS)
        )
    given = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(given) - set(spec.options))
    if unknown:
        raise ConfigurationError(
            f"the {fmt} format takes no option " + ", ".join(unknown),
            hint="options by format: "
            + "; ".join(
                f"{f.name}: {', '.join(f.options) or '-'}" for f in EXPORT_FORMATS.values()
            ),
        )
    return given


def export_hf(checkpoint: str | os.PathLike[str], output_dir: str | os.PathLike[str]) -> Path:
    """Copy a Hugging Face Whisper checkpoint's files into `output_dir` (the `hf` format).

    Raises:
        ModelError: `checkpoint` holds no config.json.
        OutputError: `output_dir` is not empty or cannot be written.
    """
    source = Path(checkpoint)
    if not (source / "config.json").is_file():
        raise ModelError(
            f"{source} is not a Hugging Face checkpoint (no config.json)",
            hint="pass a yuyin model name, a CTranslate2 folder or a Hugging Face folder",
        )
    with staged_output_dir(Path(output_dir)) as staging:
        for file in sorted(source.iterdir()):
            # Cache bookkeeping (`.complete`) is not part of the checkpoint.
            if file.is_file() and not file.name.startswith("."):
                shutil.copy2(file, staging / file.name)
    return Path(output_dir)
