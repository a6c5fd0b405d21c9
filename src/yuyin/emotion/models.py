"""Emotion classifiers: a classic scikit-learn pipeline and a small CNN, behind one interface.

Both take frame matrices (`frame_features`) and give class probabilities in the order of the
model's `classes`. The classic model standardises pooled statistics and fits a logistic
regression or an RBF SVM; the CNN (PyTorch, `yuyin.emotion.cnn`) reads fixed windows.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from yuyin.emotion.features import FeatureOptions, pooled_features, single_threaded
from yuyin.errors import ConfigurationError, InputError, MissingDependencyError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "CLASSIFIERS",
    "MODEL_TYPES",
    "ClassicModel",
    "EmotionModel",
    "EpochCallback",
    "TrainOptions",
    "fit_model",
]

#: Model families: a scikit-learn pipeline on pooled statistics, or a small 1-D CNN.
MODEL_TYPES: tuple[str, ...] = ("classic", "cnn")
#: Classifiers of the classic model: logistic regression, or an RBF SVM (calibrated).
CLASSIFIERS: tuple[str, ...] = ("logreg", "svm")

#: Called after each CNN epoch with (epoch, train loss, validation loss, validation UAR).
EpochCallback = Callable[[int, float, float, float], None]


@dataclass(frozen=True, slots=True)
class TrainOptions:
    """How a model is trained.

    Attributes:
        model_type: `classic` or `cnn`.
        classifier: the classic model's classifier, `logreg` or `svm`.
        seed: random seed (same seed, same data: same model).
        max_epochs: CNN epochs at most.
        patience: CNN epochs without a better validation loss before training stops.
        batch_size: CNN windows per batch.
        learning_rate: CNN Adam learning rate.
        validation_fraction: share of the training speakers held out for CNN early stopping.
        channels: CNN convolution channels.
    """

    model_type: str = "classic"
    classifier: str = "logreg"
    seed: int = 0
    max_epochs: int = 60
    patience: int = 8
    batch_size: int = 32
    learning_rate: float = 1e-3
    validation_fraction: float = 0.2
    channels: int = 64

    def __post_init__(self) -> None:
        if self.model_type not in MODEL_TYPES:
            raise ConfigurationError(
                f"unknown model type {self.model_type!r}", hint="choose " + ", ".join(MODEL_TYPES)
            )
        if self.classifier not in CLASSIFIERS:
            raise ConfigurationError(
                f"unknown classifier {self.classifier!r}", hint="choose " + ", ".join(CLASSIFIERS)
            )
        if min(self.max_epochs, self.patience, self.batch_size, self.channels) < 1:
            raise ConfigurationError(
                "epochs, patience, batch size and channels must be at least 1",
                hint="the defaults are 60 epochs, patience 8, batches of 32, 64 channels",
            )
        if not 0 < self.validation_fraction < 1 or self.learning_rate <= 0:
            raise ConfigurationError(
                "the validation fraction must be between 0 and 1 and the learning rate above 0",
                hint="the defaults are 0.2 and 0.001",
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return dataclasses.asdict(self)


class EmotionModel(ABC):
    """A trained emotion classifier with its classes, label set and feature settings.

    Attributes:
        classes: class names, in the order of `predict_proba`'s columns.
        label_set: `emotion8`, `emotion16` or `custom`.
        features: the feature settings the model was trained with.
        info: what training recorded (data, options, scores), saved with the model.
    """

    kind: ClassVar[str]

    def __init__(
        self,
        classes: Sequence[str],
        *,
        label_set: str,
        features: FeatureOptions,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.classes = tuple(classes)
        self.label_set = label_set
        self.features = features
        self.info = dict(info or {})

    @abstractmethod
    def predict_proba(self, clips: Sequence[NDArray[np.float32]]) -> NDArray[np.float64]:
        """Class probabilities shaped (clips, classes), each row summing to 1.

        Args:
            clips: frame matrices from `frame_features` with this model's settings.
        """

    def predict(self, clips: Sequence[NDArray[np.float32]]) -> list[str]:
        """The most probable class of each clip."""
        return [self.classes[i] for i in np.argmax(self.predict_proba(clips), axis=1)]


class ClassicModel(EmotionModel):
    """Standardised pooled statistics into a scikit-learn classifier (one Pipeline).

    Attributes:
        pipeline: the fitted Pipeline; its classes are indices into `classes`.
    """

    kind = "classic"

    def __init__(self, pipeline: Any, classes: Sequence[str], **kwargs: Any) -> None:
        super().__init__(classes, **kwargs)
        self.pipeline = pipeline

    def predict_proba(self, clips: Sequence[NDArray[np.float32]]) -> NDArray[np.float64]:
        """Class probabilities shaped (clips, classes), each row summing to 1."""
        out = np.zeros((len(clips), len(self.classes)), dtype=np.float64)
        if not clips:
            return out
        with single_threaded():
            x = np.stack([pooled_features(c, self.features) for c in clips])
            # A class absent from the training data has no column: it keeps probability 0.
            known = np.asarray(self.pipeline.classes_, dtype=int)
            out[:, known] = self.pipeline.predict_proba(x)
        return out


def _sklearn_pipeline(options: TrainOptions, counts: NDArray[np.int64]) -> Any:
    try:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC
    except ImportError as exc:
        raise MissingDependencyError("scikit-learn", "emotion", "emotion models") from exc
    classifier: Any
    if options.classifier == "svm":
        smallest = int(counts[counts > 0].min())
        if smallest < 2:
            raise InputError(
                "the svm classifier needs at least 2 samples of every class (it calibrates "
                "its probabilities by cross-validation)",
                hint="add samples, or use --classifier logreg",
            )
        svm = SVC(C=10.0, gamma="scale", class_weight="balanced", random_state=options.seed)
        # SVC's own probability=True is deprecated; one calibrator on cross-validated scores.
        classifier = CalibratedClassifierCV(svm, cv=min(3, smallest), ensemble=False)
    else:
        classifier = LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000)
    return Pipeline([("scale", StandardScaler()), ("classify", classifier)])


def fit_model(
    clips: Sequence[NDArray[np.float32]],
    labels: Sequence[str],
    speakers: Sequence[str],
    classes: Sequence[str],
    *,
    label_set: str,
    features: FeatureOptions,
    options: TrainOptions | None = None,
    on_epoch: EpochCallback | None = None,
) -> EmotionModel:
    """Train a model on frame matrices with their labels and speakers.

    Args:
        clips: frame matrices from `frame_features`.
        labels: the class of each clip (each one of `classes`).
        speakers: the speaker of each clip; the CNN holds out whole speakers to stop early.
        classes: class names in model order.
        label_set: recorded with the model.
        features: the settings that produced `clips`, recorded with the model.
        options: training options (defaults if None).
        on_epoch: progress callback for the CNN.

    Raises:
        InputError: fewer than two classes among the labels, or too few samples for svm.
        MissingDependencyError: scikit-learn (`emotion` extra) or torch (`train` extra).
    """
    opts = options or TrainOptions()
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray([index[label] for label in labels], dtype=np.int64)
    counts = np.bincount(y, minlength=len(classes))
    if np.count_nonzero(counts) < 2:
        raise InputError("training needs samples of at least two classes", hint="check the labels")
    common: dict[str, Any] = {"label_set": label_set, "features": features}
    if opts.model_type == "cnn":
        try:
            from yuyin.emotion import cnn
        except ImportError as exc:
            raise MissingDependencyError("torch", "train", "the CNN emotion model") from exc
        with single_threaded():
            return cnn.fit_cnn(
                clips, y, speakers, classes, options=opts, on_epoch=on_epoch, **common
            )
    pipeline = _sklearn_pipeline(opts, counts)
    with single_threaded():
        x = np.stack([pooled_features(c, features) for c in clips])
        pipeline.fit(x, y)
    return ClassicModel(pipeline, classes, **common)
