"""`yuyin models`: every model name yuyin knows and whether it can be used here."""

from __future__ import annotations

import dataclasses

import click

from yuyin.cli._common import echo_json
from yuyin.engines import list_models

__all__ = ["models_command"]


def _size(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:.0f} MB"


@click.command("models")
@click.option("--json", "json_output", is_flag=True, help="Print a JSON list (for scripts).")
def models_command(json_output: bool) -> None:
    """List known models: availability, languages, size on disk and where they come from."""
    rows = list_models()
    if json_output:
        echo_json([dataclasses.asdict(r) for r in rows])
        return
    header = f"{'NAME':<18} {'LANGUAGES':<13} {'HERE':<5} {'SIZE':>8}  SOURCE"
    click.echo(header)
    for r in rows:
        langs = "multilingual" if r.multilingual else "English only"
        here = "yes" if r.available else "no"
        line = f"{r.name:<18} {langs:<13} {here:<5} {_size(r.size_bytes):>8}  {r.source}"
        click.echo(line + (f"; {r.note}" if r.note else ""))
