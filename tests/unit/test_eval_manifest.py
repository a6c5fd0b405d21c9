"""Manifests in every format, bad rows reported with line numbers, hyp/ref pairing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yuyin.errors import ConfigurationError, InputError
from yuyin.eval import read_manifest, read_pairs
from yuyin.eval.manifest import is_manifest


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    """A folder with three (fake) audio files; manifests only check that they exist."""
    (tmp_path / "wavs").mkdir()
    for name in ("a.wav", "b.wav", "c.wav"):
        (tmp_path / "wavs" / name).write_bytes(b"RIFF")
    return tmp_path


def reasons(manifest) -> dict[int | None, str]:
    return {s.line: s.reason for s in manifest.skipped}


def test_jsonl_resolves_relative_audio_against_the_manifest_folder(clips, monkeypatch):
    rows = [
        {"audio": "wavs/a.wav", "text": " hello ", "language": "en", "id": "u1"},
        {"audio": str(clips / "wavs" / "b.wav"), "text": "你好"},
        {"audio": {"path": "wavs/c.wav", "bytes": None}, "sentence": "dict audio"},
    ]
    path = clips / "m.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n")
    monkeypatch.chdir(clips.parent)  # relative paths must not depend on the working folder
    m = read_manifest(path)
    assert m.format == "jsonl"
    assert m.skipped == ()
    first, second, third = m.utterances
    assert (first.id, first.text, first.language, first.line) == ("u1", "hello", "en", 1)
    assert first.audio == str((clips / "wavs" / "a.wav").resolve())
    assert second.id == str(clips / "wavs" / "b.wav")  # no id: the audio path as written
    assert third.text == "dict audio"
    assert third.audio == str((clips / "wavs" / "c.wav").resolve())


def test_a_url_is_kept_as_written_and_not_checked_on_disk(clips):
    rows = [
        {"audio": "https://example.com/talks/one.mp3?x=1", "text": "one", "id": "u1"},
        {"audio": "HTTP://example.com/two.wav", "text": "two"},
        {"audio": "ftp://example.com/three.wav", "text": "three"},
    ]
    path = clips / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    m = read_manifest(path)
    assert [u.audio for u in m.utterances] == [
        "https://example.com/talks/one.mp3?x=1",
        "HTTP://example.com/two.wav",
    ]
    # Not http(s): a path relative to the manifest, which does not exist.
    assert reasons(m) == {3: f"audio file not found: {clips / 'ftp:/example.com/three.wav'}"}


def test_jsonl_bad_rows_are_skipped_with_line_numbers_and_the_rest_is_read(clips):
    lines = [
        json.dumps({"audio": "wavs/a.wav", "text": "good"}).encode(),  # 1
        b"{not json",  # 2
        b"[1, 2]",  # 3
        json.dumps({"audio": "wavs/b.wav"}).encode(),  # 4
        json.dumps({"audio": "wavs/b.wav", "text": "   "}).encode(),  # 5
        json.dumps({"audio": "wavs/missing.wav", "text": "x"}).encode(),  # 6
        b'{"audio": "wavs/c.wav", "text": "caf\xe9"}',  # 7: Latin-1, not UTF-8
        json.dumps({"audio": "wavs/c.wav", "text": 42}).encode(),  # 8
        json.dumps({"text": "no audio"}).encode(),  # 9
        json.dumps({"audio": "wavs/a.wav", "text": "again"}).encode(),  # 10: same id
        json.dumps({"audio": "wavs/c.wav", "text": "fine"}).encode(),  # 11
    ]
    path = clips / "m.jsonl"
    path.write_bytes(b"\n".join(lines))
    m = read_manifest(path)
    assert [u.line for u in m.utterances] == [1, 11]
    why = reasons(m)
    assert set(why) == {2, 3, 4, 5, 6, 7, 8, 9, 10}
    assert "malformed JSON" in why[2]
    assert "not a JSON object" in why[3]
    assert "no reference text" in why[4]
    assert "empty reference" in why[5]
    assert "audio file not found" in why[6]
    assert "UTF-8" in why[7]
    assert "not a string" in why[8]
    assert "no audio path" in why[9]
    assert "duplicate id" in why[10]
    assert "first on line 1" in why[10]
    assert all(s.source == str(path) for s in m.skipped)
    assert str(m.skipped[0]) == f"{path}:2: {why[2]}"


def test_without_audio_needed_rows_need_only_text(tmp_path):
    path = tmp_path / "hyp.jsonl"
    path.write_text('{"id": "a", "text": ""}\n{"id": "b", "text": "x", "audio": "nowhere.wav"}\n')
    m = read_manifest(path, need_audio=False, allow_empty_text=True)
    assert [(u.id, u.text) for u in m.utterances] == [("a", ""), ("b", "x")]


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_an_empty_manifest_is_a_clear_error(tmp_path, content):
    path = tmp_path / "empty.jsonl"
    path.write_text(content)
    with pytest.raises(InputError, match="is empty") as info:
        read_manifest(path)
    assert info.value.hint


def test_csv_with_header_quoting_aliases_and_bad_rows(clips):
    path = clips / "m.csv"
    path.write_text(
        "file_name,transcription,id\n"
        'wavs/a.wav,"Hello, world",x1\n'
        "wavs/b.wav,too,many,columns\n"
        "\n"
        "wavs/c.wav,third,x3\n",
        encoding="utf-8-sig",  # a byte-order mark, as Excel writes
    )
    m = read_manifest(path)
    assert m.format == "csv"
    assert [(u.id, u.text, u.line) for u in m.utterances] == [
        ("x1", "Hello, world", 2),
        ("x3", "third", 5),
    ]
    assert "expected 3 columns, found 4" in reasons(m)[3]


def test_tsv_common_voice_style_with_unescaped_quotes(clips):
    path = clips / "test.tsv"
    path.write_text('client_id\tpath\tsentence\tlocale\n1\twavs/a.wav\t"Hi," she said\tzh-TW\n')
    (u,) = read_manifest(path).utterances
    assert (u.text, u.language) == ('"Hi," she said', "zh-TW")


def test_a_table_without_a_text_column_is_an_input_error(clips):
    path = clips / "m.csv"
    path.write_text("audio,words\nwavs/a.wav,hi\n")
    with pytest.raises(InputError, match="no text column"):
        read_manifest(path)


def test_kaldi_folder_joins_wav_scp_and_text(clips):
    (clips / "wav.scp").write_text(
        "u1 wavs/a.wav\nu2 sox in.wav -t wav - |\nu3 wavs/b.wav\nu4 wavs/c.wav\n"
    )
    (clips / "text").write_text("u1 hello world\nu3 你好\nu5 no audio for me\nu4\n")
    m = read_manifest(clips)
    assert m.format == "kaldi"
    assert [(u.id, u.text) for u in m.utterances] == [("u1", "hello world"), ("u3", "你好")]
    assert m.utterances[0].audio == str((clips / "wavs" / "a.wav").resolve())
    why = {(Path(s.source).name, s.line): s.reason for s in m.skipped}
    assert "piped" in why[("wav.scp", 2)]
    assert "no audio for 'u5'" in why[("text", 3)]
    assert "empty reference" in why[("text", 4)]
    assert read_manifest(clips / "wav.scp").utterances == m.utterances


def test_kaldi_wav_scp_line_without_transcript(clips):
    (clips / "wav.scp").write_text("u1 wavs/a.wav\nu9 wavs/b.wav\n")
    (clips / "text").write_text("u1 hi\n")
    m = read_manifest(clips)
    assert [s.line for s in m.skipped] == [2]
    assert "no transcript for 'u9'" in m.skipped[0].reason


def test_audiofolder_metadata_csv(clips):
    (clips / "metadata.csv").write_text("file_name,transcription\nwavs/a.wav,一二三\n")
    m = read_manifest(clips)
    assert m.format == "audiofolder"
    assert m.utterances[0].text == "一二三"
    assert read_manifest(clips / "metadata.csv").utterances == m.utterances


def test_unknown_formats_and_missing_paths(tmp_path):
    with pytest.raises(InputError, match="no such manifest"):
        read_manifest(tmp_path / "nope.jsonl")
    (tmp_path / "m.xml").write_text("<x/>")
    with pytest.raises(ConfigurationError, match="manifest format"):
        read_manifest(tmp_path / "m.xml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="without a manifest"):
        read_manifest(tmp_path / "empty")
    assert is_manifest(tmp_path / "a.tsv")
    assert not is_manifest(tmp_path / "hyp.txt")


def test_plain_pairs_line_by_line(tmp_path):
    ref, hyp = tmp_path / "ref.txt", tmp_path / "hyp.txt"
    ref.write_bytes("one\n二\n\nfour\n".encode() + b"caf\xe9\n")  # last line: Latin-1
    hyp.write_text("one\n\nthree\nfour\nx\n")
    pairs, skipped = read_pairs(hyp, ref)
    assert [(p.id, p.reference, p.hypothesis) for p in pairs] == [
        ("1", "one", "one"),
        ("2", "二", ""),  # a one-character line is an utterance, an empty hypothesis too
        ("4", "four", "four"),
    ]
    assert [(s.line, s.reason) for s in skipped] == [
        (3, "empty reference text"),
        (5, "not UTF-8 text"),
    ]


def test_plain_pairs_must_have_the_same_number_of_lines(tmp_path):
    (tmp_path / "ref.txt").write_text("a\nb\n")
    (tmp_path / "hyp.txt").write_text("a\n")
    with pytest.raises(InputError, match="has 1 lines but") as info:
        read_pairs(tmp_path / "hyp.txt", tmp_path / "ref.txt")
    assert "id" in info.value.hint
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(InputError, match="is empty"):
        read_pairs(tmp_path / "empty.txt", tmp_path / "empty.txt")
    with pytest.raises(InputError, match="no such file"):
        read_pairs(tmp_path / "hyp.txt", tmp_path / "missing.txt")


def test_two_manifests_are_joined_by_id(tmp_path):
    (tmp_path / "ref.jsonl").write_text(
        '{"id": "a", "text": "hello", "language": "en"}\n'
        '{"id": "b", "text": "world"}\n'
        '{"id": "c", "text": "missing"}\n'
    )
    (tmp_path / "hyp.csv").write_text("id,text\nb,word\na,\nz,extra\n")
    pairs, skipped = read_pairs(tmp_path / "hyp.csv", tmp_path / "ref.jsonl")
    assert [(p.id, p.reference, p.hypothesis, p.language) for p in pairs] == [
        ("a", "hello", "", "en"),
        ("b", "world", "word", None),
    ]
    why = {s.id: s.reason for s in skipped}
    assert why == {"c": "no hypothesis with this id", "z": "no reference with this id"}


def test_a_manifest_and_a_plain_file_cannot_be_paired(tmp_path):
    (tmp_path / "ref.jsonl").write_text('{"id": "a", "text": "x"}\n')
    (tmp_path / "hyp.txt").write_text("x\n")
    with pytest.raises(ConfigurationError, match="both be manifests"):
        read_pairs(tmp_path / "hyp.txt", tmp_path / "ref.jsonl")


def test_jsonl_keeps_other_fields_as_strings_in_columns(clips):
    rows = [
        {"Audio": "wavs/a.wav", "TEXT": "hi", " Speaker ": " spk1 ", "Split": "train",
         "votes": 3, "score": 1.5, "ok": True, "none": None, "meta": {"x": 1}, "tags": [1]},
        {"audio": "wavs/b.wav", "text": "there", "id": "u2"},
    ]  # fmt: skip
    path = clips / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    first, second = read_manifest(path).utterances
    # Mapped fields (audio, text, id, language) are not repeated; keys are lower-cased and
    # stripped; values are stripped strings, numbers and booleans spelt as JSON spells them;
    # nulls, objects and lists are left out.
    assert first.columns == {
        "speaker": "spk1", "split": "train", "votes": "3", "score": "1.5", "ok": "true",
    }  # fmt: skip
    assert second.columns == {}
    assert hash(first) == hash(first)  # columns stay out of the hash


def test_csv_and_common_voice_tsv_columns(clips):
    (clips / "m.csv").write_text(
        'File_Name,Transcription,Client_ID,Note\nwavs/a.wav,hi,spk1,"a, b"\nwavs/b.wav,x,,\n',
        encoding="utf-8-sig",
    )
    first, second = read_manifest(clips / "m.csv").utterances
    assert first.columns == {"client_id": "spk1", "note": "a, b"}
    assert second.columns == {"client_id": "", "note": ""}  # an empty cell is ""
    (clips / "test.tsv").write_text(
        "client_id\tpath\tsentence\tup_votes\tgender\tlocale\n"
        'abc\twavs/a.wav\t"Hi," she said\t2\t"female"\tzh-TW\n'
    )
    m = read_manifest(clips / "test.tsv")
    assert m.header == ("client_id", "path", "sentence", "up_votes", "gender", "locale")
    (u,) = m.utterances
    # Common Voice's TSVs leave quotes as written: no field is unquoted.
    assert u.columns == {"client_id": "abc", "up_votes": "2", "gender": '"female"'}


def test_kaldi_utt2spk_gives_the_speaker_column(clips):
    (clips / "wav.scp").write_text("u1 wavs/a.wav\nu2 wavs/b.wav\n")
    (clips / "text").write_text("u1 hello\nu2 world\n")
    (clips / "utt2spk").write_bytes(b"u1 alice\nu2 \xff\n")  # u2: not UTF-8, no speaker
    m = read_manifest(clips)
    assert [u.columns for u in m.utterances] == [{"speaker": "alice"}, {}]
    assert m.skipped == ()
    assert m.header == ()
    (clips / "wav.scp").unlink()  # a bare text file: speakers still joined
    assert [u.columns for u in read_manifest(clips, need_audio=False).utterances] == [
        {"speaker": "alice"},
        {},
    ]


def test_audiofolder_metadata_jsonl_columns(clips):
    (clips / "metadata.jsonl").write_text(
        json.dumps({"file_name": "wavs/a.wav", "transcription": "一", "Speaker_ID": 7}) + "\n"
    )
    m = read_manifest(clips)
    assert m.format == "audiofolder"
    assert m.utterances[0].columns == {"speaker_id": "7"}


def test_manifests_of_other_labels_need_no_text_and_may_repeat_ids(clips):
    path = clips / "emotions.csv"
    path.write_text("audio,label\nwavs/a.wav,happy\nwavs/a.wav,sad\n")
    with pytest.raises(InputError, match="no text column"):
        read_manifest(path)
    m = read_manifest(path, need_text=False, unique_ids=False)
    assert [(u.id, u.text, u.columns) for u in m.utterances] == [
        ("wavs/a.wav", "", {"label": "happy"}),
        ("wavs/a.wav", "", {"label": "sad"}),
    ]
    assert "duplicate id" in reasons(read_manifest(path, need_text=False))[3]
    odd = clips / "odd.jsonl"
    odd.write_text('{"audio": "wavs/a.wav", "label": "x", "text": 5}\n')
    (u,) = read_manifest(odd, need_text=False).utterances  # a non-string text is a column
    assert (u.text, u.columns) == ("", {"label": "x", "text": "5"})
