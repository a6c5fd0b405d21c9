"""Batch inputs: folders, globs, list files, manifests, URLs; each file once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from yuyin.batch import expand_inputs
from yuyin.errors import MediaNotFoundError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel in ("a/talk.wav", "b/talk.wav", "b/notes.md", "c.mp3"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"RIFF")
    return tmp_path


def keys(inputs) -> list[str]:
    return [i.key for i in inputs.items]


def test_folders_and_globs_expand_to_absolute_media_paths(tree, monkeypatch):
    monkeypatch.chdir(tree)
    got = expand_inputs(["a", "b/*.wav", "c.mp3"])
    real = os.path.realpath(tree)
    assert keys(got) == [f"{real}/a/talk.wav", f"{real}/b/talk.wav", f"{real}/c.mp3"]
    assert all(i.id == i.key == i.source for i in got.items)
    assert got.duplicates == ()


def test_the_same_file_by_several_routes_is_one_item(tree, monkeypatch):
    monkeypatch.chdir(tree)
    (tree / "list.txt").write_text("a/talk.wav\n./a/../a/talk.wav\n")
    got = expand_inputs(["a", "a/talk.wav", str(tree / "a" / "talk.wav"), "list.txt"])
    assert len(got.items) == 1
    assert len(got.duplicates) == 4  # five namings, one file


def test_list_file_reads_paths_relative_to_itself_urls_and_comments(tree, monkeypatch):
    lists = tree / "lists"
    lists.mkdir()
    (lists / "in.lst").write_text(
        "\ufeff# one path or URL per line\n\n../c.mp3\nhttps://example.com/x/ep1.mp3\n"
        "../gone.wav\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tree / "a")
    got = expand_inputs([str(lists / "in.lst")])
    real = os.path.realpath(tree)
    # A missing file is kept: the worker reports it as failed, like a file that vanishes.
    assert keys(got) == [f"{real}/c.mp3", "https://example.com/x/ep1.mp3", f"{real}/gone.wav"]


def test_list_file_line_that_is_not_utf8_is_skipped_with_its_line(tree):
    (tree / "in.txt").write_bytes(b"c.mp3\n\xff\xfe\n")
    got = expand_inputs([str(tree / "in.txt")])
    assert len(got.items) == 1
    assert [(s.line, s.reason) for s in got.skipped] == [(2, "not UTF-8 text")]


def test_manifest_rows_keep_their_ids_references_and_languages(tree):
    rows = [
        {"id": "u1", "audio": "a/talk.wav", "text": "hello", "language": "en"},
        {"id": "u2", "audio": "b/talk.wav"},
        {"id": "u3", "text": "no audio"},
    ]
    path = tree / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = expand_inputs([str(path)])
    assert [(i.id, i.reference, i.language) for i in got.items] == [
        ("u1", "hello", "en"),
        ("u2", None, None),
    ]
    assert got.items[0].key == os.path.realpath(tree / "a" / "talk.wav")
    assert [(s.line, s.reason) for s in got.skipped] == [(3, "no audio path")]


def test_a_kaldi_folder_is_a_manifest_and_a_plain_folder_is_searched(tree):
    kaldi = tree / "kaldi"
    kaldi.mkdir()
    (kaldi / "wav.scp").write_text(f"k1 {tree / 'c.mp3'}\n")
    (kaldi / "text").write_text("k1 hi\n")
    got = expand_inputs([str(kaldi), str(tree / "b")])
    assert [i.id for i in got.items] == ["k1", os.path.realpath(tree / "b" / "talk.wav")]


def test_missing_input_and_empty_folder_are_errors(tree):
    with pytest.raises(MediaNotFoundError, match="no such file"):
        expand_inputs([str(tree / "nope.wav")])
    (tree / "empty").mkdir()
    with pytest.raises(MediaNotFoundError, match="no audio or video"):
        expand_inputs([str(tree / "empty")])
