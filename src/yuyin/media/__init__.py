"""Media in and out: URL and YouTube ingest, subtitles into video, vocal separation (issue 11)."""

from __future__ import annotations

from yuyin.media.burn import burn_subtitles, check_burnable
from yuyin.media.download import (
    MediaEntry,
    ProgressCallback,
    canonical_url,
    fetch_media,
    has_yt_dlp,
    is_url,
    is_youtube_url,
    list_media,
)
from yuyin.media.options import MediaOptions, validate_media_options
from yuyin.media.separate import Stems, check_separator, separate_vocals, write_stems
from yuyin.media.subtitles import check_embeddable, embed_subtitles, subtitle_language_tag

__all__ = [
    "MediaEntry",
    "MediaOptions",
    "ProgressCallback",
    "Stems",
    "burn_subtitles",
    "canonical_url",
    "check_burnable",
    "check_embeddable",
    "check_separator",
    "embed_subtitles",
    "fetch_media",
    "has_yt_dlp",
    "is_url",
    "is_youtube_url",
    "list_media",
    "separate_vocals",
    "subtitle_language_tag",
    "validate_media_options",
    "write_stems",
]
