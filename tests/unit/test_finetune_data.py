"""Fine-tuning data: manifests checked clip by clip, bad rows counted, seeded splits."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from yuyin.errors import ConfigurationError, InputError
from yuyin.eval import read_manifest
from yuyin.finetune import Example, Progress, check_language, load_splits, split_examples
from yuyin.finetune.data import read_columns


def write_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    samples = (0.1 * np.sin(np.arange(int(seconds * rate)) * 0.05) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "ok.wav", 0.5)


def test_bad_rows_are_skipped_and_counted_by_reason(tmp_path, clip, data_dir):
    write_wav(tmp_path / "long.wav", 30.5)
    rows = [
        {"id": "good", "audio": "ok.wav", "text": "hello"},
        {"id": "empty", "audio": "ok.wav", "text": "  "},
        {"id": "missing", "audio": "nope.wav", "text": "gone"},
        {"id": "corrupt", "audio": str(data_dir / "corrupt.wav"), "text": "broken"},
        {"id": "not-audio", "audio": str(data_dir / "not_audio.wav"), "text": "text file"},
        {"id": "long", "audio": "long.wav", "text": "far too long"},
        # 44.1 kHz stereo: resampled to 16 kHz mono, not skipped
        {"id": "stereo", "audio": str(data_dir / "en_stereo_44k.wav"), "text": "I like"},
    ]
    manifest = jsonl(tmp_path / "m.jsonl", rows)
    with manifest.open("ab") as f:
        f.write(b'{"id": "latin1", "audio": "ok.wav", "text": "caf\xe9"}\n')
    splits = load_splits(manifest, validation_fraction=0, test_fraction=0)
    assert sorted(e.id for e in splits.train) == ["good", "stereo"]
    stereo = next(e for e in splits.train if e.id == "stereo")
    assert stereo.duration == pytest.approx(1.9, abs=0.1)  # measured at 16 kHz
    summary = splits.summary()
    assert summary["skipped"] == 6
    assert summary["skipped_by_reason"] == {
        "empty reference text": 1,
        "audio file not found": 1,
        "unreadable audio": 2,
        "longer than --max-duration": 1,
        "not UTF-8": 1,
    }
    assert summary["train"]["clips"] == 2
    long_reason = next(s.reason for s in splits.skipped if s.id == "long")
    assert "longer than 30 s (30.5 s)" in long_reason


def test_progress_names_each_skipped_row(tmp_path, clip):
    manifest = jsonl(
        tmp_path / "m.jsonl",
        [{"audio": "ok.wav", "text": "a"}, {"audio": "nope.wav", "text": "b"}],
    )
    events: list[Progress] = []
    load_splits(manifest, test_fraction=0, validation_fraction=0, on_progress=events.append)
    messages = [e.message for e in events if e.message]
    assert any("nope.wav" in m and "skipped" in m for m in messages)
    scans = [e for e in events if e.stage == "scan" and e.total]
    assert scans[-1].done == scans[-1].total == 1


def test_a_split_column_is_followed(tmp_path, clip):
    rows = [
        {"id": f"u{k}", "audio": "ok.wav", "text": "t", "split": split}
        for k, split in enumerate(["train", "train", "dev", "test", "TEST", "validation"])
    ]
    rows.append({"id": "odd", "audio": "ok.wav", "text": "t", "split": "holdout"})
    splits = load_splits(jsonl(tmp_path / "m.jsonl", rows))
    assert [e.id for e in splits.train] == ["u0", "u1"]
    assert [e.id for e in splits.validation] == ["u2", "u5"]
    assert [e.id for e in splits.test] == ["u3", "u4"]
    assert splits.method == "given"
    assert "unknown split 'holdout'" in splits.skipped[0].reason


def test_separate_test_manifest_keeps_validation_from_the_seeded_split(tmp_path, clip):
    train = jsonl(tmp_path / "train.jsonl", [
        {"id": f"u{k}", "audio": "ok.wav", "text": "t"} for k in range(10)
    ])  # fmt: skip
    test = jsonl(tmp_path / "test.jsonl", [{"id": "t1", "audio": "ok.wav", "text": "t"}])
    splits = load_splits(train, test=test, validation_fraction=0.2, test_fraction=0.3)
    assert [e.id for e in splits.test] == ["t1"]
    assert len(splits.validation) == 2
    assert len(splits.train) == 8
    assert splits.method == "given+random"


def example(uid: str, speaker: str | None = None) -> Example:
    return Example(uid, f"/a/{uid}.wav", "text", 1.0, "en", speaker)


def test_random_split_is_seeded_and_disjoint():
    pool = [example(f"u{k}") for k in range(50)]
    first = split_examples(pool, validation_fraction=0.1, test_fraction=0.2, seed=7)
    again = split_examples(pool, validation_fraction=0.1, test_fraction=0.2, seed=7)
    other = split_examples(pool, validation_fraction=0.1, test_fraction=0.2, seed=8)
    assert first == again
    assert first[2] != other[2]
    train, validation, test, method = first
    assert method == "random"
    assert (len(train), len(validation), len(test)) == (35, 5, 10)
    ids = [e.id for part in (train, validation, test) for e in part]
    assert sorted(ids) == sorted(e.id for e in pool)


def test_speaker_split_never_shares_a_speaker_between_splits():
    pool = [example(f"{s}-{k}", speaker=s) for s in "ABCDEFGHIJ" for k in range(4)]
    train, validation, test, method = split_examples(
        pool, validation_fraction=0.1, test_fraction=0.2, seed=1
    )
    assert method == "speaker"
    speakers = [{e.speaker for e in part} for part in (train, validation, test)]
    assert not (speakers[0] & speakers[1])
    assert not (speakers[0] & speakers[2])
    assert not (speakers[1] & speakers[2])
    assert len(test) == 8
    assert len(validation) == 4
    assert len(train) + len(validation) + len(test) == len(pool)


def test_few_speakers_fall_back_to_a_clip_split():
    pool = [example(f"{s}-{k}", speaker=s) for s in "AB" for k in range(10)]
    assert split_examples(pool, validation_fraction=0.1, test_fraction=0.1, seed=1)[3] == "random"


def test_tiny_sets_keep_something_to_train_on():
    train, validation, test, _ = split_examples(
        [example("a"), example("b")], validation_fraction=0.1, test_fraction=0.1, seed=0
    )
    assert len(train) == 2
    assert not validation
    assert not test


def test_speaker_columns_are_read_from_csv_and_kaldi(tmp_path, clip):
    write_wav(tmp_path / "two.wav", 0.5)
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("file_name,sentence,client_id\nok.wav,hello,spk1\ntwo.wav,again,spk2\n")
    manifest = read_manifest(csv_path)
    columns = read_columns(manifest)
    assert [columns[u.id]["speaker"] for u in manifest.utterances] == ["spk1", "spk2"]
    kaldi = tmp_path / "kaldi"
    kaldi.mkdir()
    (kaldi / "wav.scp").write_text(f"a {clip}\nb {clip}\n")
    (kaldi / "text").write_text("a hello\nb world\n")
    (kaldi / "utt2spk").write_text("a alice\nb bob\n")
    columns = read_columns(read_manifest(kaldi))
    assert columns == {"a": {"speaker": "alice"}, "b": {"speaker": "bob"}}


def test_nothing_usable_is_an_input_error(tmp_path):
    manifest = jsonl(tmp_path / "m.jsonl", [{"audio": "nope.wav", "text": "x"}])
    with pytest.raises(InputError, match="no usable training clips") as info:
        load_splits(manifest)
    assert "nope.wav" in info.value.hint


def test_missing_manifest_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such manifest"):
        load_splits(tmp_path / "absent.jsonl")


def test_language_comes_from_the_manifest_unless_given(tmp_path, clip):
    rows = [{"audio": "ok.wav", "text": "t", "language": "en", "id": f"u{k}"} for k in range(3)]
    splits = load_splits(jsonl(tmp_path / "m.jsonl", rows))
    assert check_language(splits, None) == "en"
    assert check_language(splits, "zh-TW") == "zh-TW"
    rows[0]["language"] = "zh"
    mixed = load_splits(jsonl(tmp_path / "n.jsonl", rows))
    with pytest.raises(ConfigurationError, match="mixes languages"):
        check_language(mixed, None)
