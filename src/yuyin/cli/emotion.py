"""`yuyin emotion`: train, evaluate and apply speech emotion models (issue 12)."""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from yuyin.analysis import save_figure
from yuyin.cli._common import EXIT_CODES_HELP, echo_json
from yuyin.emotion import (
    CLASSIFIERS,
    LABEL_SETS,
    MODEL_TYPES,
    EmotionModel,
    EmotionPrediction,
    EmotionScores,
    FeatureOptions,
    TrainOptions,
    evaluate_model,
    load_dataset,
    load_model,
    predict_emotion,
    predict_segments,
    read_segments,
    save_model,
    train_emotion,
)
from yuyin.emotion.features import PITCH_TRACKERS
from yuyin.emotion.plots import plot_confusion, plot_epochs, plot_learning_curve
from yuyin.errors import ModelNotFoundError
from yuyin.eval.manifest import Skipped

__all__ = ["TRAIN_OPTION_PARAMS", "emotion_command"]

#: `yuyin emotion train` flags that map one-to-one to `TrainOptions` fields.
TRAIN_OPTION_PARAMS = frozenset(f.name for f in dataclasses.fields(TrainOptions))

_TRUST = (
    "Model files are zip archives: meta.json (format version, classes, label set, feature "
    "settings) plus scikit-learn weights in skops format (only scikit-learn and numpy types "
    "are rebuilt; anything else is refused) or CNN tensors (torch weights_only). No pickle "
    "is loaded, but only load models you trained yourself or got from someone you trust."
)
_NO_MODEL_HINT = (
    "train one on data you may use: `yuyin emotion train DATA --output emotion.zip`, then "
    "pass --model emotion.zip (or set YUYIN_EMOTION_PREDICT_MODEL); see `yuyin emotion "
    "train --help`"
)


@contextmanager
def _bar(total: int | None, desc: str, show: bool) -> Iterator[tqdm[Any] | None]:
    bar = (
        tqdm(total=total, desc=desc, unit="clip", file=sys.stderr, leave=False)
        if show and sys.stderr.isatty()
        else None
    )
    try:
        yield bar
    finally:
        if bar is not None:
            bar.close()


def _counter(bar: tqdm[Any] | None) -> Callable[..., None] | None:
    """A progress callback that advances `bar` by one clip (None without a bar)."""
    if bar is None:
        return None

    def advance(*_args: Any) -> None:
        bar.update(1)

    return advance


def _warn_skipped(skipped: tuple[Skipped, ...], show: bool) -> None:
    if not show:
        return
    for s in skipped[:20]:
        click.echo(f"warning: {s} (skipped)", err=True)
    if len(skipped) > 20:
        click.echo(f"warning: ... and {len(skipped) - 20} more skipped", err=True)


def _scores_table(scores: EmotionScores) -> str:
    corner = "true \\ predicted"
    width = max(len(corner), *(len(c) for c in scores.classes))
    lines = [
        f"accuracy {scores.accuracy:.3f}   macro-F1 {scores.macro_f1:.3f}   "
        f"UAR {scores.uar:.3f}   ({scores.clips} clips, chance UAR "
        f"{1 / len(scores.classes):.3f})",
        "",
        f"{corner:<{width}}  " + " ".join(f"{c[:7]:>7}" for c in scores.classes) + "   recall",
    ]  # fmt: skip
    for name, row in zip(scores.classes, scores.confusion, strict=True):
        recall = scores.recall.get(name)
        shown = f"{recall:8.3f}" if recall is not None else "       -"
        lines.append(f"{name:<{width}}  " + " ".join(f"{v:>7}" for v in row) + f" {shown}")
    return "\n".join(lines)


