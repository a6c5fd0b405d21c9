"""URL ingest: YouTube and other sites through yt-dlp, direct media links, a download cache.

`list_media(url)` says what a URL holds (one entry, or a playlist's entries when asked for);
`fetch_media(entry)` downloads one entry into the cache, once, and returns its path. Without
yt-dlp installed, direct http(s) media links still work: FFmpeg streams them (the entry's
source is the URL itself) and site links say which extra to install.

The cache holds one folder per URL and format choice, named by a hash of both; a folder
counts only once its `entry.json` is written, after the download completed, so a cut-off
download is never mistaken for a finished one. yt-dlp keeps the cut-off `.part` file and
resumes it on the next run where the server supports ranges (and restarts it otherwise).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yuyin.errors import InputError, MediaNotFoundError, MissingDependencyError
from yuyin.fileio import atomic_write_text
from yuyin.media.options import MediaOptions

__all__ = [
    "MediaEntry",
    "ProgressCallback",
    "canonical_url",
    "fetch_media",
    "has_yt_dlp",
    "is_url",
    "is_youtube_url",
    "list_media",
]

log = logging.getLogger(__name__)

#: `on_progress(downloaded_bytes, total_bytes)`; total is None when the server does not say.
ProgressCallback = Callable[[int, int | None], None]

_YOUTUBE_HOSTS = frozenset(
    {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be",
     "www.youtube-nocookie.com", "youtube-nocookie.com"}
)  # fmt: skip

# Format selectors by --quality; audio-only unless the picture is wanted. `+` merges a video
# and an audio stream, which needs the ffmpeg program; without it only single files qualify.
_FORMATS_MERGE = {
    None: "bestaudio/best",
    "low": "bv*[height<=360]+ba/b[height<=360]/wv*+ba/w",
    "good": "bv*[height<=720]+ba/b[height<=720]/bv*+ba/b",
    "best": "bv*+ba/b",
}
_FORMATS_SINGLE = {
    None: "bestaudio/best",
    "low": "b[height<=360]/w",
    "good": "b[height<=720]/b",
    "best": "b",
}


def is_url(text: str) -> bool:
    """Whether an input names an http(s) URL rather than a file."""
    return text.split("://", 1)[0].lower() in ("http", "https") and "://" in text


def is_youtube_url(url: str) -> bool:
    """Whether a URL points at YouTube (watch, shorts, live, embed, youtu.be, playlists)."""
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    return host in _YOUTUBE_HOSTS


def canonical_url(url: str) -> str:
    """One spelling per YouTube video (`youtu.be/ID`, `shorts/ID`, `watch?v=ID&t=5` → watch).

    Other URLs come back unchanged, except that a `#fragment` (never sent) is dropped.
    """
    parts = urllib.parse.urlsplit(url)
    if not is_youtube_url(url):
        return urllib.parse.urlunsplit(parts._replace(fragment=""))
    host = (parts.hostname or "").lower()
    path = [p for p in parts.path.split("/") if p]
    query = urllib.parse.parse_qs(parts.query)
    video: str | None = None
    if host == "youtu.be" and path:
        video = path[0]
    elif path[:1] == ["watch"] and query.get("v"):
        video = query["v"][0]
    elif len(path) >= 2 and path[0] in ("shorts", "live", "embed", "v"):
        video = path[1]
    if video is None:  # playlists, channels: keep, minus tracking parameters
        return urllib.parse.urlunsplit(parts._replace(fragment=""))
    return f"https://www.youtube.com/watch?v={video}"


def has_yt_dlp() -> bool:
    """Whether yt-dlp (the `media` extra) is importable."""
    try:
        import yt_dlp  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class MediaEntry:
    """One downloadable item behind a URL (the URL itself, or one entry of a playlist).

    Attributes:
        url: the URL as given (for a playlist entry, the playlist's URL).
        name: a file-name-safe name for its outputs (title, or the URL's last path part).
        key: its identity in the download cache (the canonical URL, plus `#N` for entry N).
        index: its 1-based position in the playlist, None for a single item.
        cached: the path of its finished download, when the cache already holds it.
    """

    url: str
    name: str
    key: str
    index: int | None = None
    cached: Path | None = None
    info: dict[str, Any] | None = field(default=None, repr=False, compare=False)


def _safe_name(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_.[]() " else "_" for c in text).strip(" .")
    return " ".join(keep.split())[:120] or "download"


def _url_name(url: str) -> str:
    tail = urllib.parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return _safe_name(Path(urllib.parse.unquote(tail)).stem)


def _format(options: MediaOptions) -> str:
    quality = options.quality or ("good" if options.wants_video else None)
    table = _FORMATS_MERGE if shutil.which("ffmpeg") else _FORMATS_SINGLE
    return table[quality]


def _folder(download_dir: Path, key: str, options: MediaOptions) -> Path:
    digest = hashlib.sha256(f"{key}\n{_format(options)}".encode()).hexdigest()[:24]
    return download_dir / digest


def _cached(folder: Path) -> tuple[Path, str] | None:
    try:
        record = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
        path = folder / record["file"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (path, str(record.get("name") or path.stem)) if path.is_file() else None


def _check_cookies(options: MediaOptions) -> None:
    if options.cookies is not None and not Path(options.cookies).is_file():
        raise MediaNotFoundError(
            f"no such cookies file: {options.cookies}",
            hint="export cookies.txt (Netscape format) from a browser signed in to the site",
        )


def list_media(url: str, options: MediaOptions, *, download_dir: Path) -> list[MediaEntry]:
    """Say what a URL holds: one entry, or every entry of a playlist when `options.playlist`.

    A URL already in the download cache is answered from the cache, without the network.

    Args:
        url: an http(s) link to a media file or to a page yt-dlp understands.
        options: `playlist`, `quality` (the cache holds each quality apart), `cookies`.
        download_dir: the download cache folder.

    Raises:
        MissingDependencyError: a YouTube link without yt-dlp installed.
        InputError: a playlist without `playlist`, a page with no media, no network...
        MediaNotFoundError: HTTP 404, an unavailable video, a missing cookies file.
    """
    key = canonical_url(url)
    hit = _cached(_folder(download_dir, key, options))
    if hit is not None:
        return [MediaEntry(url, hit[1], key, cached=hit[0])]
    if not has_yt_dlp():
        if is_youtube_url(url):
            raise MissingDependencyError("yt-dlp", "media", "YouTube links")
        # FFmpeg reads direct media links itself, streaming (see yuyin.audio.decode).
        return [MediaEntry(url, _url_name(url), key)]
    _check_cookies(options)
    info = _extract(url, options)
    kind = info.get("_type", "video")
    if kind not in ("playlist", "multi_video"):
        return [MediaEntry(url, _entry_name(info, url), key, info=info)]
    entries = [e for e in info.get("entries") or () if isinstance(e, dict)]
    if not options.playlist:
        raise InputError(
            f"{url} is a playlist of {len(entries)} entries, but one video was expected",
            hint="add --playlist to transcribe every entry, or link a single video",
        )
    if not entries:
        raise InputError(f"the playlist {url} is empty", hint="check the link")
    found: list[MediaEntry] = []
    for index, entry in enumerate(entries, 1):
        entry_key = f"{key}#{index}"
        hit = _cached(_folder(download_dir, entry_key, options))
        name = _entry_name(entry, url) if hit is None else hit[1]
        found.append(MediaEntry(url, name, entry_key, index, hit[0] if hit else None, entry))
    return found


def _entry_name(info: dict[str, Any], url: str) -> str:
    title = str(info.get("title") or "")
    ident = str(info.get("id") or "")
    if info.get("_type") in ("url", "url_transparent") or not title:
        return _url_name(str(info.get("url") or url))
    if info.get("extractor_key") in ("Generic", "HTML5MediaEmbed") or not ident or ident == title:
        return _safe_name(title)
    return _safe_name(f"{title} [{ident}]")


def fetch_media(
    entry: MediaEntry,
    options: MediaOptions,
    *,
    download_dir: Path,
    on_progress: ProgressCallback | None = None,
) -> str:
    """Make one entry readable: its cached file, a fresh download, or a direct URL.

    Args:
        entry: from `list_media`.
        options: `quality`, `cookies`.
        download_dir: the download cache folder.
        on_progress: called with (bytes done, bytes in all) while downloading.

    Returns:
        A local path, or the URL itself where FFmpeg streams it (no yt-dlp installed).

    Raises:
        InputError: the download failed (see `list_media`); nothing partial is cached.
    """
    if entry.cached is not None:
        return str(entry.cached)
    if entry.info is None:
        return entry.url
    folder = _folder(download_dir, entry.key, options)
    folder.mkdir(parents=True, exist_ok=True)
    info = _download(entry.url, entry.info, options, folder, on_progress)
    path = _downloaded_file(info, folder)
    atomic_write_text(
        folder / "entry.json",
        json.dumps({"url": entry.url, "key": entry.key, "name": entry.name, "file": path.name}),
    )
    return str(path)


def _downloaded_file(info: dict[str, Any], folder: Path) -> Path:
    for item in info.get("requested_downloads") or ():
        candidate = Path(str(item.get("filepath") or ""))
        if candidate.is_file():
            return candidate
    files = sorted(p for p in folder.glob("media.*") if p.suffix not in (".part", ".ytdl"))
    if not files:
        raise InputError(
            "the download finished but left no file", hint="try again; report it if it repeats"
        )
    return files[0]


# --- yt-dlp ---------------------------------------------------------------------------------

# Phrases in yt-dlp's errors for videos that a signed-in (or adult) account could see.
_SIGN_IN_MESSAGES = (
    "private video",
    "sign in to confirm",
    "confirm your age",
    "age-restricted",
    "members-only",
    "login required",
    "requires authentication",
)


class _Logger:
    """yt-dlp's messages go to logging; its errors become exceptions we translate."""

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def info(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def warning(self, message: str) -> None:
        log.info("yt-dlp: %s", message)

    def error(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)


def _params(options: MediaOptions, folder: Path | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _Logger(),
        "format": _format(options),
        "merge_output_format": "mp4/mkv",
        # Entries are listed first and fetched one by one, so each download is one video.
        "noplaylist": not options.playlist,
        "socket_timeout": 20,
        "retries": 2,
        "extractor_retries": 1,
        "continuedl": True,
        "cachedir": False,
        "color": {"stderr": "no_color", "stdout": "no_color"},
    }
    if options.cookies is not None:
        params["cookiefile"] = options.cookies
    if folder is not None:
        params["paths"] = {"home": str(folder), "temp": str(folder)}
        params["outtmpl"] = {"default": "media.%(ext)s"}
    return params


def _extract(url: str, options: MediaOptions) -> dict[str, Any]:
    import yt_dlp

    try:
        with yt_dlp.YoutubeDL(_params(options)) as ydl:
            info = ydl.extract_info(url, download=False, process=False)
    except yt_dlp.utils.YoutubeDLError as exc:
        raise _translate(url, exc) from exc
    if not isinstance(info, dict):
        raise InputError(f"{url} gave nothing to download", hint="check the link")
    return info


def _download(
    url: str,
    entry_info: dict[str, Any],
    options: MediaOptions,
    folder: Path,
    on_progress: ProgressCallback | None,
) -> dict[str, Any]:
    import yt_dlp

    def hook(status: dict[str, Any]) -> None:
        if on_progress is not None and status.get("status") == "downloading":
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            on_progress(int(status.get("downloaded_bytes") or 0), int(total) if total else None)

    params = _params(options, folder)
    params["progress_hooks"] = [hook]
    try:
        with yt_dlp.YoutubeDL(params) as ydl:
            info = ydl.process_ie_result(dict(entry_info), download=True)
    except yt_dlp.utils.YoutubeDLError as exc:
        _clean_partial(folder)
        raise _translate(url, exc) from exc
    if not isinstance(info, dict):
        raise InputError(f"{url} gave nothing to download", hint="check the link")
    return info


def _clean_partial(folder: Path) -> None:
    # Keep a non-empty `.part` (yt-dlp resumes it next time); drop everything else.
    for path in folder.iterdir():
        if path.suffix == ".part" and path.stat().st_size > 0:
            continue
        if path.is_file():
            path.unlink(missing_ok=True)
    if not any(folder.iterdir()):
        folder.rmdir()


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or item in chain:
            continue
        chain.append(item)
        exc_info = getattr(item, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            todo.append(exc_info[1])
        todo.extend((getattr(item, "cause", None), item.__cause__, item.__context__))
    return chain


def _translate(url: str, exc: Exception) -> InputError:
    """yt-dlp's errors as yuyin errors that say what went wrong and what to do."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import UnsupportedError

    causes = _causes(exc)
    text = " ".join(str(c) for c in causes).lower()
    host = urllib.parse.urlsplit(url).hostname or url
    http = next((c for c in causes if isinstance(c, HTTPError)), None)
    for cause in causes:
        if isinstance(cause, HTTPError):
            # The error holds the open response; left open, its socket warns when collected.
            cause.close()
    if any(isinstance(c, UnsupportedError) for c in causes):
        return InputError(
            f"{url} is not a media link: no audio or video was found there",
            hint="link a media file or a video page (YouTube...), or download it and pass the file",
        )
    if http is not None and http.status in (404, 410):
        return MediaNotFoundError(
            f"{url} was not found (HTTP {http.status})", hint="check the link"
        )
    if http is not None and http.status in (401, 403):
        return InputError(
            f"{url} refused access (HTTP {http.status})",
            hint="for sign-in or age-gated videos pass --cookies cookies.txt",
        )
    if any(s in text for s in _SIGN_IN_MESSAGES):
        return InputError(
            f"{url} is private or needs a signed-in account",
            hint="pass --cookies cookies.txt exported from a browser signed in to the site",
        )
    if "unavailable" in text or "has been removed" in text or "does not exist" in text:
        return MediaNotFoundError(f"{url}: the video is unavailable", hint="check the link")
    if "requested format is not available" in text:
        return InputError(
            f"{url} offers no download at the requested quality",
            hint="try another --quality, or leave it out for audio only",
        )
    if any(isinstance(c, TransportError) for c in causes) or "unable to download" in text:
        return InputError(
            f"cannot reach {host}: the network is unavailable or the host does not answer",
            hint="check you are online (and any proxy), or download the media elsewhere and "
            "pass the file",
        )
    message = str(exc).removeprefix("ERROR: ").strip()
    return InputError(f"cannot download {url}: {message}", hint="check the link")
