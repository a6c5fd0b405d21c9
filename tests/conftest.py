"""Shared fixtures; the test kind (unit/integration/e2e) is set by the folder a test is in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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
