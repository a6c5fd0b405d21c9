"""`yuyin serve` turns flags into settings (uvicorn replaced by a recorder); `yuyin engines`."""

from __future__ import annotations

import os
from typing import Any

import pytest
from click.testing import CliRunner

from yuyin.cli import main
from yuyin.engines.registry import ENGINES


@pytest.fixture
def environ(monkeypatch) -> dict[str, str]:
    # `yuyin serve` writes its flags into the environment; keep that inside the test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUYIN_")}
    monkeypatch.setattr(os, "environ", env)
    return env


def test_serve_passes_flags_to_uvicorn_through_the_settings(environ, monkeypatch):
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append({"app": app, **kw}))
    result = CliRunner().invoke(
        main,
        ["serve", "--host", "0.0.0.0", "--port", "8123", "--no-allow-urls", "--preload", "base"],
    )
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert call["app"] == "yuyin.server:create_app"
    assert call["factory"] is True
    assert (call["host"], call["port"]) == ("0.0.0.0", 8123)
    assert environ["YUYIN_ALLOW_URLS"] == "False"
    assert environ["YUYIN_PRELOAD"] == '["base"]'
    from yuyin.settings import Settings

    settings = Settings()
    assert settings.preload == ("base",)
    assert not settings.url_input


def test_serve_rejects_an_invalid_setting_with_a_hint(environ, monkeypatch):
    monkeypatch.setattr("uvicorn.run", lambda *a, **kw: pytest.fail("must not start"))
    result = CliRunner().invoke(main, ["serve", "--port", "70000"])
    assert result.exit_code != 0
    assert "invalid server setting port" in result.output
    assert "yuyin serve --help" in result.output
    assert "Traceback" not in result.output


def test_engines_table_lists_every_engine_with_its_extra():
    result = CliRunner().invoke(main, ["engines"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["ENGINE", "HERE"]
    listed = [line.split()[0] for line in lines[1:] if line.strip()]
    assert listed[: len(ENGINES)] == list(ENGINES)
