"""Emotion scores, speaker-grouped cross-validation and model files, on synthetic frame
matrices (no audio, no torch) (issue 12)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import pytest

from yuyin.emotion import (
    FORMAT_VERSION,
    ClassicModel,
    FeatureOptions,
    TrainOptions,
    cross_validate,
    fit_model,
    learning_curve,
    load_model,
    save_model,
    score_predictions,
)
from yuyin.errors import ConfigurationError, InputError, ModelError, ModelNotFoundError

FEATURES = FeatureOptions()
CLASSES = ("calm", "tense", "loud")


def synthetic(n_speakers: int = 6, per_class: int = 4, seed: int = 0):
    """Frame matrices whose classes differ in level, with a per-speaker offset."""
    rng = np.random.default_rng(seed)
    clips, labels, speakers = [], [], []
    for s in range(n_speakers):
        offset = rng.normal(0, 0.5)
        for c, name in enumerate(CLASSES):
            for _ in range(per_class):
                frames = rng.normal(offset + 3.0 * c, 1.0, (40, FEATURES.frame_dims))
                frames[:, -1] = rng.random(40) > 0.3
                clips.append(frames.astype(np.float32))
                labels.append(name)
                speakers.append(f"spk{s}")
    return clips, labels, speakers


def test_scores_on_an_imbalanced_set():
    truth = ["a"] * 8 + ["b"] * 2
    predicted = ["a"] * 8 + ["a", "b"]
    s = score_predictions(truth, predicted, ["a", "b", "c"])
    assert s.accuracy == pytest.approx(0.9)
    assert s.uar == pytest.approx((1.0 + 0.5) / 2)  # c is not in the truth: not averaged
    assert s.recall == {"a": 1.0, "b": 0.5}
    assert s.confusion == ((8, 0, 0), (1, 1, 0), (0, 0, 0))
    f1_a, f1_b = 2 * (8 / 9) / (8 / 9 + 1), 2 * 0.5 / 1.5
    assert s.macro_f1 == pytest.approx((f1_a + f1_b) / 2)
    assert s.to_dict()["confusion"][1] == [1, 1, 0]


def test_scores_need_matching_inputs():
    with pytest.raises(InputError):
        score_predictions([], [], ["a"])
    with pytest.raises(InputError):
        score_predictions(["a"], ["a", "b"], ["a", "b"])


@pytest.mark.parametrize("classifier", ["logreg", "svm"])
def test_classic_model_learns_and_gives_probabilities(classifier):
    clips, labels, speakers = synthetic()
    model = fit_model(
        clips, labels, speakers, CLASSES, label_set="custom", features=FEATURES,
        options=TrainOptions(classifier=classifier),
    )  # fmt: skip
    probs = model.predict_proba(clips[:5])
    assert probs.shape == (5, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert model.predict(clips) == labels


def test_a_class_missing_from_training_gets_probability_zero():
    clips, labels, speakers = synthetic()
    keep = [i for i, label in enumerate(labels) if label != "loud"]
    model = fit_model(
        [clips[i] for i in keep], [labels[i] for i in keep], [speakers[i] for i in keep],
        CLASSES, label_set="custom", features=FEATURES,
    )  # fmt: skip
    probs = model.predict_proba(clips[:3])
    assert np.all(probs[:, 2] == 0.0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_training_needs_two_classes_and_svm_two_samples_each():
    clips, labels, speakers = synthetic()
    with pytest.raises(InputError, match="two classes"):
        fit_model(clips[:4], labels[:4], speakers[:4], CLASSES, label_set="custom",
                  features=FEATURES)  # fmt: skip
    idx = [0, 1, 4]  # two calm, one tense
    with pytest.raises(InputError, match="at least 2 samples of every class") as info:
        fit_model(
            [clips[i] for i in idx], [labels[i] for i in idx], [speakers[i] for i in idx],
            CLASSES, label_set="custom", features=FEATURES,
            options=TrainOptions(classifier="svm"),
        )  # fmt: skip
    assert "--classifier logreg" in info.value.hint


def test_cross_validation_folds_never_share_a_speaker(monkeypatch):
    import yuyin.emotion.evaluate as evaluate

    clips, labels, speakers = synthetic()
    speaker_of = {id(c): s for c, s in zip(clips, speakers, strict=True)}
    folds_seen: list[tuple[set[str], set[str]]] = []
    real_fit = evaluate.fit_model

    def spy(c, lab, spk, *args, **kwargs):
        model = real_fit(c, lab, spk, *args, **kwargs)
        real_predict = model.predict

        def predict(test_clips):
            folds_seen.append((set(spk), {speaker_of[id(t)] for t in test_clips}))
            return real_predict(test_clips)

        monkeypatch.setattr(model, "predict", predict)
        return model

    monkeypatch.setattr(evaluate, "fit_model", spy)
    done: list[int] = []
    cv = cross_validate(
        clips, labels, speakers, CLASSES, label_set="custom", features=FEATURES, folds=3,
        on_fold=lambda n, total, scores: done.append(n),
    )  # fmt: skip
    assert done == [1, 2, 3]
    assert len(folds_seen) == 3
    for train_speakers, test_speakers in folds_seen:
        assert len(test_speakers) == 2
        assert not train_speakers & test_speakers
    assert set().union(*(t for _, t in folds_seen)) == set(speakers)
    assert cv.speaker_independent
    assert sum(f.clips for f in cv.folds) == len(clips) == cv.scores.clips
    assert cv.scores.uar > 0.9  # the synthetic classes are easy
    assert cv.to_dict()["folds"] == 3


def test_folds_keep_both_genders_in_training_for_emotion16():
    # Speakers alternate male, female as RAVDESS actors do; the label carries the gender.
    # Plain GroupKFold put every man in one fold: with two folds no training part held
    # the other gender's classes and UAR was 0.
    rng = np.random.default_rng(0)
    clips, labels, speakers = [], [], []
    for s in range(8):
        gender = "male" if s % 2 == 0 else "female"
        for c, name in enumerate(("calm", "loud")):
            for _ in range(4):
                level = 3.0 * c + (6.0 if gender == "female" else 0.0)
                clips.append(rng.normal(level, 1.0, (40, FEATURES.frame_dims)).astype(np.float32))
                labels.append(f"{gender}_{name}")
                speakers.append(f"actor_{s + 1:02d}")
    classes = ("male_calm", "male_loud", "female_calm", "female_loud")
    cv = cross_validate(
        clips, labels, speakers, classes, label_set="emotion16", features=FEATURES, folds=2
    )
    assert cv.speaker_independent
    assert all(set(f.recall) == set(classes) for f in cv.folds)  # every class in every test
    assert cv.scores.uar > 0.9


def test_folds_balance_genders_when_they_are_known():
    # Same alternating speakers, emotion8-style labels; the two genders show "loud" in
    # different columns. Trained on one gender and tested on the other (what GroupKFold's
    # two folds did) a model never learns the other gender's cue; with both genders on
    # both sides of every fold the classes are easy.
    rng = np.random.default_rng(1)
    clips, labels, speakers, genders = [], [], [], []
    for s in range(8):
        gender = "male" if s % 2 == 0 else "female"
        cue = slice(0, 40) if gender == "male" else slice(40, 79)
        for name in ("calm", "loud"):
            for _ in range(4):
                frames = rng.normal(0.0, 1.0, (40, FEATURES.frame_dims))
                if name == "loud":
                    frames[:, cue] += 3.0
                clips.append(frames.astype(np.float32))
                labels.append(name)
                speakers.append(f"actor_{s + 1:02d}")
                genders.append(gender)
    common: dict[str, Any] = {"label_set": "emotion8", "features": FEATURES, "folds": 2}
    classes = ("calm", "loud")
    assert cross_validate(clips, labels, speakers, classes, **common).scores.uar < 0.8
    balanced = cross_validate(clips, labels, speakers, classes, genders=genders, **common)
    assert balanced.scores.uar > 0.9
    curve = learning_curve(clips, labels, speakers, classes, genders=genders, points=2, **common)
    assert curve.test_uar[-1] > 0.9


def test_cross_validation_needs_a_class_with_two_clips():
    clips, labels, _ = synthetic(n_speakers=1, per_class=1)  # one clip of each class
    with pytest.raises(InputError, match="two clips of some class") as info:
        cross_validate(
            clips, labels, ["a", "b", "c"], CLASSES, label_set="custom", features=FEATURES
        )
    assert "--folds 0" in info.value.hint


def test_cross_validation_without_speakers_is_flagged():
    clips, labels, _ = synthetic(n_speakers=2)
    cv = cross_validate(
        clips, labels, [""] * len(clips), CLASSES, label_set="custom", features=FEATURES, folds=3
    )
    assert not cv.speaker_independent


def test_one_speaker_is_not_enough():
    clips, labels, speakers = synthetic(n_speakers=1)
    with pytest.raises(InputError, match="at least two speakers"):
        cross_validate(clips, labels, speakers, CLASSES, label_set="custom", features=FEATURES)


def test_learning_curve_grows_with_speakers():
    clips, labels, speakers = synthetic(n_speakers=6)
    curve = learning_curve(
        clips, labels, speakers, CLASSES, label_set="custom", features=FEATURES, folds=3,
        points=3,
    )  # fmt: skip
    assert curve.speakers == (1.0, 3.0, 4.0)
    assert all(0.0 <= u <= 1.0 for u in curve.train_uar + curve.test_uar)


@pytest.fixture(scope="module")
def classic_model() -> ClassicModel:
    clips, labels, speakers = synthetic()
    model = fit_model(clips, labels, speakers, CLASSES, label_set="custom", features=FEATURES)
    assert isinstance(model, ClassicModel)
    model.info = {"note": "synthetic"}
    return model


def test_model_file_round_trip(tmp_path, classic_model):
    path = save_model(classic_model, tmp_path / "m.zip")
    loaded = load_model(path)
    assert loaded.kind == "classic"
    assert loaded.classes == CLASSES
    assert loaded.label_set == "custom"
    assert loaded.features == FEATURES
    assert loaded.info == {"note": "synthetic"}
    clips, _, _ = synthetic(seed=1)
    np.testing.assert_allclose(loaded.predict_proba(clips), classic_model.predict_proba(clips))


def _rewrite(path, **meta_changes):
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(members["meta.json"])
    meta.update(meta_changes)
    members["meta.json"] = json.dumps(meta).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def test_a_model_of_another_format_version_is_refused(tmp_path, classic_model):
    path = save_model(classic_model, tmp_path / "m.zip")
    _rewrite(path, format_version=FORMAT_VERSION + 1, yuyin_version="9.0")
    with pytest.raises(ModelError, match=r"format version 2 \(written by yuyin 9.0\)") as info:
        load_model(path)
    assert "yuyin emotion train" in info.value.hint


def test_bad_model_files(tmp_path, classic_model):
    with pytest.raises(ModelNotFoundError):
        load_model(tmp_path / "none.zip")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a zip"):
        load_model(junk)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ModelError, match=r"no meta\.json"):
        load_model(other)
    path = save_model(classic_model, tmp_path / "m.zip")
    _rewrite(path, features={"n_mels": 40, "wavelets": 3})
    with pytest.raises(ModelError, match="unreadable settings"):
        load_model(path)


def test_foreign_types_in_the_payload_are_refused(tmp_path, classic_model):
    import skops.io  # type: ignore[import-untyped]

    path = save_model(classic_model, tmp_path / "m.zip")
    with zipfile.ZipFile(path) as z:
        meta = z.read("meta.json")
    # A payload holding a type no yuyin model contains (here: a standard-library class).
    import fractions

    with zipfile.ZipFile(path, "w") as z:
        z.writestr("meta.json", meta)
        z.writestr("pipeline.skops", skops.io.dumps({"x": fractions.Fraction(1, 3)}))
    with pytest.raises(ModelError, match=r"never contains.*Fraction"):
        load_model(path)


def test_bad_train_options():
    with pytest.raises(ConfigurationError):
        TrainOptions(model_type="forest")
    with pytest.raises(ConfigurationError):
        TrainOptions(classifier="knn")
    with pytest.raises(ConfigurationError):
        TrainOptions(patience=0)
    with pytest.raises(ConfigurationError):
        TrainOptions(validation_fraction=1.0)


def test_plots_render_to_png(tmp_path):
    from yuyin.analysis import save_figure
    from yuyin.emotion import LearningCurve
    from yuyin.emotion.plots import plot_confusion, plot_epochs, plot_learning_curve

    scores = score_predictions(["a", "b", "b"], ["a", "b", "a"], ["a", "b"])
    figures = {
        "confusion": plot_confusion(scores, "test"),
        "curve": plot_learning_curve(LearningCurve((1.0, 2.0), (1.0, 0.9), (0.5, 0.7)), "ab"),
        "epochs": plot_epochs(
            [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "val_uar": 0.5},
             {"epoch": 2, "train_loss": 0.5, "val_loss": 0.8, "val_uar": 0.7}], "ab",
        ),
    }  # fmt: skip
    for name, figure in figures.items():
        path = save_figure(figure, tmp_path / f"{name}.png")
        assert path.read_bytes().startswith(b"\x89PNG")
    confusion_axes = figures["confusion"].axes[0]
    assert "UAR 0.750" in confusion_axes.get_title()
    assert sorted(t.get_text() for t in confusion_axes.texts) == ["1", "1", "1"]


def test_train_flags_match_train_options_one_to_one():
    import dataclasses

    from yuyin.cli.emotion import TRAIN_OPTION_PARAMS, emotion_command

    params = {p.name: p for p in emotion_command.commands["train"].params}
    assert set(params) >= TRAIN_OPTION_PARAMS
    for f in dataclasses.fields(TrainOptions):
        assert params[f.name].default == f.default, f.name
        assert f"--{f.name.replace('_', '-')}" in params[f.name].opts
