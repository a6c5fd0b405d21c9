"""Speech emotion recognition: datasets, features, classic and CNN models, honest scores.

    dataset     RAVDESS file names, label sets (emotion8, emotion16, custom), manifests
    features    log-mel, MFCC + deltas, prosody (pitch, energy, speaking rate); pooled or windows
    models      the classic scikit-learn pipeline and the CNN (`cnn`, PyTorch) behind one API
    evaluate    accuracy, macro-F1, UAR, speaker-independent cross-validation, learning curves
    training    dataset in, model and scores out
    store       model files (zip: meta.json with a format version, skops or torch weights)
    predict     the emotion of a recording or of each transcript segment

Needs the `emotion` extra (scikit-learn, librosa, skops, matplotlib); the CNN also needs
torch (the `train` extra). Issue 12.
"""

from yuyin.emotion.dataset import (
    EMOTIONS,
    LABEL_SETS,
    EmotionDataset,
    EmotionSample,
    RavdessName,
    label_set_classes,
    load_dataset,
    parse_ravdess_name,
)
from yuyin.emotion.evaluate import (
    CrossValidation,
    EmotionScores,
    LearningCurve,
    cross_validate,
    learning_curve,
    score_predictions,
)
from yuyin.emotion.features import FeatureOptions, frame_features, pooled_features, windows
from yuyin.emotion.models import (
    CLASSIFIERS,
    MODEL_TYPES,
    ClassicModel,
    EmotionModel,
    TrainOptions,
    fit_model,
)
from yuyin.emotion.predict import (
    EmotionPrediction,
    predict_emotion,
    predict_segments,
    read_segments,
)
from yuyin.emotion.store import FORMAT_VERSION, load_model, save_model
from yuyin.emotion.training import (
    EvaluationResult,
    FeatureSet,
    TrainResult,
    evaluate_model,
    extract_features,
    train_emotion,
)

__all__ = [
    "CLASSIFIERS",
    "EMOTIONS",
    "FORMAT_VERSION",
    "LABEL_SETS",
    "MODEL_TYPES",
    "ClassicModel",
    "CrossValidation",
    "EmotionDataset",
    "EmotionModel",
    "EmotionPrediction",
    "EmotionSample",
    "EmotionScores",
    "EvaluationResult",
    "FeatureOptions",
    "FeatureSet",
    "LearningCurve",
    "RavdessName",
    "TrainOptions",
    "TrainResult",
    "cross_validate",
    "evaluate_model",
    "extract_features",
    "fit_model",
    "frame_features",
    "label_set_classes",
    "learning_curve",
    "load_dataset",
    "load_model",
    "parse_ravdess_name",
    "pooled_features",
    "predict_emotion",
    "predict_segments",
    "read_segments",
    "save_model",
    "score_predictions",
    "train_emotion",
    "windows",
]
