"""Speech emotion recognition: speaker-independent cross-validation on any RAVDESS-format folder.

Features are extracted once; then each model is cross-validated with folds grouped by
speaker (no actor in both the training and the test part), and, for comparison, the classic
model once more with folds that ignore speakers (the leaky random split many published
RAVDESS numbers use). The table prints accuracy, macro-F1, unweighted average recall (UAR,
mean and spread over folds) and the time per model.

    .venv/bin/python bench/emotion.py [DATA] [--classes neutral,happy,sad,angry]
        [--labels emotion8|emotion16] [--folds 4] [--no-cnn] [--pitch yin|pyin]

DATA defaults to the generated set in tests/data/emotion (4 classes, 8 espeak-ng voices).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from yuyin.emotion import (
    FeatureOptions,
    TrainOptions,
    cross_validate,
    extract_features,
    load_dataset,
)
from yuyin.errors import YuyinError

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Parse the command line and run the benchmark; yuyin's errors end it cleanly."""
    try:
        run()
    except YuyinError as exc:  # a bad folder or option: say what to do, no traceback
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        sys.exit(exc.exit_code)


def run() -> None:
    """Extract features once, cross-validate every model, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", default=str(ROOT / "tests" / "data" / "emotion"))
    parser.add_argument("--labels", default="emotion8", choices=["emotion8", "emotion16"])
    parser.add_argument("--classes", default=None, help="comma-separated subset")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--no-cnn", action="store_true", help="skip the CNN (needs torch)")
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--pitch", default="yin", choices=["yin", "pyin"])
    args = parser.parse_args()

    classes = args.classes.split(",") if args.classes else None
    if classes is None and Path(args.data).resolve() == (ROOT / "tests/data/emotion").resolve():
        classes = ["neutral", "happy", "sad", "angry"]
    dataset = load_dataset(args.data, label_set=args.labels, classes=classes)
    features = FeatureOptions(pitch=args.pitch)
    started = time.perf_counter()
    fs = extract_features(dataset.samples, features)
    feature_s = time.perf_counter() - started
    speakers = sorted(set(fs.speakers))
    print(f"data: {args.data}")
    print(
        f"{len(fs.samples)} clips, {len(speakers)} speakers, {len(dataset.classes)} classes "
        f"({', '.join(dataset.classes)}); chance UAR {1 / len(dataset.classes):.3f}; "
        f"{len(fs.skipped)} skipped"
    )
    per_clip_ms = 1000 * feature_s / len(fs.samples)
    print(f"features ({args.pitch}): {feature_s:.1f} s ({per_clip_ms:.0f} ms/clip)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")  # fmt: skip
    print()

    runs: list[tuple[str, TrainOptions, bool]] = [
        ("classic logreg", TrainOptions(classifier="logreg"), True),
        ("classic svm", TrainOptions(classifier="svm"), True),
    ]
    if not args.no_cnn:
        runs.append(("cnn", TrainOptions(model_type="cnn", max_epochs=args.max_epochs), True))
    runs.append(("classic logreg, random folds (leaky)", TrainOptions(), False))

    header = f"{'model':<38} {'split':<10} {'acc':>6} {'F1':>6} {'UAR':>6} {'±':>5} {'s':>6}"
    print(header)
    print("-" * len(header))
    baseline = None
    for name, options, by_speaker in runs:
        groups = fs.speakers if by_speaker else [""] * len(fs.samples)
        started = time.perf_counter()
        cv = cross_validate(
            fs.clips, fs.labels, groups, dataset.classes, label_set=args.labels,
            features=features, options=options, folds=args.folds, genders=fs.genders,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        spread = float(np.std([f.uar for f in cv.folds]))
        split = "speaker" if cv.speaker_independent else "random"
        baseline = baseline or cv.scores.uar
        print(
            f"{name:<38} {split:<10} {cv.scores.accuracy:6.3f} {cv.scores.macro_f1:6.3f} "
            f"{cv.scores.uar:6.3f} {spread:5.3f} {seconds:6.1f}"
            f"   (UAR x{cv.scores.uar / baseline:.2f} of logreg)"
        )


if __name__ == "__main__":
    main()
