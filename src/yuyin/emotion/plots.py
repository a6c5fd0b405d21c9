"""Figures of emotion results: the confusion matrix and learning curves (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from yuyin.errors import MissingDependencyError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from yuyin.emotion.evaluate import EmotionScores, LearningCurve

__all__ = ["plot_confusion", "plot_epochs", "plot_learning_curve"]


def _figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError("matplotlib", "emotion", "emotion plots") from exc
    return Figure(figsize=(width, height), layout="constrained")


def plot_confusion(scores: EmotionScores, title: str = "") -> Figure:
    """The confusion matrix as a heat map of row shares, with the counts written in."""
    counts = np.asarray(scores.confusion, dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 2.5 + 0.55 * len(scores.classes)
    figure = _figure(size + 1.0, size)
    ax = figure.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ticks = range(len(scores.classes))
    ax.set_xticks(ticks, scores.classes, rotation=45, ha="right")
    ax.set_yticks(ticks, scores.classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (row, col), count in np.ndenumerate(counts):
        if count:
            colour = "white" if shares[row, col] > 0.5 else "black"
            ax.text(col, row, f"{count:.0f}", ha="center", va="center", color=colour)
    figure.colorbar(image, ax=ax, label="share of the true class")
    summary = (
        f"accuracy {scores.accuracy:.3f} · macro-F1 {scores.macro_f1:.3f} · UAR {scores.uar:.3f}"
    )
    ax.set_title(f"{title}\n{summary}" if title else summary, fontsize=10)
    return figure


def plot_learning_curve(curve: LearningCurve, classes: Sequence[str], title: str = "") -> Figure:
    """UAR on training and held-out speakers against the number of training speakers."""
    figure = _figure(6.0, 4.0)
    ax = figure.subplots()
    ax.plot(curve.speakers, curve.train_uar, "o-", label="training speakers")
    ax.plot(curve.speakers, curve.test_uar, "o-", label="held-out speakers")
    ax.axhline(1 / max(len(classes), 1), color="grey", linestyle="--", label="chance")
    ax.set_xlabel("training speakers")
    ax.set_ylabel("UAR")
    ax.set_ylim(0.0, 1.05)
    ax.legend(loc="lower right")
    ax.set_title(title or "learning curve (speaker-independent folds)", fontsize=10)
    return figure


def plot_epochs(
    history: Sequence[dict[str, float]], classes: Sequence[str], title: str = ""
) -> Figure:
    """A CNN's training curve: losses and validation UAR per epoch."""
    figure = _figure(6.0, 4.0)
    ax = figure.subplots()
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["train_loss"] for h in history], label="training loss")
    ax.plot(epochs, [h["val_loss"] for h in history], label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    right = ax.twinx()
    right.plot(epochs, [h["val_uar"] for h in history], color="C2", label="validation UAR")
    right.axhline(1 / max(len(classes), 1), color="grey", linestyle="--")
    right.set_ylim(0.0, 1.05)
    right.set_ylabel("UAR (held-out speakers)")
    lines = ax.get_lines() + right.get_lines()[:1]
    ax.legend(lines, [str(line.get_label()) for line in lines], loc="center right")
    ax.set_title(title or "CNN learning curve", fontsize=10)
    return figure
