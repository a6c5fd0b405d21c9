"""Training data: manifests read by `yuyin.eval`, checked clip by clip, split three ways.

Every manifest `yuyin eval` reads works here (JSONL, CSV/TSV, Kaldi, audiofolder). Two
optional columns matter to fine-tuning; the eval reader keeps them in `Utterance.columns`:

    split      `train`, `validation` (or `dev`, `valid`, `eval`) or `test`: the splits as
               given. Without it, a seeded split is made.
    speaker    (or `speaker_id`, `client_id` as in Common Voice; Kaldi's `utt2spk`): the
               seeded split then keeps each speaker's clips in one split, so the test
               scores speakers the model never heard.

Each clip is decoded once up front (at 16 kHz, whatever its own rate) to measure it and to
catch unreadable files before training starts; training decodes it again on the fly. Clips
over `max_duration` (30 s) or with empty text are skipped and counted, like missing or
unreadable audio and rows that are not UTF-8: a bad row never stops a run, and the summary
says how many were left out and why.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yuyin.audio import SAMPLE_RATE, decode_audio
from yuyin.errors import ConfigurationError, InputError, YuyinError
from yuyin.eval.manifest import Manifest, Skipped, Utterance, read_manifest
from yuyin.finetune.progress import Progress, ProgressCallback

__all__ = [
    "SPLITS",
    "Example",
    "Splits",
    "check_language",
    "load_splits",
    "read_columns",
    "split_examples",
]

#: The three splits, in order.
SPLITS = ("train", "validation", "test")

_SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "valid": "validation",
    "dev": "validation",
    "eval": "validation",
    "test": "test",
}
_SPEAKER_KEYS = ("speaker", "speaker_id", "client_id", "spk")
_SPLIT_KEYS = ("split",)
# Fewer speakers than this cannot be spread over three splits: split clips instead.
_MIN_SPEAKERS = 3


@dataclass(frozen=True, slots=True)
class Example:
    """One usable clip.

    Attributes:
        id: the manifest row's id.
        audio: the audio file (absolute path).
        text: the reference transcript.
        duration: its length in seconds (decoded at 16 kHz).
        language: the row's language, if the manifest gives one.
        speaker: the row's speaker, if the manifest gives one.
    """

    id: str
    audio: str
    text: str
    duration: float
    language: str | None = None
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class Splits:
    """Training, validation and test clips, and the rows left out.

    Attributes:
        train: clips to train on.
        validation: clips scored every `eval_steps` (picks the best checkpoint).
        test: clips scored before and after training (the final report).
        skipped: rows left out, with their reasons.
        method: how the splits were made: `given` (a split column or separate
            manifests), `speaker` (seeded, by speaker) or `random` (seeded, by clip).
    """

    train: tuple[Example, ...]
    validation: tuple[Example, ...] = ()
    test: tuple[Example, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    method: str = "given"
    languages: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, Any]:
        """Counts and hours per split, and the skipped rows grouped by reason (JSON-ready)."""
        reasons = Counter(_reason_kind(s.reason) for s in self.skipped)
        return {
            "method": self.method,
            **{
                name: {
                    "clips": len(part),
                    "seconds": round(sum(e.duration for e in part), 3),
                    "speakers": len({e.speaker for e in part if e.speaker}),
                }
                for name, part in zip(SPLITS, (self.train, self.validation, self.test), strict=True)
            },
            "skipped": len(self.skipped),
            "skipped_by_reason": dict(reasons),
        }


def _reason_kind(reason: str) -> str:
    """A skip reason without its specifics (the path, the line), for counting."""
    if "longer than" in reason:
        return "longer than --max-duration"
    for kind in (
        "empty reference text",
        "audio file not found",
        "not UTF-8",
        "unreadable audio",
        "unknown split",
    ):
        if kind in reason:
            return kind
    return reason.split(":")[0]


def read_columns(manifest: Manifest) -> dict[str, dict[str, str]]:
    """The `split` and `speaker` values of each usable row, by row id.

    They come from each row's `columns` (a Kaldi folder's `utt2spk` gives the speaker);
    rows without either value are absent.

    Args:
        manifest: a manifest read by `yuyin.eval.read_manifest`.
    """
    found: dict[str, dict[str, str]] = {}
    for utt in manifest.utterances:
        values = {}
        for name, keys in (("split", _SPLIT_KEYS), ("speaker", _SPEAKER_KEYS)):
            for key in keys:
                value = utt.columns.get(key)
                if value:  # an empty cell names nothing
                    values[name] = value
                    break
        if values:
            found[utt.id] = values
    return found


def _scan(
    utterances: Sequence[Utterance],
    columns: dict[str, dict[str, str]],
    max_duration: float,
    on_progress: ProgressCallback | None,
) -> tuple[list[tuple[Example, str | None]], list[Skipped]]:
    """Decode every clip once: (example, given split) for the usable ones, skips for the rest."""
    usable: list[tuple[Example, str | None]] = []
    skipped: list[Skipped] = []
    for done, utt in enumerate(utterances, 1):
        extra = columns.get(utt.id, {})
        reason: str | None = None
        split = extra.get("split")
        if split is not None and split.lower() not in _SPLIT_NAMES:
            reason = f"unknown split {split!r} (use train, validation or test)"
        elif utt.audio is None:
            reason = "no audio path"
        else:
            try:
                samples, _ = decode_audio(utt.audio)
            except YuyinError as exc:
                reason = f"unreadable audio: {exc.message}"
            else:
                duration = samples.size / SAMPLE_RATE
                if duration > max_duration:
                    reason = f"longer than {max_duration:g} s ({duration:.1f} s)"
        if reason is None and utt.audio is not None:
            example = Example(
                utt.id, utt.audio, utt.text, duration, utt.language, extra.get("speaker")
            )
            usable.append((example, _SPLIT_NAMES[split.lower()] if split else None))
        else:
            skipped.append(Skipped(utt.source, utt.line, reason or "unusable", utt.id))
        if on_progress is not None:
            message = f"{utt.source}:{utt.line}: {reason} (skipped)" if reason else ""
            on_progress(Progress("scan", done, len(utterances), message=message))
    return usable, skipped


def _take(count: int, total: int, fraction: float) -> int:
    """How many of `total` items a held-out split of `fraction` gets: at least one when the
    fraction is not zero and enough remain to train on."""
    if fraction <= 0 or total < 3:
        return 0
    return min(max(1, round(total * fraction)), total - 1 - count)


def split_examples(
    examples: Sequence[Example],
    *,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
) -> tuple[list[Example], list[Example], list[Example], str]:
    """A seeded three-way split: whole speakers when every clip names one, else clips.

    Args:
        examples: the clips to split.
        validation_fraction: share of clips for validation.
        test_fraction: share of clips for the test.
        seed: the shuffle's seed (the same seed gives the same split).

    Returns:
        (train, validation, test, method) where method is `speaker` or `random`.
    """
    rng = random.Random(seed)
    speakers: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        if example.speaker:
            speakers[example.speaker].append(example)
    if len(speakers) >= _MIN_SPEAKERS and all(e.speaker for e in examples):
        names = sorted(speakers)
        rng.shuffle(names)
        total = len(examples)
        held: list[list[Example]] = [[], []]
        for k, fraction in ((1, test_fraction), (0, validation_fraction)):
            goal = round(total * fraction) if fraction > 0 else 0
            while names and len(held[k]) < max(goal, 1 if fraction > 0 else 0):
                if len(names) == 1:
                    break  # the last speaker always trains
                held[k].extend(speakers[names.pop()])
        train = [e for name in names for e in speakers[name]]
        return train, held[0], held[1], "speaker"
    order = list(examples)
    rng.shuffle(order)
    n_test = _take(0, len(order), test_fraction)
    n_validation = _take(n_test, len(order), validation_fraction)
    test = order[:n_test]
    validation = order[n_test : n_test + n_validation]
    return order[n_test + n_validation :], validation, test, "random"


def _read(path: str | Path, on_progress: ProgressCallback | None) -> Manifest:
    manifest = read_manifest(path)
    if on_progress is not None:
        for s in manifest.skipped:
            on_progress(Progress("scan", message=f"{s} (skipped)"))
    return manifest


def load_splits(
    manifest: str | Path,
    *,
    validation: str | Path | None = None,
    test: str | Path | None = None,
    max_duration: float = 30.0,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    on_progress: ProgressCallback | None = None,
) -> Splits:
    """Read, check and split the training data.

    Splits come from, in order: the separate `validation`/`test` manifests; the manifest's
    `split` column; a seeded split (by speaker when every row names one).

    Args:
        manifest: the training manifest (any format `yuyin eval` reads).
        validation: a separate validation manifest (then no clips are moved out of training
            for validation).
        test: a separate test manifest.
        max_duration: clips longer than this many seconds are skipped.
        validation_fraction: share held out for validation by a seeded split.
        test_fraction: share held out for the test by a seeded split.
        seed: the split's seed.
        on_progress: called for each clip checked, and for each row skipped.

    Raises:
        InputError: a manifest is missing or unreadable, or no usable training clip is left.
        ConfigurationError: a manifest's format cannot be told from its name.
    """
    main = _read(manifest, on_progress)
    columns = read_columns(main)
    usable, skipped = _scan(main.utterances, columns, max_duration, on_progress)
    skipped = [*main.skipped, *skipped]
    parts: dict[str, list[Example]] = {name: [] for name in SPLITS}
    given = {name: path for name, path in (("validation", validation), ("test", test)) if path}
    for name, path in given.items():
        extra = _read(path, on_progress)
        found, dropped = _scan(extra.utterances, {}, max_duration, on_progress)
        parts[name] = [e for e, _ in found]
        skipped += [*extra.skipped, *dropped]
    method = "given"
    if any(split for _, split in usable):
        for example, split in usable:
            if split is None:
                skipped.append(
                    Skipped(str(main.path), None, "no split (other rows have one)", example.id)
                )
            elif split not in given:
                parts[split].append(example)
    else:
        pool = [e for e, _ in usable]
        train, val, tst, method = split_examples(
            pool,
            validation_fraction=0.0 if "validation" in given else validation_fraction,
            test_fraction=0.0 if "test" in given else test_fraction,
            seed=seed,
        )
        parts["train"] = train
        parts["validation"] = parts["validation"] or val
        parts["test"] = parts["test"] or tst
        if given:
            method = "given+" + method
    if not parts["train"]:
        shown = "; ".join(str(s) for s in skipped[:3])
        raise InputError(
            f"no usable training clips in {manifest} ({len(skipped)} rows skipped)",
            hint=shown or "add rows with an audio path and its text",
        )
    languages = sorted(
        {e.language for part in parts.values() for e in part if e.language is not None}
    )
    return Splits(
        tuple(parts["train"]),
        tuple(parts["validation"]),
        tuple(parts["test"]),
        tuple(skipped),
        method,
        tuple(languages),
    )


def check_language(splits: Splits, language: str | None) -> str | None:
    """The language to train: the one given, else the manifest's when all rows agree.

    Raises:
        ConfigurationError: no language given and the manifest names several.
    """
    if language is not None or not splits.languages:
        return language
    if len(splits.languages) > 1:
        raise ConfigurationError(
            "the manifest mixes languages: " + ", ".join(splits.languages),
            hint="pass --language to pick the one to train (one language per run)",
        )
    return splits.languages[0]
