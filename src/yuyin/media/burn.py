"""Subtitles burnt into the picture: a copy of a video with each cue drawn onto its frames.

PyAV's FFmpeg has no libass, so FFmpeg's `subtitles` filter is not there to do this. Instead
each cue's text is drawn once with Pillow (white, dark outline, on a translucent box, centred
near the bottom, wrapped to the picture's width), and blended into the luma and chroma planes
of every frame in the cue's time span: only that band of the frame is touched, and frames with
no cue pass through untouched. The video is re-encoded with libx264 (yuv420p, CRF 20, the
source's frame size, frame rate and timestamps); audio is copied as it is.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import logging
import math
import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np
from numpy.typing import NDArray

from yuyin.errors import (
    AudioDecodeError,
    ConfigurationError,
    InputError,
    MissingDependencyError,
)
from yuyin.formats._cues import Cue, build_cues
from yuyin.media.options import MediaOptions
from yuyin.media.subtitles import _open_input, copy_streams, media_written_atomically
from yuyin.options import OutputOptions
from yuyin.types import is_cjk

if TYPE_CHECKING:
    from av.audio.stream import AudioStream
    from av.container import InputContainer
    from av.packet import Packet
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream
    from PIL.ImageFont import FreeTypeFont

    from yuyin.types import Transcript

__all__ = [
    "FONT_SEARCH_PATHS",
    "BurnProgress",
    "burn_subtitles",
    "check_burnable",
    "choose_font",
    "missing_glyphs",
    "wrap_text",
]

log = logging.getLogger(__name__)

#: Fonts tried in order when no `--subtitle-font` is given; the first that has a glyph for
#: every character of the subtitles is used. Latin fonts first (they look better for Latin
#: text), then fonts that cover Chinese, Japanese and Korean.
FONT_SEARCH_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",  # Fedora
    "/usr/share/fonts/TTF/DejaVuSans.ttf",  # Arch
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",  # macOS
    "C:/Windows/Fonts/arial.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",  # macOS
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/msyh.ttc",  # Microsoft YaHei
    "C:/Windows/Fonts/simhei.ttf",
)

#: Called with (seconds of video done, total seconds or None) as frames are encoded.
BurnProgress = Callable[[float, float | None], None]

# Languages whose text needs a CJK font, and a character of each to check one is there.
_CJK_SAMPLES = {"zh": "中文", "yue": "中文", "ja": "日本語かな", "ko": "한국어"}
# Punctuation that must not start a line (it stays with the character before it).
_NO_BREAK_BEFORE = frozenset("，。、；：！？）」』】》〉”’…・ー,.;:!?)]}%")
# x264 quality (lower is better, 18-23 is visually transparent) and speed.
_CRF = "20"
_PRESET = "veryfast"
# Subtitle look, relative to the picture's height.
_FONT_HEIGHT = 0.055
_MIN_FONT_PX = 10
_BOTTOM_MARGIN = 0.05
_SIDE_MARGIN = 0.05
_MAX_BAND = 0.4
_BOX_ALPHA = 140  # of 255: the dark box behind the text
_CHECK_PX = 32  # font size glyph coverage is checked at


def _pil() -> Any:
    """Pillow's ImageFont module (the `media` extra), imported on first use."""
    try:
        from PIL import ImageFont
    except ImportError as exc:
        raise MissingDependencyError("pillow", "media", "--burn-in") from exc
    return ImageFont


def _load_font(path: str | os.PathLike[str], size: int) -> FreeTypeFont:
    try:
        font: FreeTypeFont = _pil().truetype(os.fspath(path), size)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot use {os.fspath(path)} as a subtitle font ({exc})",
            hint="pass --subtitle-font with a TrueType or OpenType file (.ttf, .otf, .ttc)",
        ) from exc
    return font


def missing_glyphs(font: FreeTypeFont, chars: Iterable[str]) -> list[str]:
    """The characters `font` has no glyph for (it would draw them as its empty 'tofu' box).

    Args:
        font: a loaded font.
        chars: characters to check; whitespace and control characters are skipped.
    """
    # FreeType draws glyph 0 (.notdef) for a missing character: compare with a character no
    # font has (the last private-use code point).
    tofu = font.getmask("\U0010fffd")
    tofu_key = (tofu.size, bytes(tofu))
    missing = []
    for char in dict.fromkeys(chars):
        if unicodedata.category(char)[0] in "ZC":
            continue
        mask = font.getmask(char)
        if (mask.size, bytes(mask)) == tofu_key:
            missing.append(char)
    return missing


