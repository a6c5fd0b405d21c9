"""`yuyin batch` with URLs and playlists: real yt-dlp against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from yuyin.batch import JOURNAL_NAME, Task, WorkerConfig, expand_inputs, read_records
from yuyin.batch.worker import load_worker_engine, transcribe_task
from yuyin.media import MediaOptions
from yuyin.options import ModelOptions, TranscribeOptions

pytest.importorskip("yt_dlp")

# yt-dlp's generic extractor reads a page's <audio>/<video> tags as a playlist of 3 entries.
PLAYLIST_PAGE = (
    "<html><head><title>Two clips</title></head><body>"
    '<audio src="en.mp3"></audio><audio src="gone.mp3"></audio><video src="video.mp4"></video>'
    "</body></html>"
)
FAST = ["-m", "tiny.en", "-l", "en", "--beam-size", "1", "--best-of", "1", "-f", "txt"]


@pytest.fixture(scope="module")
def site(data_dir, tmp_path_factory, serve_folder):
    root = tmp_path_factory.mktemp("site")
    for name in ("en.mp3", "video.mp4"):
        shutil.copy(data_dir / name, root / name)
    (root / "list.html").write_text(PLAYLIST_PAGE)
    return serve_folder(root)


def batch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yuyin", "batch", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_playlist_entries_are_items_resumed_one_by_one(site, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    # The playlist, then one of its entries named directly: one item, named by the playlist.
    args = [f"{site.url}/list.html", f"{site.url}/en.mp3", "--playlist", "--retries", "0"]
    args += ["-o", str(out), "--download-dir", str(cache), *FAST, "--json"]
    first = batch(*args)
    assert first.returncode == 10, first.stderr  # partial success
    summary = json.loads(first.stdout)
    assert (summary["succeeded"], summary["failed"], summary["duplicates"]) == (2, 1, 1)
    (failure,) = summary["failures"]
    assert failure["id"] == f"{site.url}/list.html [2]"  # says which playlist it came from
    assert failure["input"] == f"{site.url}/gone.mp3"
    assert failure["type"] == "MediaNotFoundError"
    assert "HTTP 404" in failure["message"]
    rows = [json.loads(line) for line in Path(summary["manifest"]).read_text().splitlines()]
    assert [(r["id"], r["audio"]) for r in rows] == [
        (f"{site.url}/list.html [1]", f"{site.url}/en.mp3"),
        (f"{site.url}/list.html [3]", f"{site.url}/video.mp4"),
    ]
    assert all("morning" in r["text"].lower() for r in rows)
    # Output names come from each entry's own link, not from the playlist page.
    assert sorted(p.name.split("-")[0] for p in out.glob("*.txt")) == ["en", "video"]
    finished = [r["key"] for r in read_records(out / JOURNAL_NAME) if r["event"] == "finished"]
    assert sorted(finished) == [f"{site.url}/en.mp3", f"{site.url}/video.mp4"]

    # The same command again: the page is listed, nothing is downloaded or redone.
    site.requests.clear()
    again = batch(*args)
    assert again.returncode == 10, again.stderr  # the given-up entry still counts as failed
    summary = json.loads(again.stdout)
    assert (summary["succeeded"], summary["skipped"], summary["failed"]) == (0, 2, 1)
    assert set(site.paths) == {"/list.html"}
    assert "Traceback" not in first.stderr + again.stderr


def test_list_file_playlist_without_and_then_with_the_flag(site, tmp_path, data_dir):
    out, cache = tmp_path / "out", tmp_path / "cache"
    shutil.copy(data_dir / "en.wav", tmp_path / "en.wav")
    urls = tmp_path / "urls.txt"
    urls.write_text(f"# talks\n{site.url}/list.html\n{site.url}/missing.html\nen.wav\n")
    common = [str(urls), "-o", str(out), "--download-dir", str(cache), "--retries", "0", *FAST]

    # Without --playlist the page fails, asking for --playlist; the others do not care.
    plain = batch(*common)
    assert plain.returncode == 10, plain.stderr
    assert f"failed: {site.url}/list.html is a playlist of 3 entries" in plain.stderr
    assert "hint: add --playlist to transcribe every entry" in plain.stderr
    assert "1 succeeded, 0 skipped (done before), 2 failed" in plain.stderr

    # With it, each entry is an item; a page that cannot be listed fails alone, unjournaled.
    listed = batch(*common, "--playlist", "--json")
    assert listed.returncode == 10, listed.stderr
    summary = json.loads(listed.stdout)
    assert (summary["succeeded"], summary["skipped"]) == (2, 1)  # en.wav was done before
    failures = {f["id"]: f for f in summary["failures"]}
    assert set(failures) == {f"{site.url}/list.html [2]", f"{site.url}/missing.html"}
    unlisted = failures[f"{site.url}/missing.html"]
    assert (unlisted["type"], unlisted["attempts"]) == ("MediaNotFoundError", 0)
    assert "HTTP 404" in unlisted["message"]
    assert "Traceback" not in plain.stderr + listed.stderr


def test_expansion_names_entries_by_playlist_and_unreachable_hosts_fail_alone(site, tmp_path):
    closed = "http://127.0.0.1:9/list.html"  # nothing listens on port 9
    got = expand_inputs(
        [f"{site.url}/list.html", f"{site.url}/video.mp4", closed],
        media=MediaOptions(playlist=True, download_dir=str(tmp_path)),
    )
    assert [(i.id, i.key) for i in got.items] == [
        (f"{site.url}/list.html [1]", f"{site.url}/en.mp3"),
        (f"{site.url}/list.html [2]", f"{site.url}/gone.mp3"),
        (f"{site.url}/list.html [3]", f"{site.url}/video.mp4"),
    ]
    assert got.duplicates == (f"{site.url}/video.mp4",)  # in the playlist and named directly
    (down,) = got.unlisted
    assert (down.source, down.id) == (closed, closed)
    assert "cannot reach 127.0.0.1" in down.error.message
    assert not list(tmp_path.rglob("entry.json")), "listing downloads nothing"


def test_manifest_playlist_row_expands_with_the_row_id(site, tmp_path):
    rows = [{"id": "talks", "audio": f"{site.url}/list.html", "text": "x", "language": "en"}]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = expand_inputs(
        [str(manifest)], media=MediaOptions(playlist=True, download_dir=str(tmp_path))
    )
    assert [(i.id, i.source, i.reference, i.language) for i in got.items] == [
        ("talks [1]", f"{site.url}/en.mp3", None, "en"),
        ("talks [2]", f"{site.url}/gone.mp3", None, "en"),
        ("talks [3]", f"{site.url}/video.mp4", None, "en"),
    ]


def test_worker_applies_the_media_options_to_each_item(site, tmp_path):
    options = TranscribeOptions(language="en", beam_size=1, best_of=1)
    downloads = tmp_path / "downloads"

    def config(**media) -> WorkerConfig:
        return WorkerConfig(
            options,
            ModelOptions(model="tiny.en"),
            media=MediaOptions(download_dir=str(downloads), **media),
        )

    engine = load_worker_engine(config())
    task = Task("key", f"{site.url}/en.mp3")
    # --cookies is checked before anything is fetched.
    outcome = transcribe_task(engine, task, config(cookies=str(tmp_path / "missing.txt")))
    assert outcome.failure is not None
    assert "no such cookies file" in outcome.failure.message
    # --separator demucs fails before anything is fetched (no demucs or no weights here).
    outcome = transcribe_task(engine, task, config(separate_vocals=True, separator="demucs"))
    assert outcome.failure is not None
    assert outcome.failure.type in ("MissingDependencyError", "ModelNotFoundError")
    assert not list(downloads.rglob("entry.json"))
    # The light separator needs nothing; the voice stem is recognised.
    outcome = transcribe_task(engine, task, config(separate_vocals=True, separator="light"))
    assert outcome.failure is None
    assert outcome.transcript is not None
    assert outcome.transcript.duration == pytest.approx(5.5, abs=0.2)
    assert outcome.transcript.text.strip()
    assert len(list(downloads.rglob("entry.json"))) == 1, "downloaded into --download-dir"
    site.requests.clear()
    outcome = transcribe_task(engine, task, config(separate_vocals=True, separator="light"))
    assert outcome.failure is None
    assert not site.requests, "the cached download is used"


def test_a_separator_that_cannot_run_stops_the_batch_before_it_starts(data_dir, tmp_path):
    out = tmp_path / "out"
    run = batch(str(data_dir / "en.wav"), "-o", str(out), *FAST, "--separate-vocals",
                "--separator", "demucs")  # fmt: skip
    assert run.returncode not in (0, 10)  # not one failed item per file: a setup error
    assert "demucs" in run.stderr
    assert "hint:" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (out / "yuyin-journal.jsonl").exists()
