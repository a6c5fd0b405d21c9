"""A local stand-in for the Gemini Live API: a real TLS WebSocket server on 127.0.0.1.

It speaks the BidiGenerateContent messages the google-genai client sends and expects:
`setup` answered by `setupComplete`; `realtimeInput.audio` chunks (base64 PCM) recorded
with their arrival time; `realtimeInput.audioStreamEnd`; and back `serverContent` with
`inputTranscription` pieces, a model reply (which a transcriber must ignore) and
`turnComplete`. What it says is scripted: each turn is released once the audio received
reaches its time, and every turn left is released at the end of audio.

Not a test module: `test_gemini_live.py` starts it through its `gemini_fake` fixture.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

# The client puts its API version (v1 in google-genai 3, v1beta before) into the path.
PATHS = {
    f"/ws/google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent"
    for version in ("v1", "v1beta", "v1alpha")
}
API_KEY = "test-gemini-key"


@dataclass
class Turn:
    """What the fake transcribes once `after_s` seconds of audio have arrived."""

    after_s: float
    pieces: list[str]


@dataclass
class Session:
    """Everything one client connection sent, as the server saw it."""

    path: str = ""
    api_key: str | None = None
    setup: dict[str, Any] = field(default_factory=dict)
    chunks: list[tuple[float, str, bytes]] = field(default_factory=list)  # (time, mime, pcm)
    stream_end_at: float | None = None
    messages_after_end: int = 0
    closed: bool = False


def field_of(message: dict[str, Any], camel: str) -> Any:
    """A field by its JSON (camelCase) or proto (snake_case) name: the service takes both,
    and google-genai 3 sends the latter for realtime input."""
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return message.get(camel, message.get(snake))


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate PEM, key PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "fake-cert.pem", folder / "fake-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class GeminiLiveFake:
    """Run with `with GeminiLiveFake(turns, folder) as fake:`; `fake.url`, `fake.ca_file`."""

    def __init__(self, turns: list[Turn], folder: Path) -> None:
        self.turns = turns
        self.ca_file, key_file = make_certificate(folder)
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl.load_cert_chain(self.ca_file, key_file)
        self.sessions: list[Session] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> GeminiLiveFake:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the fake Gemini Live server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0, ssl=self._ssl) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _send_turn(self, ws: ServerConnection, turn: Turn) -> None:
        for piece in turn.pieces:
            await ws.send(json.dumps({"serverContent": {"inputTranscription": {"text": piece}}}))
        # The model answers the turn; a transcriber must not take this for the user's words.
        reply = {"modelTurn": {"parts": [{"text": "MODEL REPLY, NOT SPEECH"}]}}
        await ws.send(json.dumps({"serverContent": reply}))
        await ws.send(json.dumps({"serverContent": {"turnComplete": True}}))

    async def _handle(self, ws: ServerConnection) -> None:
        session = Session()
        self.sessions.append(session)
        request = ws.request
        assert request is not None
        session.path = request.path
        session.api_key = request.headers.get("x-goog-api-key")
        if session.path.split("?")[0] not in PATHS:
            await ws.close(1008, f"unknown method {session.path}")
            return
        if session.api_key != API_KEY:
            await ws.close(1008, "API key not valid. Please pass a valid API key.")
            return
        pending = list(self.turns)
        received_s = 0.0
        async for raw in ws:
            message = json.loads(raw)
            if "setup" in message:
                session.setup = message["setup"]
                await ws.send(json.dumps({"setupComplete": {}}))
                continue
            realtime = field_of(message, "realtimeInput") or {}
            if "audio" in realtime:
                audio = realtime["audio"]
                # Proto JSON bytes: base64, standard or URL-safe, padding optional.
                data = audio["data"]
                pcm = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
                session.chunks.append((time.monotonic(), field_of(audio, "mimeType"), pcm))
                if session.stream_end_at is not None:
                    session.messages_after_end += 1
                received_s += len(pcm) / 2 / 16000
                while pending and pending[0].after_s <= received_s:
                    await self._send_turn(ws, pending.pop(0))
            elif field_of(realtime, "audioStreamEnd"):
                session.stream_end_at = time.monotonic()
                while pending:
                    await self._send_turn(ws, pending.pop(0))
                await ws.send(json.dumps({"serverContent": {"turnComplete": True}}))
        session.closed = True
