"""What every subcommand shares: error reporting, exit codes, logging, JSON output."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from yuyin.errors import YuyinError

__all__ = ["EXIT_PARTIAL", "YuyinGroup", "echo_json", "error_dict", "report_error"]

#: Some inputs of a multi-file run failed while others succeeded.
EXIT_PARTIAL = 10
#: Interrupted by Ctrl-C.
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\b
Exit codes:
  0   success
  1   unexpected internal error (please report it)
  2   bad usage or configuration (unknown flag, language, device, format)
  3   bad input (missing, not media, corrupt, no audio track)
  4   recogniser unavailable (model not found or not loadable, cloud API unreachable)
  5   an optional extra is not installed
  6   output cannot be written
  7   stream protocol error
  10  some inputs failed, the others succeeded
  130 interrupted"""


def error_dict(exc: YuyinError) -> dict[str, str]:
    """The JSON shape of an error in `--json` output."""
    return {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint}


def report_error(exc: YuyinError, prefix: str = "") -> None:
    """Print `error: …` and `hint: …` to stderr."""
    click.echo(f"error: {prefix}{exc.message}", err=True)
    if exc.hint:
        click.echo(f"hint: {exc.hint}", err=True)


def echo_json(data: Any) -> None:
    """Print one JSON object on stdout (UTF-8, Chinese kept readable)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def configure_logging(verbose: int) -> None:
    """Warnings by default, -v for info, -vv for debug (library logs included)."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # faster-whisper logs an INFO line per file; keep it at our chosen level.
    logging.getLogger("faster_whisper").setLevel(max(level, logging.WARNING))


class YuyinGroup(click.Group):
    """A click group that turns YuyinError into `error:`/`hint:` lines and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; library errors never reach the user as a traceback."""
        try:
            return super().invoke(ctx)
        except YuyinError as exc:
            report_error(exc)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
