"""Train and evaluate emotion models on datasets: features, cross-validation, the final fit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yuyin.audio import decode_audio
from yuyin.emotion.dataset import EmotionDataset, EmotionSample, check_classes, load_dataset
from yuyin.emotion.evaluate import (
    CrossValidation,
    EmotionScores,
    FoldCallback,
    LearningCurve,
    cross_validate,
    learning_curve,
    score_predictions,
)
from yuyin.emotion.features import FeatureOptions, frame_features, single_threaded
from yuyin.emotion.models import EmotionModel, EpochCallback, TrainOptions, fit_model
from yuyin.errors import InputError, YuyinError
from yuyin.eval.manifest import Skipped

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "EvaluationResult",
    "FeatureSet",
    "TrainResult",
    "evaluate_model",
    "extract_features",
    "train_emotion",
]

#: Called after each clip's features with the sample and the error that skipped it, if any.
ClipCallback = Callable[[EmotionSample, YuyinError | None], None]


@dataclass(frozen=True, slots=True)
class FeatureSet:
    """Frame features of the usable clips of a dataset.

    Attributes:
        samples: the clips that gave features.
        clips: their frame matrices, in the same order.
        skipped: clips that could not be used (undecodable, silent, too short) and why.
    """

    samples: tuple[EmotionSample, ...]
    clips: tuple[NDArray[np.float32], ...]
    skipped: tuple[Skipped, ...]

    @property
    def labels(self) -> list[str]:
        """The label of each clip."""
        return [s.label for s in self.samples]

    @property
    def speakers(self) -> list[str]:
        """The speaker of each clip."""
        return [s.speaker for s in self.samples]

    @property
    def genders(self) -> list[str]:
        """The speaker gender of each clip ("" where unknown)."""
        return [s.gender for s in self.samples]


def extract_features(
    samples: Sequence[EmotionSample],
    features: FeatureOptions | None = None,
    *,
    on_clip: ClipCallback | None = None,
) -> FeatureSet:
    """Decode every clip and compute its frame features; bad clips are skipped, not fatal."""
    opts = features or FeatureOptions()
    kept: list[EmotionSample] = []
    clips: list[NDArray[np.float32]] = []
    skipped: list[Skipped] = []
    with single_threaded():
        for sample in samples:
            error: InputError | None = None
            try:
                audio, _ = decode_audio(sample.audio)
                clips.append(frame_features(audio, opts, name=sample.id))
                kept.append(sample)
            except InputError as exc:  # not a bad clip: a missing extra or a bug goes up
                error = exc
                skipped.append(Skipped(sample.id, None, exc.message, sample.id))
            if on_clip is not None:
                on_clip(sample, error)
    return FeatureSet(tuple(kept), tuple(clips), tuple(skipped))


@dataclass(frozen=True, slots=True)
class TrainResult:
    """A trained model and what training found out.

    Attributes:
        model: the model fitted on all usable clips.
        dataset: the dataset read (before clips were skipped for their audio).
        skipped: rows and clips left out, and why.
        cross_validation: speaker-independent cross-validated scores, if run.
        curve: the learning curve (classic models), if run.
    """

    model: EmotionModel
    dataset: EmotionDataset
    skipped: tuple[Skipped, ...]
    cross_validation: CrossValidation | None
    curve: LearningCurve | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            **self.model.info,
            "model_type": self.model.kind,
            "classes": list(self.model.classes),
            "label_set": self.model.label_set,
            "learning_curve": self.curve.to_dict() if self.curve else None,
            "skipped": [s.to_dict() for s in self.skipped],
        }


def train_emotion(
    data: str | Path,
    *,
    label_set: str = "emotion8",
    classes: Sequence[str] | None = None,
    features: FeatureOptions | None = None,
    options: TrainOptions | None = None,
    folds: int = 5,
    curve: bool = True,
    on_clip: ClipCallback | None = None,
    on_fold: FoldCallback | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Read a dataset, cross-validate by speaker, then fit the model on every usable clip.

    Args:
        data: a RAVDESS-named folder or a manifest (see `load_dataset`).
        label_set: `emotion8`, `emotion16` or `custom`.
        classes: train on these classes only (None: all of the label set).
        features: feature settings (defaults if None).
        options: training options (defaults if None).
        folds: speaker-independent folds for cross-validation (0: none).
        curve: also compute a learning curve (classic models only; costs `folds` x 5 fits).
        on_clip: progress callback per clip.
        on_fold: progress callback per cross-validation fold.
        on_epoch: progress callback per CNN epoch of the final fit.

    Raises:
        InputError: unparseable names, classes with no usable clips, one speaker only, ...
        ConfigurationError: bad label set, classes or options.
    """
    feats = features or FeatureOptions()
    opts = options or TrainOptions()
    dataset = load_dataset(data, label_set=label_set, classes=classes)
    fs = extract_features(dataset.samples, feats, on_clip=on_clip)
    usable = EmotionDataset(
        dataset.path, dataset.format, label_set, dataset.classes, fs.samples, ()
    )
    check_classes(usable)
    common: dict[str, Any] = {
        "label_set": label_set, "features": feats, "options": opts, "genders": fs.genders
    }  # fmt: skip
    cv = None
    if folds:
        cv = cross_validate(
            fs.clips, fs.labels, fs.speakers, dataset.classes, folds=folds, on_fold=on_fold,
            **common,
        )  # fmt: skip
    lc = None
    if curve and folds and opts.model_type == "classic":
        lc = learning_curve(
            fs.clips, fs.labels, fs.speakers, dataset.classes, folds=folds, **common
        )
    model = fit_model(
        fs.clips, fs.labels, fs.speakers, dataset.classes, on_epoch=on_epoch,
        label_set=label_set, features=feats, options=opts,
    )  # fmt: skip
    model.info = {
        "data": str(data),
        "clips": len(fs.samples),
        "speakers": len({s for s in fs.speakers if s}),
        "counts": usable.counts,
        "options": opts.to_dict(),
        "cross_validation": cv.to_dict() if cv else None,
    }
    return TrainResult(model, dataset, (*dataset.skipped, *fs.skipped), cv, lc)


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    """A model scored on a labelled dataset.

    Attributes:
        scores: accuracy, macro-F1, UAR and the confusion matrix.
        predictions: (id, true label, predicted label, its probability) per clip.
        skipped: rows and clips left out, and why.
    """

    scores: EmotionScores
    predictions: tuple[tuple[str, str, str, float], ...]
    skipped: tuple[Skipped, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            **self.scores.to_dict(),
            "predictions": [
                {"id": i, "label": t, "predicted": p, "probability": round(prob, 4)}
                for i, t, p, prob in self.predictions
            ],
            "skipped": [s.to_dict() for s in self.skipped],
        }


