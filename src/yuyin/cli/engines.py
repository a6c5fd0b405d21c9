"""`yuyin engines`: the recognisers, what each supports, and whether it is installed."""

from __future__ import annotations

import dataclasses

import click

from yuyin.cli._common import echo_json
from yuyin.engines import engine_infos

__all__ = ["engines_command"]


@click.command("engines")
@click.option("--json", "json_output", is_flag=True, help="Print a JSON list (for scripts).")
def engines_command(json_output: bool) -> None:
    """List engines: languages, word timestamps, streaming, translation, installed or not."""
    rows = engine_infos()
    if json_output:
        echo_json([dataclasses.asdict(r) | {"installed": r.installed} for r in rows])
        return
    yes = {True: "yes", False: "-"}
    click.echo(
        f"{'ENGINE':<16} {'HERE':<5} {'WORDS':<6} {'STREAM':<7} {'TRANSLATE':<10} LANGUAGES / NOTES"
    )
    for r in rows:
        here = "yes" if r.installed else "no"
        note = r.description if r.installed else f"pip install 'yuyin[{r.extra}]'"
        click.echo(
            f"{r.name:<16} {here:<5} {yes[r.word_timestamps]:<6} {yes[r.streaming]:<7} "
            f"{yes[r.translation]:<10} {r.languages}; {note}"
        )