def _classes(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [c.strip() for c in value.split(",") if c.strip()]
    if len(names) < 2:
        raise click.BadParameter("name at least two classes, separated by commas")
    return names


@click.group(
    "emotion",
    epilog=EXIT_CODES_HELP,
    short_help="Speech emotion recognition: train, eval, predict.",
)
def emotion_command() -> None:
    """Recognise emotion in speech: train a model, score it, apply it.

    \b
    yuyin ships no emotion model: public emotion corpora (RAVDESS, CREMA-D, ...) are
    licensed for non-commercial use, so you train one on data you may use:
      yuyin emotion train RAVDESS/ --output emotion.zip --plots report/
      yuyin emotion eval held-out/ --model emotion.zip
      yuyin emotion predict talk.wav --model emotion.zip --per-segment --json

    Scores are speaker-independent: cross-validation folds never share a speaker.
    """


@emotion_command.command("train", epilog=EXIT_CODES_HELP)
@click.argument("data", type=click.Path(exists=True))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False),
    help="Model file to write (a zip; e.g. emotion.zip).",
)  # fmt: skip
@click.option(
    "--labels", "label_set", type=click.Choice(LABEL_SETS), default="emotion8",
    help="emotion8: the 8 RAVDESS emotions; emotion16: emotion x speaker gender "
    "(male_happy ...); custom: a manifest's labels as written.",
)  # fmt: skip
@click.option(
    "--classes", callback=_classes, default=None,
    help="Train on these classes only, comma-separated (e.g. neutral,happy,sad,angry). "
    "Default: every class of the label set, and each needs samples.",
)  # fmt: skip
@click.option(
    "--model-type", type=click.Choice(MODEL_TYPES), default="classic",
    help="classic: scikit-learn on pooled MFCC/log-mel/prosody statistics (fast); "
    "cnn: a small 1-D CNN on 1 s windows (needs the train extra: torch).",
)  # fmt: skip
@click.option(
    "--classifier", type=click.Choice(CLASSIFIERS), default="logreg",
    help="The classic model's classifier: logistic regression or an RBF SVM.",
)  # fmt: skip
@click.option(
    "--folds", type=click.IntRange(min=0), default=5,
    help="Speaker-independent cross-validation folds (at most one per speaker: as many as "
    "there are speakers is leave-one-speaker-out; 0: skip).",
)  # fmt: skip
@click.option(
    "--plots", type=click.Path(file_okay=False), default=None,
    help="Folder for confusion.png (cross-validation) and learning_curve.png.",
)  # fmt: skip
@click.option(
    "--no-curve", is_flag=True,
    help="Skip the learning curve of classic models (it costs folds x 5 extra fits).",
)  # fmt: skip
@click.option("--seed", type=int, default=0, help="Random seed: same data and seed, same model.")
@click.option("--max-epochs", type=click.IntRange(min=1), default=60, help="CNN: epochs at most.")
@click.option(
    "--patience", type=click.IntRange(min=1), default=8,
    help="CNN: stop after this many epochs without a lower loss on held-out speakers.",
)  # fmt: skip
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=32, help="CNN: windows per batch."
)
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=1e-3,
              help="CNN: Adam learning rate.")  # fmt: skip
