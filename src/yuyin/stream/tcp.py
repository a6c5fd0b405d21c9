"""A TCP server speaking the whisper_streaming protocol, for many clients at once.

Protocol: the client sends raw signed 16-bit little-endian mono PCM at 16 kHz; the server
answers one line per commit, `beg_ms end_ms text` (UTF-8, times in milliseconds from the
start of that client's stream), never overlapping and never repeated. When the client
closes its sending side (or disconnects), the rest is decoded and sent, then the server
closes the connection. Each client gets its own processor on its own thread; the model is
loaded and warmed up once, before the server accepts anyone, and shared.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable

import numpy as np
from numpy.typing import NDArray

from yuyin.audio import SAMPLE_RATE
from yuyin.errors import ConfigurationError, StreamProtocolError, YuyinError
from yuyin.stream.events import EventType, StreamEvent
from yuyin.stream.simulate import ProcessorFactory

__all__ = ["DEFAULT_PORT", "StreamServer", "format_line", "pcm16_to_float"]

log = logging.getLogger(__name__)

#: whisper_streaming's default port.
DEFAULT_PORT = 43007
_RECV_BYTES = 1 << 16
_POLL_SEC = 0.25


def pcm16_to_float(data: bytes) -> NDArray[np.float32]:
    """Signed 16-bit little-endian PCM bytes (an even count) to float32 in [-1, 1).

    Args:
        data: raw s16le samples.

    Raises:
        StreamProtocolError: an odd number of bytes (not whole 16-bit samples).
    """
    if len(data) % 2:
        raise StreamProtocolError(
            f"received {len(data)} bytes, which is not a whole number of 16-bit samples",
            hint="send raw signed 16-bit little-endian mono PCM at 16 kHz (s16le)",
        )
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def format_line(start: float, end: float, text: str) -> str:
    """One protocol line: `beg_ms end_ms text` and a newline.

    Args:
        start: start time, seconds.
        end: end time, seconds.
        text: the committed text.
    """
    return f"{start * 1000:.0f} {end * 1000:.0f} {text}\n"


class _Client:
    """One connection: bytes in, protocol lines out."""

    def __init__(self, conn: socket.socket, name: str, types: tuple[EventType, ...]) -> None:
        self.conn = conn
        self.name = name
        self.types = types
        self.alive = True
        self.last_end = 0.0
        self.lines = 0

    def send(self, events: Iterable[StreamEvent]) -> None:
        for event in events:
            if event.type == "status" and event.degradation.level:
                log.warning("%s: stream degraded: %s", self.name, event.degradation)
            if event.type not in self.types or not event.text or not self.alive:
                continue
            start = max(event.start, self.last_end)
            end = max(event.end, start)
            self.last_end = end
            try:
                self.conn.sendall(format_line(start, end, event.text).encode("utf-8"))
                self.lines += 1
            except OSError as exc:  # the client went away; keep decoding nothing for it
                log.info("%s: cannot send (%s); dropping its output", self.name, exc)
                self.alive = False


class StreamServer:
    """Serves live transcription over TCP to many clients, one thread and processor each.

    Args:
        make_processor: builds a processor for each client (given its emission clock).
        host: address to bind; 127.0.0.1 keeps the server local, 0.0.0.0 opens it up.
        port: TCP port; 0 picks a free one (see `address`).
        warmup: run once before accepting (e.g. decode one second) so the first client
            does not pay for model initialisation.
        idle_timeout_sec: a client that sends nothing for this long is disconnected.
        max_clients: connections served at once; more are refused (closed) and logged.
        line_types: which events become protocol lines (`committed`; `final` for two-pass).
        chunk_sec: audio is handed to a client's processor once at least this many seconds
            have arrived (whisper_streaming's `--vac-chunk-size`: how often the
            voice-activity controller looks at new audio); 0 hands over every read.
    """

    def __init__(
        self,
        make_processor: ProcessorFactory,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        warmup: Callable[[], object] | None = None,
        idle_timeout_sec: float = 60.0,
        max_clients: int = 16,
        line_types: tuple[EventType, ...] = ("committed",),
        chunk_sec: float = 0.0,
    ) -> None:
        if chunk_sec < 0:
            raise ConfigurationError(
                "--vac-chunk-size must be 0 seconds or more", hint="0.04 is a good start"
            )
        self._make_processor = make_processor
        self.host = host
        self.port = port
        self._warmup = warmup
        self.idle_timeout_sec = idle_timeout_sec
        self.max_clients = max_clients
        self.line_types = line_types
        self.chunk_sec = chunk_sec
        # Whole 16-bit samples per hand-over; at least one.
        self._chunk_bytes = max(2, 2 * round(chunk_sec * SAMPLE_RATE))
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._accept_thread: threading.Thread | None = None
        self._clients: set[threading.Thread] = set()
        self._lock = threading.Lock()
        #: Connections served so far (refused ones not counted).
        self.served = 0

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); the real port when 0 was asked for."""
        if self._listener is None:
            return (self.host, self.port)
        host, port = self._listener.getsockname()[:2]
        return (str(host), int(port))

    @property
    def active_clients(self) -> int:
        """Connections being served now."""
        with self._lock:
            return len(self._clients)

    def start(self) -> tuple[str, int]:
        """Warm up, bind, listen and accept in a background thread; return the address.

        Raises:
            ConfigurationError: the address cannot be bound (in use, not local...).
        """
        if self._listener is not None:
            return self.address
        if self._warmup is not None:
            started = time.perf_counter()
            self._warmup()
            log.info("warm-up took %.2f s", time.perf_counter() - started)
        try:
            listener = socket.create_server((self.host, self.port), reuse_port=False)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}",
                hint="choose another --port (0 picks a free one) or stop the other server",
            ) from exc
        listener.settimeout(_POLL_SEC)
        self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="yuyin-stream-accept", daemon=True
        )
        self._accept_thread.start()
        log.info("listening on %s:%d", *self.address)
        return self.address

    def serve_forever(self) -> None:
        """Start if needed and block until `shutdown` (from another thread or a signal)."""
        self.start()
        while not self._stopping.wait(_POLL_SEC):
            pass

    def shutdown(self, timeout_sec: float = 10.0) -> None:
        """Stop accepting, let connected clients finish their tails, close everything.

        Args:
            timeout_sec: how long to wait for client threads, seconds.
        """
        self._stopping.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout_sec)
        if self._listener is not None:
            self._listener.close()
        deadline = time.monotonic() + timeout_sec
        for thread in list(self._clients):
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> StreamServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _accept_loop(self) -> None:
        listener = self._listener
        while listener is not None and not self._stopping.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if not self._stopping.is_set():
                    log.exception("accept failed")
                return
            name = f"{peer[0]}:{peer[1]}"
            with self._lock:
                full = len(self._clients) >= self.max_clients
            if full:
                log.warning("%s: refused, already serving %d clients", name, self.max_clients)
                conn.close()
                continue
            thread = threading.Thread(
                target=self._serve_client, args=(conn, name), name=f"yuyin-stream {name}"
            )
            thread.daemon = True
            with self._lock:
                self._clients.add(thread)
                self.served += 1
            thread.start()

    def _serve_client(self, conn: socket.socket, name: str) -> None:
        client = _Client(conn, name, self.line_types)
        began = time.monotonic()
        try:
            log.info("%s: connected", name)
            processor = self._make_processor(lambda: time.monotonic() - began)
            conn.settimeout(_POLL_SEC)
            leftover = b""
            idle = 0.0
            received = 0
            while True:
                try:
                    data = conn.recv(_RECV_BYTES)
                except TimeoutError:
                    idle += _POLL_SEC
                    if self._stopping.is_set():
                        break
                    if idle >= self.idle_timeout_sec:
                        log.warning(
                            "%s: nothing received for %.0f s; closing", name, self.idle_timeout_sec
                        )
                        break
                    continue
                except OSError as exc:
                    log.info("%s: connection lost (%s)", name, exc)
                    break
                if not data:
                    break
                idle = 0.0
                received += len(data)
                leftover += data
                if len(leftover) >= self._chunk_bytes:
                    whole = len(leftover) - len(leftover) % 2
                    data, leftover = leftover[:whole], leftover[whole:]
                    client.send(processor.feed(pcm16_to_float(data)))
            whole = len(leftover) - len(leftover) % 2
            if whole:  # less than a chunk arrived since the last hand-over
                client.send(processor.feed(pcm16_to_float(leftover[:whole])))
                leftover = leftover[whole:]
            if leftover:
                error = StreamProtocolError(
                    f"the stream ended in the middle of a sample ({received} bytes in all)",
                    hint="send whole 16-bit samples (s16le); the odd last byte was ignored",
                )
                log.warning("%s: %s (%s)", name, error, error.hint)
            client.send(processor.finish())
            log.info(
                "%s: done, %.1f s of audio, %d lines",
                name,
                received / 2 / SAMPLE_RATE,
                client.lines,
            )
        except YuyinError as exc:
            log.error("%s: %s (%s)", name, exc, exc.hint)
        except Exception:  # one broken client must not take the server down
            log.exception("%s: failed", name)
        finally:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
            with self._lock:
                self._clients.discard(threading.current_thread())
