"""`yuyin emotion`'s terminal output: the score table, skipped-clip warnings, --classes."""

from __future__ import annotations

import click
import pytest

from yuyin.cli.emotion import _classes, _scores_table, _warn_skipped
from yuyin.emotion.evaluate import score_predictions
from yuyin.eval.manifest import Skipped


def test_score_table_shows_metrics_confusion_and_recall():
    truth = ["angry", "angry", "calm", "calm", "sad"]
    guess = ["angry", "calm", "calm", "calm", "angry"]
    scores = score_predictions(truth, guess, classes=("angry", "calm", "sad"))
    table = _scores_table(scores).splitlines()
    assert table[0].startswith(f"accuracy {3 / 5:.3f}")
    assert "chance UAR 0.333" in table[0]
    assert table[2].split()[-4:] == ["angry", "calm", "sad", "recall"]
    assert table[3].split() == ["angry", "1", "1", "0", "0.500"]
    assert table[5].split() == ["sad", "1", "0", "0", "0.000"]


def test_skipped_clips_are_warned_about_up_to_twenty(capsys):
    skipped = tuple(Skipped(f"c{i}.wav", None, "silent") for i in range(23))
    _warn_skipped(skipped, show=True)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "warning: c0.wav: silent (skipped)"
    assert len(err) == 21
    assert err[-1] == "warning: ... and 3 more skipped"
    _warn_skipped(skipped, show=False)
    assert capsys.readouterr().err == ""


def test_classes_option_needs_two_names():
    assert _classes(None, None, " happy, sad ,") == ["happy", "sad"]  # type: ignore[arg-type]
    assert _classes(None, None, None) is None  # type: ignore[arg-type]
    with pytest.raises(click.BadParameter, match="at least two"):
        _classes(None, None, "happy")  # type: ignore[arg-type]
