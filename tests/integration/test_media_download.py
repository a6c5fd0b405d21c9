"""URL ingest through yt-dlp against a real HTTP server on 127.0.0.1, and the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import pytest

from yuyin.audio import decode_audio
from yuyin.errors import InputError, MediaNotFoundError
from yuyin.media import MediaOptions, fetch_media, list_media
from yuyin.media.download import _folder

pytest.importorskip("yt_dlp")

PLAYLIST_PAGE = (
    "<html><head><title>Two clips</title></head><body>"
    '<audio src="en.mp3"></audio><audio src="gone.mp3"></audio><video src="video.mp4"></video>'
    "</body></html>"
)


@pytest.fixture(scope="module")
def site(data_dir, tmp_path_factory, serve_folder):
    root = tmp_path_factory.mktemp("site")
    for name in ("en.mp3", "en.wav", "video.mp4", "video_noaudio.mp4"):
        shutil.copy(data_dir / name, root / name)
    (root / "page.html").write_text("<html><body><p>No media here.</p></body></html>")
    (root / "list.html").write_text(PLAYLIST_PAGE)
    return serve_folder(root)


def test_direct_url_downloads_once_then_comes_from_the_cache(site, tmp_path, data_dir):
    url = f"{site.url}/en.mp3"
    progress: list[tuple[int, int | None]] = []
    (entry,) = list_media(url, MediaOptions(), download_dir=tmp_path)
    assert entry.cached is None
    assert entry.name == "en"
    path = fetch_media(
        entry, MediaOptions(), download_dir=tmp_path, on_progress=lambda *a: progress.append(a)
    )
    assert Path(path).read_bytes() == (data_dir / "en.mp3").read_bytes()
    _, info = decode_audio(path)
    assert info.duration == pytest.approx(5.5, abs=0.2)
    assert progress
    assert progress[-1][0] == Path(path).stat().st_size
    before = len(site.requests)
    (again,) = list_media(url, MediaOptions(), download_dir=tmp_path)
    assert again.cached == Path(path)
    assert fetch_media(again, MediaOptions(), download_dir=tmp_path) == path
    assert len(site.requests) == before, "a cache hit makes no request"
    assert not list(tmp_path.rglob("*.part"))


def test_interrupted_download_is_resumed(site, tmp_path, data_dir):
    url = f"{site.url}/en.wav"
    (entry,) = list_media(url, MediaOptions(), download_dir=tmp_path)
    # What an interrupted run leaves: the first part of the file under yt-dlp's .part name.
    data = (data_dir / "en.wav").read_bytes()
    folder = _folder(tmp_path, entry.key, MediaOptions())
    folder.mkdir(parents=True)
    (folder / "media.wav.part").write_bytes(data[:60_000])
    path = fetch_media(entry, MediaOptions(), download_dir=tmp_path)
    assert Path(path).read_bytes() == data
    assert ("/en.wav", "bytes=60000-") in site.requests
    assert not (folder / "media.wav.part").exists()


def test_url_that_is_not_media(site, tmp_path):
    with pytest.raises(InputError, match="not a media link") as info:
        list_media(f"{site.url}/page.html", MediaOptions(), download_dir=tmp_path)
    assert "download it" in info.value.hint


def test_missing_url_is_not_found(site, tmp_path):
    from yt_dlp.networking.exceptions import HTTPError

    from yuyin.media.download import _causes

    with pytest.raises(MediaNotFoundError, match="HTTP 404") as info:
        list_media(f"{site.url}/nothing.mp3", MediaOptions(), download_dir=tmp_path)
    # yt-dlp's HTTPError holds the response; left open, its socket warns later, anywhere.
    responses = [c.response for c in _causes(info.value) if isinstance(c, HTTPError)]
    assert responses
    assert all(r.closed for r in responses)


def test_playlist_needs_the_playlist_flag(site, tmp_path):
    url = f"{site.url}/list.html"
    with pytest.raises(InputError, match="playlist of 3 entries") as info:
        list_media(url, MediaOptions(), download_dir=tmp_path)
    assert "--playlist" in info.value.hint
    entries = list_media(url, MediaOptions(playlist=True), download_dir=tmp_path)
    assert [e.index for e in entries] == [1, 2, 3]
    with pytest.raises(MediaNotFoundError):
        fetch_media(entries[1], MediaOptions(playlist=True), download_dir=tmp_path)
    assert not any(p.suffix == ".json" for p in tmp_path.rglob("*")), "failures are not cached"


# --- the real command ----------------------------------------------------------------------


def yuyin(*args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "yuyin", "transcribe", *args],
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_cli_playlist_one_bad_entry_does_not_cost_the_others(site, tmp_path):
    out = tmp_path / "out"
    result = yuyin(
        f"{site.url}/list.html", "--playlist", "-m", "tiny.en", "-f", "txt", "--json",
        "-o", str(out), "--download-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert result.returncode == 10, result.stderr
    summary = json.loads(result.stdout)
    assert [f["ok"] for f in summary["files"]] == [True, False, True]
    assert summary["files"][1]["error"]["type"] == "MediaNotFoundError"
    assert sorted(p.name for p in out.iterdir()) == ["Two clips (1).txt", "Two clips (3).txt"]
    assert "morning" in (out / "Two clips (1).txt").read_text().lower()
    assert "Traceback" not in result.stderr.decode()


def test_cli_embeds_subtitles_into_a_downloaded_video(site, tmp_path):
    result = yuyin(
        f"{site.url}/video.mp4", "--embed-subtitles", "-m", "tiny.en", "-f", "srt", "-q",
        "-o", str(tmp_path), "--download-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    video = tmp_path / "video.subtitled.mp4"
    with av.open(str(video)) as container:
        (track,) = container.streams.subtitles
        assert track.codec_context.name == "mov_text"
        assert track.metadata["language"] == "eng"
        texts = []
        for packet in container.demux(track):
            if packet.size and packet.pts is not None:
                texts += [r.dialogue.decode() for r in track.decode2(packet) or ()]
    assert "morning" in " ".join(texts).lower()
    assert (tmp_path / "video.srt").is_file()


def test_cli_youtube_without_network_fails_fast_and_clearly(tmp_path):
    # Point every proxy at a closed port: the test is offline even on a machine that is not.
    closed = "http://127.0.0.1:9"
    result = yuyin(
        "https://youtu.be/dQw4w9WgXcQ", "-m", "tiny.en", "--download-dir", str(tmp_path),
        env={"HTTPS_PROXY": closed, "HTTP_PROXY": closed, "https_proxy": closed,
             "http_proxy": closed, "NO_PROXY": "", "no_proxy": ""},
    )  # fmt: skip
    stderr = result.stderr.decode()
    assert result.returncode == 3, stderr
    assert "cannot reach youtu.be: the network is unavailable" in stderr
    assert "hint: check you are online" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["{data}/video_noaudio.mp4", "--embed-subtitles"], 3, "has no audio track"),
        (["{data}/en.wav", "--embed-subtitles"], 2, "cannot hold a subtitle track"),
        (["{data}/en.wav", "--burn-in"], 3, "--burn-in needs a video"),
        (["{data}/en.wav", "--separate-vocals", "--separator", "demucs"], 5, "demucs"),
        (["{data}/en.wav", "--stems", "x"], 2, "--stems writes the stems"),
        (["{site}/page.html"], 3, "is not a media link"),
    ],
)
def test_cli_bad_media_input(site, data_dir, tmp_path, args, code, message):
    filled = [a.format(data=data_dir, site=site.url) for a in args]
    result = yuyin(*filled, "-m", "tiny.en", "-o", str(tmp_path), "--download-dir", str(tmp_path))
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert message in stderr
    assert "hint: " in stderr
    assert "Traceback" not in stderr
    assert not list(tmp_path.glob("*.txt")), "no half-done outputs"
