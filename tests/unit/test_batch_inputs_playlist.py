"""Batch inputs with --playlist: which link stands for an entry; files never reach yt-dlp."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yuyin.batch import expand_inputs
from yuyin.batch import inputs as inputs_module
from yuyin.batch.inputs import _entry_link
from yuyin.errors import InputError
from yuyin.media import MediaOptions

PLAYLIST = "https://example.com/list.html"


@pytest.mark.parametrize(
    ("info", "link"),
    [
        # yt-dlp lists a YouTube playlist flat: the video page is the entry's `url`.
        (
            {"_type": "url", "url": "https://www.youtube.com/watch?v=abc", "ie_key": "Youtube"},
            "https://www.youtube.com/watch?v=abc",
        ),
        # The generic extractor's <audio>/<video> entries: the media link is in `formats`.
        (
            {"id": "list-1", "title": "Two clips (1)", "extractor_key": "HTML5MediaEmbed",
             "formats": [{"url": "https://example.com/en.mp3", "ext": "mp3"}]},
            "https://example.com/en.mp3",
        ),
        # A full entry with a page of its own: the page, not a (possibly expiring) file link.
        (
            {"webpage_url": "https://example.com/v/1",
             "formats": [{"url": "https://cdn.example.com/1.mp4?sig=x"}]},
            "https://example.com/v/1",
        ),
        # The playlist's own page (any spelling of it) does not stand for one entry.
        (
            {"webpage_url": PLAYLIST + "#top",
             "formats": [{"url": "https://example.com/b.mp3"}]},
            "https://example.com/b.mp3",
        ),
        ({"_type": "url", "url": "abc", "ie_key": "Youtube"}, None),  # a bare id: no link
        ({"id": "x", "title": "nothing to point at"}, None),
    ],
)  # fmt: skip
def test_entry_link(info, link):
    assert _entry_link(info, PLAYLIST) == link


def test_files_never_reach_yt_dlp_and_urls_only_with_playlist(tmp_path, monkeypatch):
    looked_up: list[str] = []

    def list_media(url, options, *, download_dir):
        looked_up.append(url)
        raise InputError(f"cannot reach {url}", hint="offline")

    monkeypatch.setattr(inputs_module, "list_media", list_media)
    (tmp_path / "talk.wav").write_bytes(b"RIFF")
    (tmp_path / "in.txt").write_text("talk.wav\nhttps://example.com/ep1.mp3\n")
    files = [str(tmp_path / "talk.wav"), str(tmp_path / "in.txt")]
    got = expand_inputs(files, media=MediaOptions(playlist=True))
    assert [i.key for i in got.items] == [os.path.realpath(tmp_path / "talk.wav")]
    (unlisted,) = got.unlisted  # the URL was looked up (and fails alone), the files not
    assert (unlisted.id, unlisted.error.hint) == ("https://example.com/ep1.mp3", "offline")
    assert looked_up == ["https://example.com/ep1.mp3"]
    looked_up.clear()
    got = expand_inputs(files, media=MediaOptions())
    assert [i.source for i in got.items][1] == "https://example.com/ep1.mp3"
    assert not got.unlisted
    assert not looked_up, "without --playlist URLs are left to the worker"


def test_download_dir_follows_transcribe(tmp_path, monkeypatch):
    seen: list[Path] = []

    def list_media(url, options, *, download_dir):
        seen.append(download_dir)
        return []

    monkeypatch.setattr(inputs_module, "list_media", list_media)
    expand_inputs(["https://example.com/a.mp3"], media=MediaOptions(playlist=True),
                  cache_dir=tmp_path)  # fmt: skip
    expand_inputs(["https://example.com/a.mp3"],
                  media=MediaOptions(playlist=True, download_dir=str(tmp_path / "dl")))  # fmt: skip
    assert seen == [tmp_path / "downloads", tmp_path / "dl"]
