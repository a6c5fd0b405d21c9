"""Scoring emotion models: accuracy, macro-F1, unweighted average recall, confusion matrices,
speaker-independent cross-validation and learning curves.

Cross-validation folds group clips by speaker (scikit-learn's StratifiedGroupKFold): no
speaker is in both the training and the test part of a fold, so the scores say how the
model does on voices it has never heard, the honest number for emotion recognition; within
that rule each fold gets a share of every class (and so, for emotion16, of both genders).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.emotion.features import FeatureOptions
from yuyin.emotion.models import EmotionModel, TrainOptions, fit_model
from yuyin.errors import InputError, MissingDependencyError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "CrossValidation",
    "EmotionScores",
    "LearningCurve",
    "cross_validate",
    "learning_curve",
    "score_predictions",
]

#: Called after each fold with (fold number, folds, that fold's scores).
FoldCallback = Callable[[int, int, "EmotionScores"], None]


def _metrics() -> Any:
    try:
        from sklearn import metrics
    except ImportError as exc:
        raise MissingDependencyError("scikit-learn", "emotion", "emotion scores") from exc
    return metrics


@dataclass(frozen=True, slots=True)
class EmotionScores:
    """How well predictions match the truth.

    Attributes:
        accuracy: share of clips classified correctly.
        macro_f1: F1 averaged over the classes that occur (in truth or prediction).
        uar: unweighted average recall: recall averaged over the classes in the truth,
            each class counting the same however many clips it has (chance is 1/classes).
        clips: how many clips were scored.
        classes: row and column names of `confusion`.
        confusion: counts, rows the true class and columns the predicted one.
        recall: recall of each class in the truth.
    """

    accuracy: float
    macro_f1: float
    uar: float
    clips: int
    classes: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    recall: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "uar": round(self.uar, 4),
            "clips": self.clips,
            "classes": list(self.classes),
            "confusion": [list(row) for row in self.confusion],
            "recall": {k: round(v, 4) for k, v in self.recall.items()},
        }


def score_predictions(
    truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str]
) -> EmotionScores:
    """Score predicted labels against true ones.

    Raises:
        InputError: no clips, or the two sequences differ in length.
    """
    if not truth or len(truth) != len(predicted):
        raise InputError(
            f"cannot score {len(predicted)} predictions against {len(truth)} labels",
            hint="give one prediction per clip",
        )
    m = _metrics()
    present = [c for c in classes if c in set(truth)]
    occurring = [c for c in classes if c in set(truth) | set(predicted)]
    matrix = m.confusion_matrix(truth, predicted, labels=list(classes))
    recalls = m.recall_score(truth, predicted, labels=present, average=None, zero_division=0)
    return EmotionScores(
        accuracy=float(m.accuracy_score(truth, predicted)),
        macro_f1=float(
            m.f1_score(truth, predicted, labels=occurring, average="macro", zero_division=0)
        ),
        uar=float(np.mean(recalls)),
        clips=len(truth),
        classes=tuple(classes),
        confusion=tuple(tuple(int(v) for v in row) for row in matrix),
        recall={c: float(r) for c, r in zip(present, recalls, strict=True)},
    )


@dataclass(frozen=True, slots=True)
class CrossValidation:
    """Cross-validated scores.

    Attributes:
        scores: scores of every clip's out-of-fold prediction, pooled over the folds.
        folds: each fold's own scores.
        speaker_independent: whether folds were grouped by speaker (False when the data
            names no speakers: then clips are split at random and scores run high).
        predictions: (clip index, predicted label) for every clip.
    """

    scores: EmotionScores
    folds: tuple[EmotionScores, ...]
    speaker_independent: bool
    predictions: tuple[tuple[int, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (without the per-clip predictions)."""
        uars = [f.uar for f in self.folds]
        return {
            **self.scores.to_dict(),
            "folds": len(self.folds),
            "fold_uar": [round(u, 4) for u in uars],
            "uar_std": round(float(np.std(uars)), 4),
            "speaker_independent": self.speaker_independent,
        }


def _groups(speakers: Sequence[str]) -> tuple[list[str], bool]:
    if any(not s for s in speakers):
        return [str(i) for i in range(len(speakers))], False
    return list(speakers), True


