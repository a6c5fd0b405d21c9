"""`yuyin stream-server`: live transcription over TCP (the whisper_streaming protocol)."""

from __future__ import annotations

import signal
from typing import Any

import click
import numpy as np

from yuyin.cli._common import EXIT_CODES_HELP
from yuyin.cli.stream import build_stream, stream_options
from yuyin.stream import DEFAULT_PORT, StreamServer

__all__ = ["stream_server_command"]


@click.command(
    "stream-server",
    epilog=EXIT_CODES_HELP,
    short_help="Live transcription over TCP (whisper_streaming protocol).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind (0.0.0.0 opens the server to the network).",
)
@click.option(
    "--port",
    type=int,
    default=DEFAULT_PORT,
    show_default=True,
    help="TCP port (0 picks a free one).",
)
@stream_options
@click.option(
    "--idle-timeout-sec",
    type=float,
    default=60.0,
    show_default=True,
    help="Disconnect a client that sends nothing for this long.",
)
@click.option(
    "--max-clients",
    type=int,
    default=16,
    show_default=True,
    help="Clients served at once; more are refused.",
)
def stream_server_command(
    host: str, port: int, idle_timeout_sec: float, max_clients: int, **params: Any
) -> None:
    """Serve live transcription on HOST:PORT until Ctrl-C.

    Each client sends raw signed 16-bit little-endian mono PCM at 16 kHz and reads one
    `beg_ms end_ms text` line per commit (with --final-model: per utterance); when it
    closes its side, the rest is decoded and sent before the server closes the connection.
    With --vac (or --final-model) audio reaches the voice-activity controller in pieces of
    at least --vac-chunk-size seconds; without it, --min-chunk-size alone sets the pace.

    \b
    Example:
      yuyin stream-server -m tiny.en --port 43007 &
      arecord -f S16_LE -c1 -r 16000 -t raw | nc 127.0.0.1 43007
    """
    vac_chunk_size = params.pop("vac_chunk_size")
    two_pass = params["final_model"] is not None
    uses_vac = params["vac"] or two_pass
    factory, asr, _options = build_stream(params, adaptive=True)

    def warmup() -> None:
        noise = np.random.default_rng(0).normal(0, 0.01, 16000).astype(np.float32)
        asr.transcribe(noise, prompt="", language=None)

    server = StreamServer(
        factory,
        host=host,
        port=port,
        warmup=warmup,
        idle_timeout_sec=idle_timeout_sec,
        max_clients=max_clients,
        line_types=("final",) if two_pass else ("committed",),
        chunk_sec=vac_chunk_size if uses_vac else 0.0,
    )
    bound_host, bound_port = server.start()
    click.echo(
        f"yuyin stream-server listening on {bound_host}:{bound_port} "
        "(raw s16le mono 16 kHz in, `beg_ms end_ms text` lines out)",
        err=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown(0.0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        server.shutdown()