def choose_font(texts: Iterable[str], font: str | os.PathLike[str] | None = None) -> Path:
    """The font file to draw `texts` with: `font` if given, else the first that covers them.

    Args:
        texts: the subtitle texts.
        font: a font file the user chose (`--subtitle-font`); None searches
            `FONT_SEARCH_PATHS`.

    Raises:
        ConfigurationError: no font, or the font(s) lack glyphs for Chinese, Japanese or
            Korean characters of the text (drawing them as boxes would be silent garbage).
        MissingDependencyError: Pillow is not installed.
    """
    chars = list(dict.fromkeys(c for text in texts for c in text if not c.isspace()))
    candidates = (
        [Path(font).expanduser()] if font is not None else [Path(p) for p in FONT_SEARCH_PATHS]
    )
    best: tuple[Path, list[str]] | None = None
    for path in candidates:
        if font is None and not path.is_file():
            continue
        missing = missing_glyphs(_load_font(path, _CHECK_PX), chars)
        if not missing:
            return path
        if best is None or len(missing) < len(best[1]):
            best = (path, missing)
    if best is None:
        raise ConfigurationError(
            "--burn-in found no font to draw the subtitles with",
            hint="pass --subtitle-font FILE (a .ttf, .otf or .ttc font)",
        )
    path, missing = best
    cjk = [c for c in missing if is_cjk(c)]
    if cjk:
        shown = "".join(cjk[:8]) + ("..." if len(cjk) > 8 else "")
        where = f"the font {path} has no" if font is not None else "no font on this system has"
        raise ConfigurationError(
            f"--burn-in: {where} glyphs for the subtitles' Chinese/Japanese/Korean characters "
            f"({shown}); they would be drawn as empty boxes",
            hint="pass --subtitle-font with a CJK font file (Noto Sans CJK, WenQuanYi Micro "
            "Hei; on Debian/Ubuntu: apt install fonts-noto-cjk)",
        )
    log.warning("%s has no glyphs for %s: they show as boxes", path, "".join(missing[:20]))
    return path


