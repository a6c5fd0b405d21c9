"""Progress events of a fine-tuning run: the library reports, the caller draws (CLI: tqdm)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["STAGES", "Progress", "ProgressCallback"]

#: The stages of a run, in order.
STAGES = ("scan", "encode", "train", "evaluate", "save", "export", "report")


@dataclass(frozen=True, slots=True)
class Progress:
    """One step of one stage.

    Attributes:
        stage: one of `STAGES`: `scan` (checking and measuring clips), `encode` (caching
            the frozen encoder's output), `train` (optimiser steps), `evaluate` (validation
            during training), `save` (best checkpoint), `export` (CTranslate2), `report`
            (before/after scores on the test split).
        done: units finished in this stage (clips or steps).
        total: units in this stage (0 when unknown).
        loss: the latest training loss (train stage).
        learning_rate: the latest learning rate (train stage).
        metrics: the latest validation scores, e.g. `{"wer": 0.21, "wer_orthographic": 0.3}`.
        message: a line worth showing (a skipped clip, a resumed checkpoint...), or "".
        logged: a train event whose loss and learning rate were just logged (every
            `logging_steps`); the others repeat the last logged values.
    """

    stage: str
    done: int = 0
    total: int = 0
    loss: float | None = None
    learning_rate: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    message: str = ""
    logged: bool = False


#: Called with each event; raising KeyboardInterrupt from it stops the run (resumable).
ProgressCallback = Callable[[Progress], None]
