"""What to do with media around recognition: download, separate vocals, subtitles into video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yuyin.errors import ConfigurationError

__all__ = [
    "QUALITIES",
    "SEPARATORS",
    "STEM_FORMATS",
    "SUBTITLE_CODECS",
    "VIDEO_CONTAINERS",
    "MediaOptions",
    "validate_media_options",
]

#: `--quality` values: the video height yt-dlp aims for (low ≤ 360p, good ≤ 720p, best).
QUALITIES: tuple[str, ...] = ("low", "good", "best")
#: `--separator` values: Demucs when its weights are on disk (auto), or one of the two.
SEPARATORS: tuple[str, ...] = ("auto", "light", "demucs")
#: Formats `--stems` can be written in.
STEM_FORMATS: tuple[str, ...] = ("wav", "flac", "mp3")
#: `--subtitle-codec` values; auto: mov_text in MP4, SubRip in Matroska.
SUBTITLE_CODECS: tuple[str, ...] = ("auto", "mov_text", "srt", "ass")
#: `--video-container` values; auto keeps MP4 as MP4 and writes anything else as Matroska.
VIDEO_CONTAINERS: tuple[str, ...] = ("auto", "mp4", "mkv")


@dataclass(frozen=True, slots=True)
class MediaOptions:
    """Media handling around recognition (issue 11); each field is one `transcribe` flag.

    Attributes:
        quality: None downloads audio only; `low`, `good` or `best` downloads the video too
            (at most 360p, 720p, or the best there is). Embedding subtitles needs the video,
            so `embed_subtitles` implies `good` when this is None.
        cookies: a Netscape cookies.txt file for videos behind a sign-in or age gate.
        playlist: transcribe every entry of a playlist URL; without it a playlist is an error.
        download_dir: where downloads are cached (one folder per URL and quality); None:
            `downloads` inside the model cache.
        embed_subtitles: write a copy of each video with the transcript as a soft subtitle
            track (`<name>.subtitled.mp4` or `.mkv` beside the other outputs).
        subtitle_codec: `auto`, `mov_text` (MP4), `srt` or `ass` (Matroska).
        subtitle_language: the track's language tag (ISO 639 code); None: the transcript's.
        video_container: `auto` (MP4 stays MP4, the rest becomes Matroska), `mp4` or `mkv`.
        burn_in: write a copy of each video with the subtitles drawn into the picture
            (`<name>.burned.mp4` or `.mkv`; the video is re-encoded, audio copied).
        subtitle_font: the font file `burn_in` draws with (.ttf, .otf, .ttc); None: the
            first installed font that has every character (CJK fonts for Chinese).
        separate_vocals: run source separation first and recognise the vocal stem only.
        separator: `auto` (Demucs when installed with weights on disk, else light), `light`
            (HPSS + nearest-neighbour background model, no weights) or `demucs`.
        demucs_model: a Demucs htdemucs weights file (.th) or a folder holding it; None looks
            in the torch hub cache.
        stems: a folder to write the separated stems to (`<name>.vocals.wav`, ...).
        stems_format: `wav`, `flac` or `mp3`.
    """

    quality: str | None = None
    cookies: str | None = None
    playlist: bool = False
    download_dir: str | None = None
    embed_subtitles: bool = False
    subtitle_codec: str = "auto"
    subtitle_language: str | None = None
    video_container: str = "auto"
    burn_in: bool = False
    subtitle_font: str | None = None
    separate_vocals: bool = False
    separator: str = "auto"
    demucs_model: str | None = None
    stems: str | None = None
    stems_format: str = "wav"

    @property
    def wants_video(self) -> bool:
        """Whether downloads must include the picture (a quality, or subtitles into video)."""
        return self.quality is not None or self.embed_subtitles or self.burn_in


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigurationError(
            f"unknown {name} {value!r}",
            hint=f"use --{name.replace('_', '-')} " + " or ".join(choices),
        )


def validate_media_options(options: MediaOptions) -> None:
    """Reject impossible media settings with a message naming the flag.

    Raises:
        ConfigurationError: for the first bad value found.
    """
    if options.quality is not None:
        _choice("quality", options.quality, QUALITIES)
    _choice("separator", options.separator, SEPARATORS)
    _choice("stems_format", options.stems_format, STEM_FORMATS)
    _choice("subtitle_codec", options.subtitle_codec, SUBTITLE_CODECS)
    _choice("video_container", options.video_container, VIDEO_CONTAINERS)
    if options.stems is not None and not options.separate_vocals:
        raise ConfigurationError(
            "--stems writes the stems of --separate-vocals", hint="add --separate-vocals"
        )
    if options.subtitle_font is not None:
        if not options.burn_in:
            raise ConfigurationError(
                "--subtitle-font is the font of --burn-in", hint="add --burn-in"
            )
        if not Path(options.subtitle_font).expanduser().is_file():
            raise ConfigurationError(
                f"--subtitle-font: no such file: {options.subtitle_font}",
                hint="pass a .ttf, .otf or .ttc font file",
            )