def _folds(
    groups: list[str],
    labels: Sequence[str],
    genders: Sequence[str] | None,
    folds: int,
    seed: int,
    *,
    shuffle: bool,
) -> list[tuple[NDArray[np.intp], NDArray[np.intp]]]:
    """Folds that never split a group, with each class (and gender) spread over the folds.

    Plain GroupKFold deals equal-sized groups out in turn, and RAVDESS actors alternate
    male, female: with two folds it trained on one gender and tested on the other (an
    emotion16 model then never saw half its classes: UAR 0), with four every test fold held
    one gender (issue 12). Stratifying by label and gender puts both genders, and every
    emotion, on both sides of each fold.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    distinct = len(set(groups))
    strata = list(labels)
    if genders is not None:
        by_gender = [f"{label}|{g}" for label, g in zip(labels, genders, strict=True)]
        strata = by_gender if max(Counter(by_gender).values(), default=0) >= 2 else strata
    largest = max(Counter(strata).values(), default=0)
    if distinct < 2:
        raise InputError(
            "speaker-independent evaluation needs clips of at least two speakers",
            hint="add speakers, or a speaker column to the manifest",
        )
    if largest < 2:
        raise InputError(
            "cross-validation needs at least two clips of some class",
            hint="add clips, or skip cross-validation (--folds 0)",
        )
    k = max(2, min(folds, distinct, largest))
    splitter = StratifiedGroupKFold(
        n_splits=k, shuffle=shuffle, random_state=seed if shuffle else None
    )
    placeholder = np.zeros(len(groups))
    with warnings.catch_warnings():
        # A class with fewer clips than folds is absent from some test folds: the pooled
        # scores still count every clip once, so this is no reason to warn the user.
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        return list(splitter.split(placeholder, strata, groups=groups))


def cross_validate(
    clips: Sequence[NDArray[np.float32]],
    labels: Sequence[str],
    speakers: Sequence[str],
    classes: Sequence[str],
    *,
    label_set: str,
    features: FeatureOptions,
    options: TrainOptions | None = None,
    folds: int = 5,
    genders: Sequence[str] | None = None,
    on_fold: FoldCallback | None = None,
) -> CrossValidation:
    """K-fold cross-validation with speakers as groups, classes and genders spread evenly.

    When any clip has no speaker, clips are split at random (seeded by `options.seed`) and
    the result says it is not speaker-independent.

    Args:
        clips: frame matrices from `frame_features`.
        labels: the class of each clip.
        speakers: the speaker of each clip; no speaker is on both sides of a fold.
        classes: class names in model order.
        label_set: recorded with each fold's model.
        features: the settings that produced `clips`.
        options: training options (defaults if None).
        folds: k, at most the number of speakers (so a large k is leave-one-speaker-out)
            and the number of clips of the largest class.
        genders: the speaker gender of each clip ("" unknown), balanced over the folds.
        on_fold: progress callback after each fold.

    Raises:
        InputError: fewer than two speakers (or clips, when speakers are unknown), or no
            class with two clips.
    """
    groups, independent = _groups(speakers)
    seed = options.seed if options else 0
    splits = _folds(groups, labels, genders, folds, seed, shuffle=not independent)
    predicted: list[str] = [""] * len(clips)
    fold_scores: list[EmotionScores] = []
    for n, (train, test) in enumerate(splits, 1):
        model = _fit(clips, labels, speakers, classes, train, label_set, features, options)
        guesses = model.predict([clips[i] for i in test])
        for i, g in zip(test, guesses, strict=True):
            predicted[i] = g
        scores = score_predictions([labels[i] for i in test], guesses, classes)
        fold_scores.append(scores)
        if on_fold is not None:
            on_fold(n, len(splits), scores)
    return CrossValidation(
        score_predictions(labels, predicted, classes),
        tuple(fold_scores),
        independent,
        tuple(enumerate(predicted)),
    )


def _fit(
    clips: Sequence[NDArray[np.float32]],
    labels: Sequence[str],
    speakers: Sequence[str],
    classes: Sequence[str],
    index: NDArray[np.intp],
    label_set: str,
    features: FeatureOptions,
    options: TrainOptions | None,
) -> EmotionModel:
    return fit_model(
        [clips[i] for i in index],
        [labels[i] for i in index],
        [speakers[i] for i in index],
        classes,
        label_set=label_set,
        features=features,
        options=options,
    )


@dataclass(frozen=True, slots=True)
class LearningCurve:
    """UAR against the amount of training data, averaged over speaker-independent folds.

    Attributes:
        speakers: training speakers used at each point (clips, when speakers are unknown).
        train_uar: UAR on the training clips themselves.
        test_uar: UAR on the held-out speakers.
    """

    speakers: tuple[float, ...]
    train_uar: tuple[float, ...]
    test_uar: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "speakers": [round(s, 2) for s in self.speakers],
            "train_uar": [round(u, 4) for u in self.train_uar],
            "test_uar": [round(u, 4) for u in self.test_uar],
        }


def learning_curve(
    clips: Sequence[NDArray[np.float32]],
    labels: Sequence[str],
    speakers: Sequence[str],
    classes: Sequence[str],
    *,
    label_set: str,
    features: FeatureOptions,
    options: TrainOptions | None = None,
    folds: int = 5,
    points: int = 5,
    genders: Sequence[str] | None = None,
) -> LearningCurve:
    """Train on growing shares of each fold's training speakers and score on the fold.

    Arguments as for `cross_validate`; `points` is the number of training-set sizes.

    Raises:
        InputError: fewer than two speakers (or clips, when speakers are unknown).
    """
    groups, independent = _groups(speakers)
    seed = options.seed if options else 0
    splits = _folds(groups, labels, genders, folds, seed, shuffle=not independent)
    rng = np.random.default_rng(seed)
    fractions = np.linspace(1 / points, 1.0, points)
    sums = np.zeros((points, 3))
    counts = np.zeros(points)
    for train, test in splits:
        names = rng.permutation(sorted({groups[i] for i in train}))
        truth = [labels[i] for i in test]
        for p, fraction in enumerate(fractions):
            chosen = set(names[: max(1, round(fraction * len(names)))].tolist())
            subset = np.asarray([i for i in train if groups[i] in chosen])
            if len({labels[i] for i in subset}) < 2:
                continue  # too little data for a classifier at this point
            try:
                model = _fit(clips, labels, speakers, classes, subset, label_set, features, options)
            except InputError:
                continue  # e.g. svm with one sample of a class at this point
            seen = [clips[i] for i in subset]
            train_uar = score_predictions([labels[i] for i in subset], model.predict(seen), classes)
            test_uar = score_predictions(truth, model.predict([clips[i] for i in test]), classes)
            sums[p] += (len(chosen), train_uar.uar, test_uar.uar)
            counts[p] += 1
    keep = counts > 0
    means = sums[keep] / counts[keep, None]
    return LearningCurve(
        tuple(float(v) for v in means[:, 0]),
        tuple(float(v) for v in means[:, 1]),
        tuple(float(v) for v in means[:, 2]),
    )
