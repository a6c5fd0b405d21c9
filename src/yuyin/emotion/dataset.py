"""Emotion datasets: RAVDESS file names, label sets, and labelled folders or manifests.

A RAVDESS file name is seven two-digit fields, `MM-CC-EE-II-SS-RR-AA` (03-01-05-02-01-02-12.wav:
audio-only, speech, angry, strong, "dogs", second repetition, actor 12):

    MM modality     01 full audio-video, 02 video-only, 03 audio-only
    CC channel      01 speech, 02 song
    EE emotion      01 neutral 02 calm 03 happy 04 sad 05 angry 06 fearful 07 disgust
                    08 surprised (song has no disgust or surprised)
    II intensity    01 normal, 02 strong (neutral has no strong intensity)
    SS statement    01 "Kids are talking by the door", 02 "Dogs are sitting by the door"
    RR repetition   01, 02
    AA actor        01 to 24; odd actors are male, even actors female

A manifest (.jsonl, .csv or .tsv) names `audio` and `label` and optionally `speaker` (and
`gender`, for emotion16) per row; relative paths are read from the manifest's folder. It is
read by `yuyin.eval.read_manifest`, so quoting, byte-order marks and key case follow the
eval reader's rules (a TSV's quotes are kept as written, as Common Voice needs).
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from yuyin.errors import ConfigurationError, InputError, MediaNotFoundError
from yuyin.eval.manifest import Skipped, read_manifest
from yuyin.fileio import MEDIA_EXTENSIONS

__all__ = [
    "EMOTIONS",
    "LABEL_SETS",
    "EmotionDataset",
    "EmotionSample",
    "RavdessName",
    "check_classes",
    "label_set_classes",
    "load_dataset",
    "parse_ravdess_name",
]

#: RAVDESS emotions in code order (01 ... 08).
EMOTIONS: tuple[str, ...] = (
    "neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised",
)  # fmt: skip
#: Label sets: the 8 emotions, 16 = emotion x speaker gender, or the manifest's own labels.
LABEL_SETS: tuple[str, ...] = ("emotion8", "emotion16", "custom")
GENDERS: tuple[str, ...] = ("male", "female")

_MODALITIES = {1: "full-av", 2: "video-only", 3: "audio-only"}
_CHANNELS = {1: "speech", 2: "song"}
_INTENSITIES = {1: "normal", 2: "strong"}
_SONG_EMOTIONS = frozenset(EMOTIONS[:6])
_ACTORS = range(1, 25)
_NAME = re.compile(r"\d\d(-\d\d){6}")
_FIELDS = ("modality", "channel", "emotion", "intensity", "statement", "repetition", "actor")
_NAME_HINT = (
    "RAVDESS names are MM-CC-EE-II-SS-RR-AA, e.g. 03-01-05-02-01-02-12.wav; "
    "for other names list the files in a manifest (audio,label,speaker)"
)

_LABEL_KEYS = ("label", "emotion", "class", "category")
_SPEAKER_KEYS = ("speaker", "speaker_id", "actor", "client_id")
_GENDER_KEYS = ("gender", "sex")
_MANIFEST_SUFFIXES = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv"}


@dataclass(frozen=True, slots=True)
class RavdessName:
    """The seven fields of a RAVDESS file name, decoded.

    Attributes:
        modality: `full-av`, `video-only` or `audio-only`.
        channel: `speech` or `song`.
        emotion: one of `EMOTIONS`.
        intensity: `normal` or `strong`.
        statement: 1 or 2.
        repetition: 1 or 2.
        actor: 1 to 24.
    """

    modality: str
    channel: str
    emotion: str
    intensity: str
    statement: int
    repetition: int
    actor: int

    @property
    def gender(self) -> str:
        """`male` for odd actors, `female` for even ones."""
        return "male" if self.actor % 2 else "female"

    @property
    def speaker(self) -> str:
        """The actor as a speaker id, e.g. `actor_12`."""
        return f"actor_{self.actor:02d}"


def parse_ravdess_name(name: str | Path) -> RavdessName:
    """Decode a RAVDESS file name (any folder and extension); every field is checked.

    Raises:
        InputError: the name does not follow the convention; the message names the field.
    """
    stem = Path(name).name.split(".", 1)[0]
    if not _NAME.fullmatch(stem):
        raise InputError(
            f"{Path(name).name!r} is not a RAVDESS file name (seven two-digit fields)",
            hint=_NAME_HINT,
        )
    codes = dict(zip(_FIELDS, (int(part) for part in stem.split("-")), strict=True))

    def bad(field: str, allowed: str) -> InputError:
        return InputError(
            f"{Path(name).name!r}: {field} {codes[field]:02d} is not valid ({allowed})",
            hint=_NAME_HINT,
        )

    if codes["modality"] not in _MODALITIES:
        raise bad("modality", "01 full-AV, 02 video-only, 03 audio-only")
    if codes["channel"] not in _CHANNELS:
        raise bad("channel", "01 speech, 02 song")
    if not 1 <= codes["emotion"] <= len(EMOTIONS):
        raise bad("emotion", "01 to 08")
    if codes["intensity"] not in _INTENSITIES:
        raise bad("intensity", "01 normal, 02 strong")
    for field in ("statement", "repetition"):
        if codes[field] not in (1, 2):
            raise bad(field, "01 or 02")
    if codes["actor"] not in _ACTORS:
        raise bad("actor", "01 to 24")
    emotion = EMOTIONS[codes["emotion"] - 1]
    if emotion == "neutral" and codes["intensity"] == 2:
        raise bad("intensity", "neutral has no strong intensity")
    channel = _CHANNELS[codes["channel"]]
    if channel == "song" and emotion not in _SONG_EMOTIONS:
        raise bad("emotion", "song has no disgust or surprised")
    return RavdessName(
        _MODALITIES[codes["modality"]],
        channel,
        emotion,
        _INTENSITIES[codes["intensity"]],
        codes["statement"],
        codes["repetition"],
        codes["actor"],
    )


def label_set_classes(label_set: str) -> tuple[str, ...]:
    """The classes of a fixed label set, in order (empty for `custom`).

    Raises:
        ConfigurationError: an unknown label set.
    """
    if label_set == "emotion8":
        return EMOTIONS
    if label_set == "emotion16":
        return tuple(f"{g}_{e}" for g in GENDERS for e in EMOTIONS)
    if label_set == "custom":
        return ()
    raise ConfigurationError(
        f"unknown label set {label_set!r}", hint="choose " + ", ".join(LABEL_SETS)
    )


@dataclass(frozen=True, slots=True)
class EmotionSample:
    """One labelled clip.

    Attributes:
        id: a unique name (the file's path relative to the dataset, or the manifest's id).
        audio: absolute path of the audio file.
        label: its class in the dataset's label set.
        speaker: who speaks ("" when the manifest does not say).
        gender: `male` or `female` ("" when unknown); cross-validation balances it.
    """

    id: str
    audio: str
    label: str
    speaker: str = ""
    gender: str = ""


@dataclass(frozen=True, slots=True)
class EmotionDataset:
    """Labelled clips ready for training or evaluation.

    Attributes:
        path: the folder or manifest read.
        format: `ravdess`, `jsonl`, `csv` or `tsv`.
        label_set: `emotion8`, `emotion16` or `custom`.
        classes: the classes, in model order; each has at least one sample.
        samples: the usable clips.
        skipped: what was left out and why.
    """

    path: str
    format: str
    label_set: str
    classes: tuple[str, ...]
    samples: tuple[EmotionSample, ...]
    skipped: tuple[Skipped, ...] = ()

    @property
    def speakers(self) -> tuple[str, ...]:
        """The distinct speakers, sorted ("" stands for unknown)."""
        return tuple(sorted({s.speaker for s in self.samples}))

    @property
    def counts(self) -> dict[str, int]:
        """Samples per class, in class order."""
        found = Counter(s.label for s in self.samples)
        return {c: found[c] for c in self.classes}


def load_dataset(
    path: str | Path,
    *,
    label_set: str = "emotion8",
    classes: Sequence[str] | None = None,
    allow_missing_classes: bool = False,
) -> EmotionDataset:
    """Read a RAVDESS-named folder tree or a manifest into labelled samples.

    Args:
        path: a folder of RAVDESS-named files (searched recursively), or a .jsonl/.csv/.tsv
            manifest with `audio`, `label` and optional `speaker` and `gender` columns.
        label_set: `emotion8`, `emotion16` (emotion x gender) or `custom` (a manifest's
            labels as written).
        classes: keep only these classes (in this order); None keeps the whole label set.
        allow_missing_classes: accept classes with no samples (evaluating a model whose
            classes the data covers only in part).

    Raises:
        MediaNotFoundError: the path does not exist or the folder holds no audio.
        InputError: an unparseable file name, a table without a label column, an empty
            manifest, a class with no samples, fewer than two classes.
        ConfigurationError: an unknown label set or class, or `custom` on a RAVDESS folder.
    """
    p = Path(path).expanduser()
    fixed = label_set_classes(label_set)
    if not p.exists():
        raise MediaNotFoundError(f"no such dataset: {p}", hint="give a folder or a manifest")
    if p.is_dir():
        if label_set == "custom":
            raise ConfigurationError(
                "--labels custom needs a manifest with a label column, not a RAVDESS folder",
                hint="use --labels emotion8 or emotion16 for RAVDESS file names",
            )
        fmt, samples, skipped = "ravdess", *_read_folder(p, label_set)
    else:
        fmt = _MANIFEST_SUFFIXES.get(p.suffix.lower(), "")
        if not fmt:
            raise ConfigurationError(
                f"cannot tell the dataset format of {p}",
                hint="give a folder of RAVDESS-named files or a .jsonl, .csv or .tsv manifest",
            )
        samples, skipped = _read_manifest(p, fmt, label_set)
    known = fixed or tuple(sorted({s.label for s in samples}))
    wanted = _check_classes(classes, known, label_set) if classes else known
    kept = tuple(s for s in samples if s.label in wanted)
    dataset = EmotionDataset(str(p), fmt, label_set, wanted, kept, tuple(skipped))
    if not allow_missing_classes:
        check_classes(dataset)
    return dataset


def check_classes(dataset: EmotionDataset) -> None:
    """Every class has a sample and there are at least two classes.

    Raises:
        InputError: naming the empty classes and the ones that have samples.
    """
    counts = dataset.counts
    empty = [c for c, n in counts.items() if n == 0]
    present = [c for c, n in counts.items() if n > 0]
    if empty:
        raise InputError(
            f"class(es) with no samples in {dataset.path}: {', '.join(empty)}",
            hint="train on the classes that have samples: --classes " + ",".join(present)
            if len(present) >= 2
            else "check the labels and the file names",
        )
    if len(counts) < 2:
        raise InputError(
            f"{dataset.path} holds {len(counts)} class(es); a classifier needs at least two",
            hint="check the labels, or --classes",
        )


def _check_classes(
    classes: Sequence[str], known: tuple[str, ...], label_set: str
) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(c.strip() for c in classes if c.strip()))
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise ConfigurationError(
            f"unknown class(es) for {label_set}: {', '.join(unknown)}",
            hint="choose from " + ", ".join(known),
        )
    return wanted


def _label(name: RavdessName, label_set: str) -> str:
    return name.emotion if label_set == "emotion8" else f"{name.gender}_{name.emotion}"


def _read_folder(folder: Path, label_set: str) -> tuple[list[EmotionSample], list[Skipped]]:
    files = sorted(
        f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in MEDIA_EXTENSIONS
    )
    if not files:
        raise MediaNotFoundError(
            f"no audio files in {folder}", hint="expected RAVDESS-named files such as "
            "Actor_01/03-01-01-01-01-01-01.wav"
        )  # fmt: skip
    parsed: list[tuple[Path, RavdessName]] = []
    bad: list[str] = []
    first_error: InputError | None = None
    for f in files:
        try:
            parsed.append((f, parse_ravdess_name(f)))
        except InputError as exc:
            bad.append(str(f.relative_to(folder)))
            first_error = first_error or exc
    if first_error is not None:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise InputError(f"{first_error.message}{more} in {folder}", hint=first_error.hint)
    samples: list[EmotionSample] = []
    skipped: list[Skipped] = []
    # The audio-only and full-AV files of a take hold the same audio: keep one of them.
    parsed.sort(key=lambda item: (item[1].modality != "audio-only", str(item[0])))
    takes: dict[RavdessName, str] = {}
    for f, name in parsed:
        rel = str(f.relative_to(folder))
        take = dataclasses.replace(name, modality="")
        if name.modality == "video-only":
            skipped.append(Skipped(rel, None, "video-only file (no audio)", rel))
        elif take in takes:
            skipped.append(Skipped(rel, None, f"same take as {takes[take]}", rel))
        else:
            takes[take] = rel
            samples.append(
                EmotionSample(
                    rel, str(f.resolve()), _label(name, label_set), name.speaker, name.gender
                )
            )
    samples.sort(key=lambda s: s.id)
    return samples, skipped


def _pick(columns: Mapping[str, str], keys: Iterable[str]) -> str:
    """The first of `keys` with a value, or ""."""
    return next((columns[k] for k in keys if columns.get(k)), "")


def _read_manifest(
    path: Path, fmt: str, label_set: str
) -> tuple[list[EmotionSample], list[Skipped]]:
    fixed = set(label_set_classes(label_set))
    # Rows are checked here, in this order: the label first (a label outside a fixed set
    # stops the run), then the audio file, then duplicate ids.
    manifest = read_manifest(path, need_audio=False, need_text=False, unique_ids=False)
    if fmt != "jsonl" and not any(k in manifest.header for k in _LABEL_KEYS):
        raise InputError(
            f"{path}: the header names no label column: {', '.join(manifest.header)}",
            hint="name the columns audio,label (and speaker)",
        )
    samples: list[EmotionSample] = []
    skipped: list[Skipped] = list(manifest.skipped)
    seen: dict[str, int] = {}
    src = str(path)
    for utt in manifest.utterances:
        line, uid, label = utt.line, utt.id, _pick(utt.columns, _LABEL_KEYS)
        if utt.audio is None or not label:
            skipped.append(Skipped(src, line, "needs an audio path and a label"))
            continue
        if label_set != "custom":
            label = label.lower()
        gender = _pick(utt.columns, _GENDER_KEYS).lower()
        gender = {"m": "male", "f": "female"}.get(gender, gender)
        gender = gender if gender in GENDERS else ""
        if label_set == "emotion16":
            if not gender:
                skipped.append(Skipped(src, line, "emotion16 needs a gender (male/female)", uid))
                continue
            label = f"{gender}_{label}"
        if fixed and label not in fixed:
            raise ConfigurationError(
                f"{path}:{line}: label {label!r} is not in {label_set}",
                hint="use --labels custom to train on the manifest's own labels",
            )
        if not Path(utt.audio).is_file():
            skipped.append(Skipped(src, line, f"audio file not found: {utt.audio}", uid))
        elif uid in seen:
            skipped.append(Skipped(src, line, f"duplicate id (first on line {seen[uid]})", uid))
        else:
            seen[uid] = line
            speaker = _pick(utt.columns, _SPEAKER_KEYS)
            samples.append(EmotionSample(uid, utt.audio, label, speaker, gender))
    return samples, skipped