def wrap_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Break `text` into lines that each `fits`, at spaces or between CJK characters.

    Args:
        text: the cue's text; its own line breaks are kept.
        fits: whether a line fits the picture (measured in pixels by the caller).

    Returns:
        The lines, stripped; a word too long for a line is broken between characters.
    """
    lines: list[str] = []
    for paragraph in text.splitlines():
        tokens = _tokens(paragraph.strip())
        line = ""
        for token in tokens:
            joined = line + token
            if not line or fits(joined.strip()):
                line = joined
                continue
            lines.append(line.strip())
            line = token.lstrip()
        line = line.strip()
        if line:
            lines.append(line)
    out: list[str] = []
    for line in lines:
        out.extend(_split_long(line, fits))
    return out


def _tokens(text: str) -> list[str]:
    """Pieces a line may break between: words with the space before them, CJK characters."""
    tokens: list[str] = []
    current = ""
    for char in text:
        if char.isspace():
            if current and not current[-1].isspace():
                tokens.append(current)
                current = ""
        elif (
            current
            and not current.isspace()
            and char not in _NO_BREAK_BEFORE
            and (is_cjk(char) or is_cjk(current[-1]))
        ):
            tokens.append(current)
            current = ""
        current += char
    if current:
        tokens.append(current)
    return tokens


def _split_long(line: str, fits: Callable[[str], bool]) -> list[str]:
    if fits(line) or len(line) <= 1:
        return [line]
    pieces: list[str] = []
    current = ""
    for char in line:
        if current and not fits(current + char):
            pieces.append(current.strip())
            current = char.lstrip()
        else:
            current += char
    if current.strip():
        pieces.append(current.strip())
    return pieces


@dataclass(frozen=True, slots=True)
class _Overlay:
    """One cue, drawn: where it goes and how to blend it into the Y, U and V planes."""

    x: int
    y: int
    luma: NDArray[np.float32]  # the text's luma times its opacity (limited range)
    keep: NDArray[np.float32]  # 1 - opacity: how much of the frame shows through
    chroma: NDArray[np.float32]  # 128 times the opacity, per 2x2 block
    chroma_keep: NDArray[np.float32]

    def apply(self, planes: NDArray[np.uint8], width: int, height: int) -> None:
        """Blend into a yuv420p frame's planes (as `VideoFrame.to_ndarray` lays them out)."""
        flat = planes.reshape(-1)
        h, w = self.keep.shape
        y_plane = flat[: width * height].reshape(height, width)
        band = y_plane[self.y : self.y + h, self.x : self.x + w]
        band[...] = band * self.keep + self.luma + 0.5
        cw, ch = width // 2, height // 2
        cy, cx = self.y // 2, self.x // 2
        for start in (width * height, width * height + cw * ch):
            plane = flat[start : start + cw * ch].reshape(ch, cw)
            block = plane[cy : cy + h // 2, cx : cx + w // 2]
            block[...] = block * self.chroma_keep + self.chroma + 0.5


class _Painter:
    """Draws cues for one picture size, each once."""

    def __init__(self, font_path: Path, width: int, height: int) -> None:
        self.font_path = font_path
        self.width = width
        self.height = height
        self.base_px = max(_MIN_FONT_PX, round(height * _FONT_HEIGHT))
        self.fonts: dict[int, FreeTypeFont] = {}

    def font(self, size: int) -> FreeTypeFont:
        """The font at `size` pixels, loaded once."""
        if size not in self.fonts:
            self.fonts[size] = _load_font(self.font_path, size)
        return self.fonts[size]

    def draw(self, text: str) -> _Overlay | None:
        """The cue's overlay, or None for a cue with no visible text."""
        from PIL import Image, ImageDraw

        size = self.base_px
        while True:
            font = self.font(size)
            stroke = max(1, round(size / 15))
            pad = max(2, round(size * 0.3))
            ascent, descent = font.getmetrics()
            line_px = ascent + descent + round(size * 0.1)
            room = self.width - 2 * round(self.width * _SIDE_MARGIN) - 2 * (pad + stroke)
            lines = wrap_text(text, _fits(font, room))
            if not lines:
                return None
            tall = len(lines) * line_px + 2 * pad
            limit = max(line_px + 2 * pad, round(self.height * _MAX_BAND))
            if tall <= limit or size <= _MIN_FONT_PX:
                break
            size = max(_MIN_FONT_PX, round(size * 0.85))
        fit = max(1, (limit - 2 * pad) // line_px)
        if len(lines) > fit:  # a very long cue on a small picture: show what fits
            last = lines[fit - 1]
            while len(last) > 1 and font.getlength(last + "…") > room:
                last = last[:-1]
            lines = [*lines[: fit - 1], last.rstrip() + "…"]
        text_w = math.ceil(max(font.getlength(line) for line in lines))
        w = min(self.width - self.width % 2, _even(text_w + 2 * (pad + stroke)))
        h = min(self.height - self.height % 2, _even(len(lines) * line_px + 2 * pad))
        image = Image.new("LA", (w, h), (0, _BOX_ALPHA))
        pen = ImageDraw.Draw(image)
        for number, line in enumerate(lines):
            pen.text(
                (w / 2, pad + number * line_px),
                line,
                font=font,
                fill=(255, 255),
                anchor="ma",
                stroke_width=stroke,
                stroke_fill=(0, 255),
            )
        pixels = np.asarray(image, dtype=np.float32)
        alpha = (pixels[:, :, 1] / 255).astype(np.float32)
        luma = ((16 + pixels[:, :, 0] * (219 / 255)) * alpha).astype(np.float32)  # video range
        chroma_alpha = alpha.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3), dtype=np.float32)
        x = ((self.width - w) // 2) & ~1
        bottom = round(self.height * _BOTTOM_MARGIN)
        y = max(0, self.height - bottom - h) & ~1
        return _Overlay(
            x, y, luma, 1 - alpha, (128 * chroma_alpha).astype(np.float32), 1 - chroma_alpha
        )


def _fits(font: FreeTypeFont, room: int) -> Callable[[str], bool]:
    return lambda line: font.getlength(line) <= room


def _even(value: int) -> int:
    return value + value % 2


def _video_stream(inp: InputContainer, name: str) -> VideoStream:
    for stream in inp.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:  # not cover art
            return stream
    raise InputError(
        f"{name} has no video track: --burn-in needs a video",
        hint="pass a video file, or use -f srt,vtt for subtitle files",
    )


def _container(format_name: str, options: MediaOptions) -> str:
    if options.video_container != "auto":
        return options.video_container
    return "mp4" if set(format_name.split(",")) & {"mov", "mp4", "m4a", "3gp"} else "mkv"


def check_burnable(
    source: str | os.PathLike[str], options: MediaOptions, *, language: str | None = None
) -> None:
    """Fail before recognition when `burn_subtitles` could not draw on `source`.

    Args:
        source: the input file.
        options: `subtitle_font`.
        language: the language asked for, if known: Chinese, Japanese or Korean makes sure a
            font that covers them is there.

    Raises:
        InputError: `source` has no video track.
        AudioDecodeError: not media.
        MediaNotFoundError: `source` does not exist.
        ConfigurationError: the font cannot be used, or none covers `language`.
        MissingDependencyError: Pillow is not installed.
    """
    _pil()
    inp = _open_input(source)
    try:
        _video_stream(inp, os.fspath(source))
    finally:
        inp.close()
    sample = _CJK_SAMPLES.get((language or "").lower().replace("_", "-").split("-", 1)[0])
    if sample is not None or options.subtitle_font is not None:
        choose_font([sample or "A"], options.subtitle_font)


def burn_subtitles(
    source: str | os.PathLike[str],
    transcript: Transcript,
    output: str | os.PathLike[str],
    *,
    options: MediaOptions | None = None,
    layout: OutputOptions | None = None,
    font: str | os.PathLike[str] | None = None,
    on_progress: BurnProgress | None = None,
) -> Path:
    """Write a copy of `source` with `transcript` drawn into the picture, atomically.

    Args:
        source: a video file PyAV can read.
        transcript: the cues' text and times (seconds from the start of the media).
        output: the file to write, without extension; `.mp4` or `.mkv` is added.
        options: `video_container` (auto: MP4 for MP4/MOV input, else Matroska) and
            `subtitle_font`.
        layout: line width and count of the cues, as for SRT; lines are also wrapped to fit
            the picture.
        font: a font file; overrides `options.subtitle_font`. None: `choose_font`.
        on_progress: called with (seconds of video done, total seconds or None).

    Returns:
        The path written.

    Raises:
        MediaNotFoundError: `source` does not exist.
        InputError: `source` has no video track.
        AudioDecodeError: `source` is not media, or its video cannot be decoded.
        ConfigurationError: no usable font for the text, or a container that cannot hold
            the audio.
        MissingDependencyError: Pillow is not installed.
        OutputError: the copy cannot be written.
    """
    opts = options or MediaOptions()
    name = os.fspath(source)
    _pil()
    cues = build_cues(
        transcript, dataclasses.replace(layout or OutputOptions(), highlight_words=False)
    )
    font_path = choose_font(
        [c.text for c in cues], font if font is not None else opts.subtitle_font
    )
    inp = _open_input(source)
    try:
        video = _video_stream(inp, name)
        audio = list(inp.streams.audio)
        container = _container(inp.format.name, opts)
        target = Path(os.fspath(output) + (".mp4" if container == "mp4" else ".mkv"))
        rotation = _rotation(name, video.index)
        return _encode(
            inp, name, video, audio, target, container, cues, font_path, rotation, on_progress
        )
    finally:
        inp.close()


def _rotation(name: str, index: int) -> int:
    """The display rotation of the first frame (phone videos), to carry into the copy."""
    try:
        with av.open(name) as probe:
            stream = probe.streams[index]
            for frame in probe.decode(stream):
                if isinstance(frame, av.VideoFrame):
                    return int(frame.rotation)
    except (av.FFmpegError, StopIteration):
        pass
    return 0


def _encode(
    inp: InputContainer,
    name: str,
    video: VideoStream,
    audio: list[AudioStream],
    target: Path,
    container: str,
    cues: list[Cue],
    font_path: Path,
    rotation: int,
    on_progress: BurnProgress | None,
) -> Path:
    source_ctx = video.codec_context
    width = source_ctx.width - source_ctx.width % 2  # yuv420p needs even sizes
    height = source_ctx.height - source_ctx.height % 2
    if width < 2 or height < 2:
        raise InputError(f"{name} has no picture to draw on", hint="pass a video")
    rate = video.average_rate or video.guessed_rate or Fraction(25)
    time_base = video.time_base or Fraction(1, 90000)
    total = inp.duration / 1_000_000 if inp.duration else None
    offset = inp.start_time / 1_000_000 if inp.start_time else 0.0
    timeline = _Timeline(cues, _Painter(font_path, width, height))
    source_ctx.thread_type = "AUTO"
    muxer = "mp4" if container == "mp4" else "matroska"
    with media_written_atomically(target) as tmp, av.open(str(tmp), "w", format=muxer) as out:
        encoder = out.add_stream("libx264", rate=rate, options={"crf": _CRF, "preset": _PRESET})
        ctx = encoder.codec_context
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
        ctx.time_base = time_base
        encoder.time_base = time_base
        if source_ctx.sample_aspect_ratio:
            ctx.sample_aspect_ratio = source_ctx.sample_aspect_ratio
        if rotation:
            encoder.set_display_rotation(rotation)
        copies = copy_streams(out, audio, muxer, name)
        for packet in inp.demux(video, *audio):
            if packet.stream.index in copies:
                if packet.dts is None:  # demuxer flush packets
                    continue
                packet.stream = copies[packet.stream.index]
                out.mux(packet)
                continue
            for frame in _decode(video, packet, name):
                at = float(frame.time) - offset if frame.time is not None else None
                image = frame.reformat(width=width, height=height, format="yuv420p")
                overlay = timeline.overlay(at)
                if overlay is not None:
                    planes = np.asarray(image.to_ndarray(), dtype=np.uint8)
                    overlay.apply(planes, width, height)
                    drawn_frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
                    drawn_frame.pts, drawn_frame.time_base = frame.pts, frame.time_base
                    image = drawn_frame
                image.pict_type = av.video.frame.PictureType.NONE
                out.mux(encoder.encode(image))
                if on_progress is not None and at is not None:
                    on_progress(at, total)
        out.mux(encoder.encode(None))
    return target


def _decode(video: VideoStream, packet: Packet[Any], name: str) -> list[VideoFrame]:
    try:
        return list(video.decode(packet))
    except av.FFmpegError as exc:
        raise AudioDecodeError(
            f"cannot decode the video of {name} ({exc.strerror or type(exc).__name__})",
            hint="the file may be damaged; try re-encoding it first",
        ) from exc


class _Timeline:
    """Which cue is on screen at a time, each drawn once (and dropped once it is past)."""

    def __init__(self, cues: Sequence[Cue], painter: _Painter) -> None:
        self.cues = cues
        self.painter = painter
        self.starts = [c.start_ms for c in cues]
        # The latest end among cues[: i + 1]: a backward search stops once nothing reaches.
        self.reach = list(itertools.accumulate((c.end_ms for c in cues), max))
        self.drawn: dict[int, _Overlay | None] = {}

    def overlay(self, at: float | None) -> _Overlay | None:
        """The overlay of the cue shown at `at` seconds (the latest started, if they overlap)."""
        if at is None:
            return None
        ms = at * 1000
        index = bisect.bisect_right(self.starts, ms) - 1
        while index >= 0 and self.reach[index] > ms and self.cues[index].end_ms <= ms:
            index -= 1
        if index < 0 or self.cues[index].end_ms <= ms:
            return None
        if index not in self.drawn:
            for old in [k for k in self.drawn if self.cues[k].end_ms <= ms]:
                del self.drawn[old]
            self.drawn[index] = self.painter.draw(self.cues[index].text)
        return self.drawn[index]
