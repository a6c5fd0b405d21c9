"""`yuyin google recognizers list|create|get|delete`: Speech-to-Text v2 recognizers (issue 8)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from yuyin.cli._common import echo_json
from yuyin.engines.google import (
    DEFAULT_LANGUAGE_CODES,
    DEFAULT_LOCATION,
    DEFAULT_MODEL,
    GoogleOptions,
    RecognizerInfo,
    create_client,
    delete_recognizer,
    ensure_recognizer,
    get_recognizer,
    list_recognizers,
)

__all__ = ["google_command"]


def _codes(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    codes = tuple(c.strip() for c in value.split(",") if c.strip())
    if not codes:
        raise click.BadParameter("give at least one BCP-47 code, e.g. cmn-Hant-TW,en-US")
    return codes


def _connection(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the connection options every recognizer command shares; pass them as `options`."""
    decorators = [
        click.option("--project", envvar="GOOGLE_CLOUD_PROJECT", show_envvar=True,
                     help="Google Cloud project id."),
        click.option("--location", envvar="GOOGLE_CLOUD_LOCATION", show_envvar=True,
                     default=DEFAULT_LOCATION, show_default=True,
                     help="Region: us-central1, asia-southeast1, europe-west4 (chirp_2's), "
                     "global, ..."),
        click.option("--credentials", "credentials_file", type=click.Path(dir_okay=False),
                     help="Service-account key file (default: application-default "
                     "credentials: GOOGLE_APPLICATION_CREDENTIALS, or gcloud's login)."),
        click.option("--api-endpoint", default=None,
                     help="host[:port] instead of the regional endpoint; http://host:port for "
                     "a plain-text local emulator."),
        click.option("--json", "json_output", is_flag=True, help="Print JSON (for scripts)."),
    ]  # fmt: skip

    @functools.wraps(command)
    def with_options(
        project: str | None,
        location: str,
        credentials_file: str | None,
        api_endpoint: str | None,
        **params: Any,
    ) -> Any:
        options = GoogleOptions(
            project=project or None,
            location=location,
            credentials_file=credentials_file or None,
            api_endpoint=api_endpoint or None,
        )
        return command(options=options, **params)

    wrapped: Callable[..., Any] = with_options
    for decorate in reversed(decorators):
        wrapped = decorate(wrapped)
    return wrapped


@contextmanager
def _client(options: GoogleOptions) -> Iterator[Any]:
    """A Speech client whose channel is closed when the command is done with it."""
    client = create_client(options)
    try:
        yield client
    finally:
        client.transport.close()  # type: ignore[no-untyped-call]


def _line(info: RecognizerInfo) -> str:
    return (
        f"{info.recognizer_id:<24} {info.model:<12} {','.join(info.language_codes):<24} "
        f"{info.state:<8} {info.display_name}"
    ).rstrip()


_HEADER = f"{'RECOGNIZER':<24} {'MODEL':<12} {'LANGUAGES':<24} {'STATE':<8} DISPLAY NAME"


@click.group("google")
def google_command() -> None:
    """Google Cloud Speech-to-Text v2 (transcribe with `yuyin transcribe --engine google`)."""


@google_command.group("recognizers")
def recognizers_command() -> None:
    """List, create, get and delete Speech-to-Text v2 recognizers."""


@recognizers_command.command("list")
@_connection
def list_command(
    options: GoogleOptions,
    json_output: bool,
) -> None:
    """List the recognizers of a project and location."""
    with _client(options) as client:
        rows = list_recognizers(client, options)
    if json_output:
        echo_json([r.to_dict() for r in rows])
        return
    click.echo(_HEADER)
    for row in rows:
        click.echo(_line(row))


@recognizers_command.command("get")
@click.argument("recognizer_id")
@_connection
def get_command(
    recognizer_id: str,
    options: GoogleOptions,
    json_output: bool,
) -> None:
    """Show one recognizer."""
    with _client(options) as client:
        info = get_recognizer(client, options, recognizer_id)
    if json_output:
        echo_json(info.to_dict())
        return
    click.echo(_HEADER)
    click.echo(_line(info))


@recognizers_command.command("create")
@click.argument("recognizer_id")
@click.option("--language-codes", default=",".join(DEFAULT_LANGUAGE_CODES), show_default=True,
              callback=_codes, help="Default BCP-47 codes, comma-separated.")  # fmt: skip
@click.option("--model", default=DEFAULT_MODEL, show_default=True, help="Default model.")
@click.option("--display-name", default="", help="A human-readable name.")
@_connection
def create_command(
    recognizer_id: str,
    language_codes: tuple[str, ...],
    model: str,
    display_name: str,
    options: GoogleOptions,
    json_output: bool,
) -> None:
    """Create a recognizer, or get it if it exists and report how its config differs."""
    with _client(options) as client:
        result = ensure_recognizer(
            client,
            options,
            recognizer_id,
            model=model,
            language_codes=language_codes,
            display_name=display_name,
        )
    for name, (existing, requested) in result.differences.items():
        click.echo(
            f"warning: recognizer {recognizer_id} exists with {name} {existing!r}, "
            f"not the requested {requested!r}; it was left unchanged",
            err=True,
        )
    if json_output:
        echo_json(result.to_dict())
        return
    if result.created:
        click.echo(f"created {result.recognizer.name}")
    else:
        click.echo(f"exists {result.recognizer.name}")
    click.echo(_HEADER)
    click.echo(_line(result.recognizer))


@recognizers_command.command("delete")
@click.argument("recognizer_id")
@_connection
def delete_command(
    recognizer_id: str,
    options: GoogleOptions,
    json_output: bool,
) -> None:
    """Delete a recognizer (it can be undeleted for 30 days, e.g. by `create`)."""
    with _client(options) as client:
        info = delete_recognizer(client, options, recognizer_id)
    if json_output:
        echo_json(info.to_dict())
        return
    click.echo(f"deleted {info.name}")
