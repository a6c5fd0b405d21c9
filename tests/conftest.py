"""Shared fixtures; the test kind (unit/integration/e2e) is set by the folder a test is in."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fastapi import FastAPI

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


# --- a real server on loopback (integration and e2e tests) ---------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(**overrides: object) -> Iterator[tuple[str, FastAPI]]:
    import uvicorn

    from yuyin.server import create_app
    from yuyin.settings import Settings

    settings = Settings(port=free_port(), default_model="tiny.en", **overrides)  # type: ignore[arg-type]
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