def evaluate_model(
    data: str | Path, model: EmotionModel, *, on_clip: ClipCallback | None = None
) -> EvaluationResult:
    """Score a model on a labelled dataset read with the model's label set.

    Clips whose label is not one of the model's classes are skipped.

    Raises:
        InputError: no clip with a label the model knows.
    """
    dataset = load_dataset(data, label_set=model.label_set, allow_missing_classes=True)
    known = set(model.classes)
    wanted = [s for s in dataset.samples if s.label in known]
    skipped = list(dataset.skipped)
    skipped += [
        Skipped(s.id, None, f"label {s.label!r} is not a class of the model", s.id)
        for s in dataset.samples
        if s.label not in known
    ]
    fs = extract_features(wanted, model.features, on_clip=on_clip)
    skipped += fs.skipped
    if not fs.samples:
        raise InputError(
            f"no usable clip in {data} has a label the model knows",
            hint="the model's classes: " + ", ".join(model.classes),
        )
    probs = model.predict_proba(list(fs.clips))
    best = probs.argmax(axis=1)
    predicted = [model.classes[i] for i in best]
    scores = score_predictions(fs.labels, predicted, model.classes)
    rows = tuple(
        (s.id, s.label, p, float(probs[n, best[n]]))
        for n, (s, p) in enumerate(zip(fs.samples, predicted, strict=True))
    )
    return EvaluationResult(scores, rows, tuple(skipped))
