"""RAVDESS file names, label sets, and emotion datasets from folders and manifests (issue 12)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from yuyin.emotion import EMOTIONS, label_set_classes, load_dataset, parse_ravdess_name
from yuyin.errors import ConfigurationError, InputError, MediaNotFoundError

CLASSES4 = ["neutral", "happy", "sad", "angry"]


def test_parses_every_field_of_the_documented_example():
    name = parse_ravdess_name("Actor_12/03-01-05-02-01-02-12.wav")
    assert name.modality == "audio-only"
    assert name.channel == "speech"
    assert name.emotion == "angry"
    assert name.intensity == "strong"
    assert (name.statement, name.repetition, name.actor) == (1, 2, 12)
    assert name.gender == "female"
    assert name.speaker == "actor_12"


@pytest.mark.parametrize(("code", "emotion"), [(f"{i:02d}", e) for i, e in enumerate(EMOTIONS, 1)])
def test_every_emotion_code(code, emotion):
    intensity = "01" if emotion == "neutral" else "02"
    assert parse_ravdess_name(f"01-01-{code}-{intensity}-02-01-01.mp4").emotion == emotion


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("01-01-01-01-01-01-01", ("full-av", "speech", "male")),
        ("02-02-03-01-01-01-24", ("video-only", "song", "female")),
        ("03-02-06-02-02-02-23", ("audio-only", "song", "male")),
    ],
)
def test_modality_channel_and_gender(fields, expected):
    name = parse_ravdess_name(f"{fields}.wav")
    assert (name.modality, name.channel, name.gender) == expected


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("04-01-01-01-01-01-01.wav", "modality 04"),
        ("00-01-01-01-01-01-01.wav", "modality 00"),
        ("03-03-01-01-01-01-01.wav", "channel 03"),
        ("03-01-09-01-01-01-01.wav", "emotion 09"),
        ("03-01-00-01-01-01-01.wav", "emotion 00"),
        ("03-01-03-03-01-01-01.wav", "intensity 03"),
        ("03-01-01-02-01-01-01.wav", "neutral has no strong intensity"),
        ("03-01-03-01-03-01-01.wav", "statement 03"),
        ("03-01-03-01-01-00-01.wav", "repetition 00"),
        ("03-01-03-01-01-01-00.wav", "actor 00"),
        ("03-01-03-01-01-01-25.wav", "actor 25"),
        ("03-02-07-01-01-01-01.wav", "song has no disgust"),
        ("03-02-08-01-01-01-01.wav", "song has no disgust or surprised"),
    ],
)
def test_bad_field_is_named(name, field):
    with pytest.raises(InputError, match=field) as info:
        parse_ravdess_name(name)
    assert "MM-CC-EE-II-SS-RR-AA" in info.value.hint


@pytest.mark.parametrize(
    "name",
    ["hello.wav", "03-01-05-02-01-02.wav", "03-01-05-02-01-02-12-01.wav", "3-1-5-2-1-2-12.wav",
     "03_01_05_02_01_02_12.wav", "03-01-xx-02-01-02-12.wav", ""],
)  # fmt: skip
def test_unparseable_names(name):
    with pytest.raises(InputError, match="not a RAVDESS file name"):
        parse_ravdess_name(name)


def test_label_sets():
    assert label_set_classes("emotion8") == EMOTIONS
    sixteen = label_set_classes("emotion16")
    assert len(sixteen) == 16
    assert {"male_angry", "female_neutral"} <= set(sixteen)
    assert label_set_classes("custom") == ()
    with pytest.raises(ConfigurationError, match="unknown label set"):
        label_set_classes("emotion7")


@pytest.fixture(scope="module")
def emotion_dir(data_dir: Path) -> Path:
    return data_dir / "emotion"


def test_generated_folder_reads_as_ravdess(emotion_dir):
    ds = load_dataset(emotion_dir, classes=CLASSES4)
    assert ds.format == "ravdess"
    assert ds.classes == tuple(CLASSES4)
    assert ds.counts == dict.fromkeys(CLASSES4, 32)
    assert len(ds.speakers) == 8
    assert all(Path(s.audio).is_file() for s in ds.samples)
    assert not ds.skipped
    for s in ds.samples:  # odd actors male: cross-validation balances the genders
        assert s.gender == ("male" if int(s.speaker[-2:]) % 2 else "female")


def test_emotion16_labels_carry_the_gender(emotion_dir):
    ds = load_dataset(emotion_dir, label_set="emotion16", classes=["male_sad", "female_sad"])
    for s in ds.samples:
        actor = int(s.speaker.split("_")[1])
        assert s.label == ("male_sad" if actor % 2 else "female_sad")
    assert ds.counts == {"male_sad": 16, "female_sad": 16}


def test_classes_with_no_samples_are_an_error(emotion_dir):
    with pytest.raises(InputError, match=r"no samples.*calm") as info:
        load_dataset(emotion_dir)  # emotion8, but the set holds only four emotions
    assert "--classes neutral,happy,sad,angry" in info.value.hint


def test_unknown_class_and_custom_on_a_folder(emotion_dir):
    with pytest.raises(ConfigurationError, match="unknown class"):
        load_dataset(emotion_dir, classes=["happy", "bored"])
    with pytest.raises(ConfigurationError, match="custom needs a manifest"):
        load_dataset(emotion_dir, label_set="custom")


def test_an_unparseable_name_in_a_folder_stops_with_its_name(tmp_path, emotion_dir):
    src = next(emotion_dir.glob("Actor_01/*.ogg"))
    shutil.copy(src, tmp_path / src.name)
    shutil.copy(src, tmp_path / "my recording.ogg")
    shutil.copy(src, tmp_path / "03-01-05-02-01-02-99.ogg")
    with pytest.raises(InputError, match=r"'03-01-05-02-01-02-99.ogg': actor 99.*1 more"):
        load_dataset(tmp_path)


def test_video_only_and_duplicate_takes_are_skipped(tmp_path, emotion_dir):
    for src in emotion_dir.glob("Actor_0[12]/03-01-0[34]-01-01-01-*.ogg"):
        shutil.copy(src, tmp_path / src.name)
        shutil.copy(src, tmp_path / ("01" + src.name[2:]))  # the full-AV twin of the take
        shutil.copy(src, tmp_path / ("02" + src.name[2:]))  # video-only
    ds = load_dataset(tmp_path, classes=["happy", "sad"])
    assert len(ds.samples) == 4
    assert all(s.id.startswith("03-") for s in ds.samples)
    reasons = sorted(s.reason.split(" ")[0] for s in ds.skipped)
    assert reasons == ["same"] * 4 + ["video-only"] * 4


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(MediaNotFoundError, match="no audio files"):
        load_dataset(tmp_path)
    with pytest.raises(MediaNotFoundError, match="no such dataset"):
        load_dataset(tmp_path / "nope")


def _manifest(folder: Path, emotion_dir: Path, fmt: str, rows: list[dict[str, str]]) -> Path:
    if fmt == "jsonl":
        path = folder / "set.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        sep = "," if fmt == "csv" else "\t"
        path = folder / f"set.{fmt}"
        keys = list(rows[0])
        lines = [sep.join(keys)] + [sep.join(r.get(k, "") for k in keys) for r in rows]
        path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv"])
def test_manifest_with_custom_labels_and_speakers(tmp_path, emotion_dir, fmt):
    clips = sorted(emotion_dir.glob("Actor_0[12]/*.ogg"))[:6]
    rows = [
        {"audio": str(c.relative_to(emotion_dir)), "label": "calm" if i % 2 else "Tense",
         "speaker": c.parent.name}
        for i, c in enumerate(clips)
    ]  # fmt: skip
    rows.append({"audio": "missing.ogg", "label": "calm", "speaker": "x"})
    shutil.copytree(emotion_dir / "Actor_01", tmp_path / "Actor_01")
    shutil.copytree(emotion_dir / "Actor_02", tmp_path / "Actor_02")
    ds = load_dataset(_manifest(tmp_path, emotion_dir, fmt, rows), label_set="custom")
    assert ds.format == fmt
    assert ds.classes == ("Tense", "calm")  # custom labels kept as written, sorted
    assert len(ds.samples) == 6
    assert {s.speaker for s in ds.samples} == {"Actor_01"}
    assert [s.line for s in ds.skipped] == [8 if fmt != "jsonl" else 7]
    assert "not found" in ds.skipped[0].reason


def test_manifest_labels_must_fit_a_fixed_label_set(tmp_path, emotion_dir):
    clip = next(emotion_dir.glob("Actor_01/*.ogg"))
    rows = [{"audio": str(clip), "label": "HAPPY"}, {"audio": str(clip), "label": "bored"}]
    path = _manifest(tmp_path, emotion_dir, "jsonl", rows)
    with pytest.raises(ConfigurationError, match=r"set.jsonl:2: label 'bored' is not in emotion8"):
        load_dataset(path)


def test_manifest_emotion16_needs_a_gender(tmp_path, emotion_dir):
    clip = next(emotion_dir.glob("Actor_01/*.ogg"))
    rows = [
        {"id": "a", "audio": str(clip), "label": "happy", "gender": "F"},
        {"id": "b", "audio": str(clip), "label": "sad", "gender": "male"},
        {"id": "c", "audio": str(clip), "label": "sad", "gender": ""},
    ]
    ds = load_dataset(
        _manifest(tmp_path, emotion_dir, "csv", rows),
        label_set="emotion16",
        classes=["female_happy", "male_sad"],
    )
    assert [s.label for s in ds.samples] == ["female_happy", "male_sad"]
    assert [s.gender for s in ds.samples] == ["female", "male"]
    assert "needs a gender" in ds.skipped[0].reason
    emotion8 = load_dataset(ds.path, classes=["happy", "sad"])
    assert [s.gender for s in emotion8.samples] == ["female", "male", ""]


def test_manifest_problems(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("audio,text\nx.wav,hello\n")
    with pytest.raises(InputError, match="no label column"):
        load_dataset(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputError, match="empty"):
        load_dataset(empty, label_set="custom")
    other = tmp_path / "list.txt"
    other.write_text("x.wav\n")
    with pytest.raises(ConfigurationError, match="cannot tell the dataset format"):
        load_dataset(other)
