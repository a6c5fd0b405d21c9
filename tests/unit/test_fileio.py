"""Finding inputs and writing outputs atomically."""

from __future__ import annotations

import os

import pytest

from yuyin.errors import MediaNotFoundError, OutputError
from yuyin.fileio import atomic_write_bytes, atomic_write_text, find_media


def test_find_media_expands_folders_recursively_and_globs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    for name in ("a/one.wav", "a/b/two.MP3", "a/b/notes.txt", "three.mkv"):
        (tmp_path / name).write_bytes(b"x")
    found = find_media([str(tmp_path / "a"), str(tmp_path / "*.mkv"), "-"])
    assert found == [
        str(tmp_path / "a" / "b" / "two.MP3"),
        str(tmp_path / "a" / "one.wav"),
        str(tmp_path / "three.mkv"),
        "-",
    ]


def test_explicit_files_are_kept_whatever_their_extension_and_deduplicated(tmp_path):
    odd = tmp_path / "recording.bin"
    odd.write_bytes(b"x")
    assert find_media([str(odd), str(odd)]) == [str(odd)]


def test_missing_path_and_empty_folder_and_empty_glob(tmp_path):
    with pytest.raises(MediaNotFoundError, match="no such file"):
        find_media([str(tmp_path / "missing.wav")])
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(MediaNotFoundError, match="no audio or video files") as info:
        find_media([str(tmp_path)])
    assert ".wav" in info.value.hint
    with pytest.raises(MediaNotFoundError, match="no files match"):
        find_media([str(tmp_path / "*.flac")])


def test_atomic_write_replaces_whole_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "deep" / "out.srt"
    atomic_write_text(target, "first 第一")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert os.listdir(target.parent) == ["out.srt"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OutputError, match="No space left") as info:
        atomic_write_text(target, "new")
    assert info.value.hint
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_writing_below_a_file_is_an_output_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write_text(tmp_path / "file" / "out.txt", "x")
