"""`yuyin serve`: the OpenAI-compatible HTTP server (FastAPI + uvicorn)."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import click

from yuyin.engines.registry import ENGINES
from yuyin.errors import ConfigurationError, MissingDependencyError

__all__ = ["serve_command"]


def _settings_env(params: dict[str, Any]) -> dict[str, str]:
    """Turn given flags into YUYIN_* variables (pydantic-settings reads lists as JSON)."""
    env = {}
    for name, value in params.items():
        if value is None or value == ():
            continue
        text = json.dumps(list(value)) if isinstance(value, tuple) else str(value)
        env[f"YUYIN_{name.upper()}"] = text
    return env


@click.command("serve")
@click.option("--host", default=None, help="Address to bind.  [default: 127.0.0.1]")
@click.option("--port", type=int, default=None, help="TCP port.  [default: 8000]")
@click.option("--api-key", default=None, help="Require `Authorization: Bearer KEY`.")
@click.option("--engine", default=None,
              help="Recogniser for uploads: " + ", ".join(ENGINES) + ".  "
              "[default: faster-whisper]")
@click.option("--default-model", default=None,
              help="Model for OpenAI names like whisper-1.  [default: base]")
@click.option("--preload", multiple=True, help="Load this model before serving (repeatable).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="[default: auto]")
@click.option("--compute-type", default=None, help="[default: auto]")
@click.option("--cpu-threads", type=int, default=None, help="Per model.  [default: 0 = auto]")
@click.option("--num-workers", type=int, default=None,
              help="Model replicas for parallel requests.  [default: 1]")
@click.option("--max-concurrency", type=int, default=None,
              help="Transcriptions at once.  [default: 2]")
@click.option("--max-queue", type=int, default=None,
              help="Requests waiting beyond that; more get 429.  [default: 8]")
@click.option("--max-upload-mb", type=float, default=None, help="[default: 100]")
@click.option("--max-audio-seconds", type=float, default=None, help="[default: 14400]")
@click.option("--request-timeout-s", type=float, default=None, help="[default: 900]")
@click.option("--model-ttl-s", type=float, default=None,
              help="Unload idle models after this long; 0 never.  [default: 600]")
@click.option("--allow-urls/--no-allow-urls", default=None,
              help="Let the web page send a media URL for the server to download (yt-dlp). "
                   "[default: on when bound to 127.0.0.1, off otherwise]")
@click.option("--cors-origins", multiple=True, help="Allow this origin (repeatable).")
def serve_command(**params: Any) -> None:
    """Serve the OpenAI-compatible speech API on http://HOST:PORT.

    \b
    Endpoints:
      POST /v1/audio/transcriptions   POST /v1/audio/translations   GET /v1/models
      GET /health   GET /ready   GET /metrics (Prometheus)
    Every flag can also be set as YUYIN_<FLAG> (e.g. YUYIN_API_KEY); flags win.

    \b
    Example:
      yuyin serve --preload base --api-key s3cret
      curl -H 'Authorization: Bearer s3cret' -F file=@talk.mp3 -F model=whisper-1 \\
           http://127.0.0.1:8000/v1/audio/transcriptions
    """
    try:
        import uvicorn
        from pydantic import ValidationError

        from yuyin.settings import Settings
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "fastapi", "server", "yuyin serve") from exc
    os.environ.update(_settings_env(params))
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigurationError(
            f"invalid server setting {'.'.join(map(str, first['loc']))}: {first['msg']}",
            hint="see `yuyin serve --help`",
        ) from exc
    logging.getLogger("yuyin").setLevel(logging.INFO)  # structured access log lines
    # The app is built by uvicorn from its import string (the CLI never imports the
    # server package); it reads the same YUYIN_* settings the flags were turned into.
    uvicorn.run(
        "yuyin.server:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,  # yuyin.access writes structured lines instead
        timeout_graceful_shutdown=int(settings.request_timeout_s),
    )
