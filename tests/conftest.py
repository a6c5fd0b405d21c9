"""Shared fixtures; the test kind (unit/integration/e2e) is set by the folder a test is in."""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fastapi import FastAPI

    from yuyin.types import Transcript

DATA = Path(__file__).parent / "data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = Path(str(item.fspath)).parent.name
        if kind in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def fixtures() -> dict[str, dict[str, Any]]:
    """The generated-speech fixtures by file name, with their known text (fixtures.jsonl)."""
    lines = (DATA / "fixtures.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["audio"]: row for row in map(json.loads, filter(None, lines))}


# --- scoring and checking real transcripts (integration tests) -----------------------------


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def _chars(text: str) -> str:
    from yuyin.text import convert_script

    return "".join(c for c in convert_script(text, "traditional") if c.isalnum())


def _wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(_words(reference), _words(hypothesis) or "<empty>"))


def _cer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.cer(_chars(reference), _chars(hypothesis) or "∅"))


def _check_transcript(t: Transcript) -> None:
    previous_end = 0.0
    for seg in t.segments:
        assert 0.0 <= seg.start <= seg.end <= t.duration + 1e-6
        assert seg.start >= previous_end - 0.05, "segments must not go back in time"
        previous_end = seg.end
        previous_word = seg.start
        for w in seg.words:
            assert seg.start - 1e-6 <= w.start <= w.end <= seg.end + 1e-6
            assert w.start >= previous_word - 1e-6
            assert 0.0 <= w.probability <= 1.0
            previous_word = w.start
    if t.segments:
        assert t.segments[-1].end <= t.duration + 1e-6


@pytest.fixture(scope="session")
def wer() -> Callable[[str, str], float]:
    """`wer(reference, hypothesis)`: word error rate, lower-cased, punctuation stripped."""
    return _wer


@pytest.fixture(scope="session")
def cer() -> Callable[[str, str], float]:
    """`cer(reference, hypothesis)`: character error rate on Traditional Chinese, no spaces."""
    return _cer


@pytest.fixture(scope="session")
def check_transcript() -> Callable[[Transcript], None]:
    """`check_transcript(t)` asserts the timing invariants every engine's Transcript keeps."""
    return _check_transcript


@pytest.fixture(scope="session")
def ct2_text() -> str:
    """tiny.en's greedy float32 CTranslate2 transcript of en.wav: what engines on the same
    weights are compared with."""
    import yuyin

    engine = yuyin.load_engine(yuyin.ModelOptions(model="tiny.en", compute_type="float32"))
    return yuyin.transcribe(DATA / "en.wav", engine=engine, beam_size=1, temperature=(0.0,)).text


# --- a real server on loopback (integration and e2e tests) ---------------------------------


@pytest.fixture(scope="session")
def media_server() -> Iterator[str]:
    """A plain HTTP server on loopback serving tests/data (direct media URLs)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(DATA), **kwargs)

        def log_message(self, *args: Any) -> None:
            pass  # keep test output clean

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class MediaSite:
    """An HTTP server on loopback serving one folder, as media hosts do: it answers byte
    ranges (so downloads can resume) and logs each request as (path, Range header)."""

    def __init__(self, root: Path) -> None:
        self.requests: list[tuple[str, str | None]] = []
        log = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(root), **kwargs)

            def log_message(self, *args: Any) -> None:
                pass  # keep test output clean

            def send_head(self) -> Any:
                log.append((self.path, self.headers.get("Range")))
                spec = self.headers.get("Range")
                path = Path(self.translate_path(self.path))
                if not spec or not path.is_file():
                    return super().send_head()
                start = int(spec.removeprefix("bytes=").split("-")[0])
                size = path.stat().st_size
                handle = path.open("rb")
                handle.seek(start)
                self.send_response(206)
                self.send_header("Content-Type", self.guess_type(str(path)))
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
                self.send_header("Content-Length", str(size - start))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                return handle

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def paths(self) -> list[str]:
        """The paths asked for, in order."""
        return [path for path, _ in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def serve_folder() -> Iterator[Callable[[Path], MediaSite]]:
    """Start a `MediaSite` for a folder; every site started is closed after the module."""
    sites: list[MediaSite] = []

    def start(root: Path) -> MediaSite:
        sites.append(MediaSite(root))
        return sites[-1]

    yield start
    for site in sites:
        site.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(**overrides: object) -> Iterator[tuple[str, FastAPI]]:
    import uvicorn

    from yuyin.server import create_app
    from yuyin.settings import Settings

    fields: dict[str, Any] = {"default_model": "tiny.en", **overrides}
    settings = Settings(port=free_port(), **fields)
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive(), "server failed to start"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{settings.port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        assert not Path(app.state.upload_root).exists(), "upload folder removed at shutdown"


@pytest.fixture(scope="session")
def serve() -> Any:
    """`with serve(**settings) as (url, app):` runs the real server on a free loopback port."""
    return running_app