@click.option(
    "--validation-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.2, help="CNN: share of training speakers held out for early stopping.",
)  # fmt: skip
@click.option(
    "--channels", type=click.IntRange(min=1), default=64, help="CNN: convolution channels."
)
@click.option(
    "--pitch", type=click.Choice(PITCH_TRACKERS), default="yin",
    help="Pitch tracker: yin (fast) or pyin (probabilistic voicing, about 10x slower).",
)  # fmt: skip
@click.option("--json", "json_output", is_flag=True, help="Print one JSON summary on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary.")
def train_command(
    data: str,
    output: str,
    label_set: str,
    classes: list[str] | None,
    folds: int,
    plots: str | None,
    no_curve: bool,
    pitch: str,
    json_output: bool,
    quiet: bool,
    **options: Any,
) -> None:
    """Train an emotion model on DATA and write it to --output.

    DATA is a folder of RAVDESS-named files (MM-CC-EE-II-SS-RR-AA.wav, searched
    recursively; odd actors male) or a .jsonl/.csv/.tsv manifest with audio and label
    columns and optional speaker (and gender, for emotion16) columns.

    First the model is cross-validated with folds grouped by speaker (accuracy, macro-F1
    and unweighted average recall on voices it never heard), then it is fitted on every
    usable clip. Silent, too short or undecodable clips are skipped with a warning.

    \b
    Features: 40 log-mel bands, 13 MFCCs with deltas, energy, pitch (yin or pyin) and
    speaking-rate proxies; classic models pool them into statistics, the CNN reads 1 s
    windows. The settings are saved in the model, so predict computes the same ones.

    \b
    Examples:
      yuyin emotion train RAVDESS/ -o emotion8.zip --plots report/
      yuyin emotion train RAVDESS/ -o e16.zip --labels emotion16 --model-type cnn
      yuyin emotion train clips.csv -o mine.zip --labels custom
    """
    show = not quiet and not json_output
    train_options = TrainOptions(**options)
    features = FeatureOptions(pitch=pitch)

    def on_fold(n: int, total: int, scores: EmotionScores) -> None:
        if show:
            click.echo(f"fold {n}/{total}: UAR {scores.uar:.3f} ({scores.clips} clips)", err=True)

    total = len(load_dataset(data, label_set=label_set, classes=classes).samples)
    with _bar(total, "features", show) as bar:
        result = train_emotion(
            data, label_set=label_set, classes=classes, features=features, options=train_options,
            folds=folds, curve=not no_curve, on_fold=on_fold,
            on_clip=_counter(bar),
        )  # fmt: skip
    _warn_skipped(result.skipped, show)
    model_path = save_model(result.model, output)
    written = [str(model_path)]
    if plots:
        written += _train_plots(result.model, result, Path(plots))
    summary = {**result.to_dict(), "model": str(model_path), "written": written}
    if json_output:
        echo_json(summary)
        return
    if quiet:
        return
    counts = ", ".join(f"{c} {n}" for c, n in result.model.info["counts"].items())
    click.echo(
        f"{result.model.info['clips']} clips, {result.model.info['speakers']} speakers: {counts}"
    )
    cv = result.cross_validation
    if cv is not None:
        kind = "speaker-independent" if cv.speaker_independent else "random (no speakers given)"
        click.echo(f"\n{len(cv.folds)}-fold cross-validation, {kind}:")
        click.echo(_scores_table(cv.scores))
    for path in written:
        click.echo(f"wrote {path}", err=True)


def _train_plots(model: EmotionModel, result: Any, folder: Path) -> list[str]:
    out: list[str] = []
    cv = result.cross_validation
    if cv is not None:
        title = f"{model.kind} · {len(cv.folds)}-fold speaker-independent cross-validation"
        out.append(str(save_figure(plot_confusion(cv.scores, title), folder / "confusion.png")))
    history = getattr(model, "history", None)
    if history:
        figure = plot_epochs(history, model.classes)
        out.append(str(save_figure(figure, folder / "learning_curve.png")))
    elif result.curve is not None and result.curve.speakers:
        figure = plot_learning_curve(result.curve, model.classes)
        out.append(str(save_figure(figure, folder / "learning_curve.png")))
    return out


@emotion_command.command("eval", epilog=EXIT_CODES_HELP)
@click.argument("data", type=click.Path(exists=True))
@click.option(
    "-m", "--model", "model_path", required=True, type=click.Path(dir_okay=False),
    help="A model file from `yuyin emotion train`.",
)  # fmt: skip
@click.option(
    "--plots", type=click.Path(file_okay=False), default=None,
    help="Folder for confusion.png.",
)  # fmt: skip
@click.option(
    "--json", "json_output", is_flag=True,
    help="Print scores, the confusion matrix and every clip's prediction as JSON.",
)  # fmt: skip
@click.option("-q", "--quiet", is_flag=True, help="No progress and no table.")
def eval_command(
    data: str, model_path: str, plots: str | None, json_output: bool, quiet: bool
) -> None:
    """Score a model on labelled DATA: accuracy, macro-F1, UAR and the confusion matrix.

    DATA is read with the model's label set; for honest scores it must hold speakers the
    model was not trained on. Clips whose label is not one of the model's classes are
    skipped with a warning.

    \b
    Example:
      yuyin emotion eval held-out-actors/ --model emotion.zip --plots report/
    """
    show = not quiet and not json_output
    model = load_model(model_path)
    with _bar(None, "eval", show) as bar:
        result = evaluate_model(data, model, on_clip=_counter(bar))
    _warn_skipped(result.skipped, show)
    written = []
    if plots:
        figure = plot_confusion(result.scores, f"{Path(model_path).name} on {Path(data).name}")
        written.append(str(save_figure(figure, Path(plots) / "confusion.png")))
    if json_output:
        echo_json({**result.to_dict(), "model": model_path, "written": written})
    elif not quiet:
        click.echo(_scores_table(result.scores))
        for path in written:
            click.echo(f"wrote {path}", err=True)


