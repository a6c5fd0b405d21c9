"""The transcribe command's progress bars (stderr, only on a terminal)."""

from __future__ import annotations

import io
import sys

from yuyin.cli.transcribe import _Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_burn_in_has_its_own_bar_on_a_terminal(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    progress = _Progress(enabled=True)
    progress.burn(1.0, 5.0)
    progress.burn(5.0, 5.0)
    bar = progress._burn
    assert bar is not None
    assert (bar.n, bar.total) == (5.0, 5.0)
    progress.close()
    assert progress._burn is None
    assert "burn-in" in screen.getvalue()
    assert "/5.0 s" in screen.getvalue()


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr(sys, "stderr", screen)
    progress = _Progress(enabled=True)
    progress.burn(1.0, 5.0)
    progress.download(10, 100)
    progress.close()
    assert screen.getvalue() == ""
