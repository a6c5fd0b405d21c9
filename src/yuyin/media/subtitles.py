"""Subtitles into video: a copy of the input with the transcript as a soft subtitle track.

Audio and video packets are copied as they are (no re-encoding, so it takes seconds and
loses nothing); only the subtitle stream is encoded, by PyAV's FFmpeg: `mov_text` in MP4,
SubRip or ASS in Matroska. Players show it as a selectable track, tagged with its language.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

from yuyin.errors import AudioDecodeError, ConfigurationError, MediaNotFoundError, OutputError
from yuyin.formats._cues import Cue, build_cues
from yuyin.media.options import MediaOptions
from yuyin.options import OutputOptions

if TYPE_CHECKING:
    from av.container import InputContainer, OutputContainer
    from av.packet import Packet
    from av.subtitles.stream import SubtitleStream

    from yuyin.types import Transcript

__all__ = ["check_embeddable", "embed_subtitles", "subtitle_language_tag"]

# Whisper's language codes → ISO 639-2 (terminology code, bibliographic code). MP4 tags a
# track with the former, Matroska with the latter; Cantonese has no 639-2 code of its own.
_ISO639_2: dict[str, tuple[str, str]] = {
    "en": ("eng", "eng"), "zh": ("zho", "chi"), "de": ("deu", "ger"), "es": ("spa", "spa"),
    "ru": ("rus", "rus"), "ko": ("kor", "kor"), "fr": ("fra", "fre"), "ja": ("jpn", "jpn"),
    "pt": ("por", "por"), "tr": ("tur", "tur"), "pl": ("pol", "pol"), "ca": ("cat", "cat"),
    "nl": ("nld", "dut"), "ar": ("ara", "ara"), "sv": ("swe", "swe"), "it": ("ita", "ita"),
    "id": ("ind", "ind"), "hi": ("hin", "hin"), "fi": ("fin", "fin"), "vi": ("vie", "vie"),
    "he": ("heb", "heb"), "uk": ("ukr", "ukr"), "el": ("ell", "gre"), "ms": ("msa", "may"),
    "cs": ("ces", "cze"), "ro": ("ron", "rum"), "da": ("dan", "dan"), "hu": ("hun", "hun"),
    "ta": ("tam", "tam"), "no": ("nor", "nor"), "th": ("tha", "tha"), "ur": ("urd", "urd"),
    "hr": ("hrv", "hrv"), "bg": ("bul", "bul"), "lt": ("lit", "lit"), "la": ("lat", "lat"),
    "mi": ("mri", "mao"), "ml": ("mal", "mal"), "cy": ("cym", "wel"), "sk": ("slk", "slo"),
    "te": ("tel", "tel"), "fa": ("fas", "per"), "lv": ("lav", "lav"), "bn": ("ben", "ben"),
    "sr": ("srp", "srp"), "az": ("aze", "aze"), "sl": ("slv", "slv"), "kn": ("kan", "kan"),
    "et": ("est", "est"), "mk": ("mkd", "mac"), "br": ("bre", "bre"), "eu": ("eus", "baq"),
    "is": ("isl", "ice"), "hy": ("hye", "arm"), "ne": ("nep", "nep"), "mn": ("mon", "mon"),
    "bs": ("bos", "bos"), "kk": ("kaz", "kaz"), "sq": ("sqi", "alb"), "sw": ("swa", "swa"),
    "gl": ("glg", "glg"), "mr": ("mar", "mar"), "pa": ("pan", "pan"), "si": ("sin", "sin"),
    "km": ("khm", "khm"), "sn": ("sna", "sna"), "yo": ("yor", "yor"), "so": ("som", "som"),
    "af": ("afr", "afr"), "oc": ("oci", "oci"), "ka": ("kat", "geo"), "be": ("bel", "bel"),
    "tg": ("tgk", "tgk"), "sd": ("snd", "snd"), "gu": ("guj", "guj"), "am": ("amh", "amh"),
    "yi": ("yid", "yid"), "lo": ("lao", "lao"), "uz": ("uzb", "uzb"), "fo": ("fao", "fao"),
    "ht": ("hat", "hat"), "ps": ("pus", "pus"), "tk": ("tuk", "tuk"), "nn": ("nno", "nno"),
    "mt": ("mlt", "mlt"), "sa": ("san", "san"), "lb": ("ltz", "ltz"), "my": ("mya", "bur"),
    "bo": ("bod", "tib"), "tl": ("tgl", "tgl"), "mg": ("mlg", "mlg"), "as": ("asm", "asm"),
    "tt": ("tat", "tat"), "ln": ("lin", "lin"), "ha": ("hau", "hau"), "ba": ("bak", "bak"),
    "jw": ("jav", "jav"), "su": ("sun", "sun"), "haw": ("haw", "haw"), "yue": ("zho", "chi"),
}  # fmt: skip
_BY_THREE = {code: pair for pair in _ISO639_2.values() for code in pair}

# Containers by FFmpeg muxer name, the subtitle codecs each holds, and the file extension.
_CONTAINERS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "mp4": ("mp4", ("mov_text",), ".mp4"),
    "mkv": ("matroska", ("srt", "ass"), ".mkv"),
}

# The minimal ASS header FFmpeg's text subtitle encoders parse styles from.
_ASS_HEADER = """[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288
ScaledBorderAndShadow: yes

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, \
Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""

# mov_text stores each cue's text behind a 16-bit byte count.
_MOV_TEXT_MAX_BYTES = 65535


def subtitle_language_tag(language: str, container: str) -> str:
    """The ISO 639-2 tag a container wants for a language (`zh` → `zho` in MP4, `chi` in MKV).

    Args:
        language: a Whisper code (`en`, `zh`), a regional tag (`zh-TW`) or an ISO 639-2
            code (`eng`, `chi`, `zho`); empty or `und` for undetermined.
        container: `mp4` or `mkv`.

    Raises:
        ConfigurationError: a code the container cannot tag a track with.
    """
    base = language.strip().lower().replace("_", "-").split("-", 1)[0]
    if base in ("", "und"):
        return "und"
    pair = _ISO639_2.get(base) or _BY_THREE.get(base)
    if pair is None:
        raise ConfigurationError(
            f"the {container} container cannot tag a subtitle track with language "
            f"{language!r}: it takes ISO 639-2 codes",
            hint="pass --subtitle-language with a code such as en, eng, zh, chi or und",
        )
    return pair[0] if container == "mp4" else pair[1]


def _target(source_format: str, name: str, options: MediaOptions) -> str:
    if options.video_container != "auto":
        return options.video_container
    formats = set(source_format.split(","))
    if formats & {"mov", "mp4", "m4a", "3gp"}:
        return "mp4"
    if formats & {"matroska", "webm"}:
        return "mkv"
    raise ConfigurationError(
        f"{name} is a {source_format} file, which cannot hold a subtitle track",
        hint="pass a video (mp4, mkv, webm...); --video-container mkv writes a Matroska copy "
        "of any input; -f srt,vtt writes subtitle files",
    )


def _codec(container: str, options: MediaOptions) -> str:
    allowed = _CONTAINERS[container][1]
    codec = allowed[0] if options.subtitle_codec == "auto" else options.subtitle_codec
    if codec not in allowed:
        raise ConfigurationError(
            f"the {container} container cannot hold {codec} subtitles "
            f"(it takes {', '.join(allowed)})",
            hint="use --subtitle-codec auto, or --video-container mkv for srt or ass",
        )
    return codec


def _ass_text(text: str) -> str:
    # Braces start ASS override blocks and would swallow the text; backslashes start tags.
    clean = "".join(c for c in text if c == "\n" or c >= " ")
    clean = clean.replace("\\", "\u29f5").replace("{", "\uff5b").replace("}", "\uff5d")
    return "\\N".join(line.strip() for line in clean.splitlines())


def _open_input(source: str | os.PathLike[str]) -> InputContainer:
    name = os.fspath(source)
    if "://" not in name and not Path(name).is_file():
        raise MediaNotFoundError(f"no such file: {name}", hint="check the path")
    try:
        container = av.open(name)
    except av.FFmpegError as exc:
        raise AudioDecodeError(
            f"{name} is not a media file PyAV can read ({exc.strerror or type(exc).__name__})",
            hint="pass a video file (mp4, mkv, webm, mov...)",
        ) from exc
    if not isinstance(container, av.container.InputContainer):
        raise AudioDecodeError(f"{name} opened for writing", hint="pass a readable input")
    return container


def check_embeddable(source: str | os.PathLike[str], options: MediaOptions) -> None:
    """Fail before recognition when `embed_subtitles` could not write a copy of `source`.

    Raises:
        ConfigurationError: its container, the codec or the language cannot work together.
        AudioDecodeError: not media.
    """
    inp = _open_input(source)
    try:
        container = _target(inp.format.name, os.fspath(source), options)
        _codec(container, options)
        if options.subtitle_language is not None:
            subtitle_language_tag(options.subtitle_language, container)
    finally:
        inp.close()


def embed_subtitles(
    source: str | os.PathLike[str],
    transcript: Transcript,
    output: str | os.PathLike[str],
    *,
    options: MediaOptions | None = None,
    layout: OutputOptions | None = None,
) -> Path:
    """Write a copy of `source` with `transcript` as a soft subtitle track, atomically.

    Args:
        source: a video (or audio) file or URL PyAV can read.
        transcript: the cues' text and times.
        output: the file to write, without extension; `.mp4` or `.mkv` is added.
        options: `video_container`, `subtitle_codec`, `subtitle_language`.
        layout: line width and count of the cues, as for SRT (karaoke highlighting is not
            carried into the track).

    Returns:
        The path written.

    Raises:
        MediaNotFoundError: `source` does not exist.
        AudioDecodeError: `source` is not media, or has neither audio nor video.
        ConfigurationError: a container, codec or language that cannot work together.
        OutputError: the copy cannot be written.
    """
    opts = options or MediaOptions()
    name = os.fspath(source)
    inp = _open_input(source)
    try:
        streams = [s for s in inp.streams if s.type in ("video", "audio")]
        if not streams:
            raise AudioDecodeError(
                f"{name} has no audio or video track", hint="pass the video that was transcribed"
            )
        container = _target(inp.format.name, name, opts)
        codec = _codec(container, opts)
        language = subtitle_language_tag(
            opts.subtitle_language if opts.subtitle_language is not None else transcript.language,
            container,
        )
        cues = build_cues(
            transcript, dataclasses.replace(layout or OutputOptions(), highlight_words=False)
        )
        texts = [_ass_text(c.text) for c in cues]
        if codec == "mov_text":
            for cue, text in zip(cues, texts, strict=True):
                if len(text.encode("utf-8")) > _MOV_TEXT_MAX_BYTES:
                    raise ConfigurationError(
                        f"a cue at {cue.start_ms / 1000:.1f} s is too long for mov_text "
                        f"(over {_MOV_TEXT_MAX_BYTES} bytes)",
                        hint="set --max-line-width, or --video-container mkv",
                    )
        muxer, _codecs, extension = _CONTAINERS[container]
        target = Path(os.fspath(output) + extension)
        return _remux(inp, name, streams, target, muxer, codec, language, cues, texts)
    finally:
        inp.close()


@contextlib.contextmanager
def media_written_atomically(target: Path) -> Iterator[Path]:
    """A temporary file beside `target` to write media into, renamed onto it at the end.

    The block writes the file whose path it is given; when the block ends without an error the
    file becomes `target` (mode 644), otherwise it is removed. FFmpeg and file system errors,
    from the block or the rename, become `OutputError`; other errors pass unchanged.

    Raises:
        OutputError: the folder cannot be written, or writing the file failed.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        raise OutputError(
            f"cannot write to {target.parent}: {exc.strerror or exc}",
            hint="choose a writable folder with --output-dir",
        ) from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except av.FFmpegError as exc:
        raise OutputError(
            f"cannot write {target}: {exc.strerror or exc}",
            hint="check free disk space, or try --video-container mkv",
        ) from exc
    except OSError as exc:
        raise OutputError(
            f"cannot write {target}: {exc.strerror or exc}", hint="check free disk space"
        ) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def copy_streams(
    out: OutputContainer, streams: Sequence[av.stream.Stream], muxer: str, name: str
) -> dict[int, Any]:
    """Add a copy of each of `streams` to `out` (no re-encoding), by source stream index.

    Raises:
        ConfigurationError: the container cannot hold one of the tracks as it is.
    """
    copies: dict[int, Any] = {}
    for stream in streams:
        try:
            copies[stream.index] = out.add_stream_from_template(stream)
        except ValueError as exc:
            raise ConfigurationError(
                f"the {muxer} container cannot hold the {stream.codec_context.name} "
                f"{stream.type} track of {name} without re-encoding",
                hint="use --video-container mkv (Matroska holds almost any codec)",
            ) from exc
    return copies


def _remux(
    inp: InputContainer,
    name: str,
    streams: list[av.stream.Stream],
    target: Path,
    muxer: str,
    codec: str,
    language: str,
    cues: list[Cue],
    texts: list[str],
) -> Path:
    with media_written_atomically(target) as tmp, av.open(str(tmp), "w", format=muxer) as out:
        mapping = copy_streams(out, streams, muxer, name)
        sub: SubtitleStream = out.add_stream(codec)
        sub.codec_context.subtitle_header = _ASS_HEADER.encode("utf-8")
        sub.metadata["language"] = language
        out.start_encoding()  # fixes every stream's time base before the first cue
        pending = list(enumerate(zip(cues, texts, strict=True)))
        for packet in inp.demux(*streams):
            if packet.dts is None:  # demuxer flush packets
                continue
            at = float(packet.dts * packet.time_base) if packet.time_base else 0.0
            while pending and pending[0][1][0].start_ms / 1000 <= at:
                number, (cue, text) = pending.pop(0)
                _mux_cue(out, sub, number, cue, text)
            packet.stream = mapping[packet.stream_index]
            out.mux(packet)
        for number, (cue, text) in pending:
            _mux_cue(out, sub, number, cue, text)
    return target


def _mux_cue(out: OutputContainer, sub: SubtitleStream, number: int, cue: Cue, text: str) -> None:
    time_base = sub.time_base
    if time_base is None:  # set by the muxer once the header is written
        raise OutputError("the subtitle stream has no time base", hint="try --video-container mkv")
    start = round(cue.start_ms / 1000 / time_base)
    duration = max(1, round((cue.end_ms - cue.start_ms) / 1000 / time_base))
    # ReadOrder, Layer, Style, Name, MarginL, MarginR, MarginV, Effect, Text (ASS events).
    dialogue = f"{number},0,Default,,0,0,0,,{text}".encode()
    subset = av.subtitles.subtitle.SubtitleSet.create(dialogue, 0, duration, start)
    packet: Packet[SubtitleStream] = sub.codec_context.encode_subtitle(subset)
    packet.stream = sub
    packet.pts = packet.dts = start
    packet.duration = duration
    out.mux(packet)