def _line(p: EmotionPrediction) -> str:
    if p.label is None:
        return f"-  ({p.error})"
    others = sorted(p.probabilities.items(), key=lambda kv: -kv[1])[1:4]
    rest = ", ".join(f"{c} {v:.2f}" for c, v in others)
    return f"{p.label} {p.probability:.2f}  ({rest})"


@emotion_command.command("predict", epilog=EXIT_CODES_HELP)
@click.argument("file", type=click.Path())
@click.option(
    "-m", "--model", "model_path", default=None, type=click.Path(dir_okay=False),
    envvar="YUYIN_EMOTION_PREDICT_MODEL", show_envvar=True,
    help="A model file from `yuyin emotion train` (none is shipped; see above).",
)  # fmt: skip
@click.option(
    "--per-segment", is_flag=True,
    help="One emotion per transcript segment (subtitle line) instead of one for the file.",
)  # fmt: skip
@click.option(
    "--transcript", type=click.Path(dir_okay=False), default=None,
    help="With --per-segment: use the segments of this transcript instead of transcribing "
    "FILE: yuyin JSON (`yuyin transcribe FILE -f json`) or .srt/.vtt subtitles (one "
    "emotion per cue).",
)  # fmt: skip
@click.option(
    "--asr-model", default="base",
    help="With --per-segment and no --transcript: the Whisper model that finds the segments.",
)  # fmt: skip
@click.option("-l", "--language", default=None, help="With --per-segment: the spoken language.")
@click.option(
    "--json", "json_output", is_flag=True,
    help="Print JSON: label and probabilities (label -> probability, summing to 1); "
    "with --per-segment also segments (start, end, text, label, probabilities).",
)  # fmt: skip
def predict_command(
    file: str,
    model_path: str | None,
    per_segment: bool,
    transcript: str | None,
    asr_model: str,
    language: str | None,
    json_output: bool,
) -> None:
    """The emotion of FILE (any audio or video), as a whole or per transcript segment.

    yuyin ships no default emotion model: public emotion corpora are not licensed for
    redistribution of derived models, and a model trained on this project's synthetic
    test voices would only know espeak-ng voices. Train one on data you may use with
    `yuyin emotion train` and pass it with --model.

    \b
    Examples:
      yuyin emotion predict clip.wav --model emotion.zip --json
      yuyin emotion predict talk.mp4 --model emotion.zip --per-segment
      yuyin emotion predict talk.mp4 -m emotion.zip --per-segment --transcript talk.srt
    """
    if model_path is None:
        raise ModelNotFoundError("no emotion model given (--model)", hint=_NO_MODEL_HINT)
    if transcript and not per_segment:
        raise click.UsageError("--transcript needs --per-segment")
    model = load_model(model_path)
    whole = predict_emotion(file, model, name=file)
    data: dict[str, Any] = {
        "file": file,
        "duration": round(whole.end, 3),
        "label": whole.label,
        "probabilities": whole.to_dict()["probabilities"],
    }
    segments: list[EmotionPrediction] = []
    if per_segment:
        if transcript:
            found = read_segments(transcript)
        else:
            from yuyin.transcribe import transcribe

            found = list(transcribe(file, model=asr_model, language=language).segments)
        segments = predict_segments(file, model, found)
        data["segments"] = [s.to_dict() for s in segments]
    if json_output:
        echo_json(data)
        return
    click.echo(f"{file}: {_line(whole)}")
    for s in segments:
        click.echo(f"[{s.start:7.2f} → {s.end:7.2f}] {_line(s)}  {s.text}")


# click dedents a command's help when it prints it: the docstring is dedented here first, or
# the unindented note would stop the dedent and every docstring line would keep its indent.
for _command in (train_command, eval_command, predict_command):
    _command.help = inspect.cleandoc(_command.help or "") + "\n\n" + _TRUST
