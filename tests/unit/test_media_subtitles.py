"""Subtitles embedded into a copy of a video, read back with PyAV (no model)."""

from __future__ import annotations

from fractions import Fraction

import av
import pytest

from yuyin.errors import AudioDecodeError, ConfigurationError, MediaNotFoundError, OutputError
from yuyin.media import MediaOptions, embed_subtitles, subtitle_language_tag
from yuyin.media.subtitles import media_written_atomically
from yuyin.types import Segment, Transcript

TRANSCRIPT = Transcript(
    (
        Segment(0.25, 1.5, " Hello {there}, world."),
        Segment(2.0, 3.75, " 我們一起去公園。"),
        Segment(4.0, 5.2, " Line one\nline two"),
    ),
    "zh",
    5.4,
)
EXPECTED = [
    (0.25, 1.5, "Hello ｛there｝, world."),
    (2.0, 3.75, "我們一起去公園。"),
    (4.0, 5.2, "Line one\nline two"),
]


def read_track(path):
    """Cues of the first subtitle track (start, end, text) and its codec and language."""
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        video = container.streams.video[0] if container.streams.video else None
        # Matroska shifts every track by the audio's encoder delay; cues move with it.
        offset = Fraction(video.start_time * video.time_base) if video else Fraction(0)
        cues = []
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            subtitles = stream.decode2(packet)
            for rect in subtitles or ():  # mov_text fills gaps with empty samples
                start = float(packet.pts * stream.time_base - offset)
                end = start + float(packet.duration * stream.time_base)
                text = rect.dialogue.decode("utf-8")
                if text:
                    cues.append((round(start, 3), round(end, 3), text))
        return stream.codec_context.name, stream.metadata.get("language"), cues


def packet_counts(path):
    with av.open(str(path)) as container:
        counts: dict[str, int] = {}
        for packet in container.demux():
            if packet.size:
                kind = packet.stream.type
                counts[kind] = counts.get(kind, 0) + 1
        codecs = {s.type: s.codec_context.name for s in container.streams}
        return counts, codecs


@pytest.mark.parametrize(
    ("options", "suffix", "codec", "language"),
    [
        (MediaOptions(), ".mp4", "mov_text", "zho"),
        (MediaOptions(video_container="mkv"), ".mkv", "subrip", "chi"),
        (MediaOptions(video_container="mkv", subtitle_codec="ass"), ".mkv", "ass", "chi"),
    ],
)
def test_embedded_track_reads_back_with_its_cues(
    data_dir, tmp_path, options, suffix, codec, language
):
    out = embed_subtitles(data_dir / "video.mp4", TRANSCRIPT, tmp_path / "clip", options=options)
    assert out == tmp_path / f"clip{suffix}"
    name, tag, cues = read_track(out)
    assert name in (
        codec,
        "ssa" if codec == "ass" else codec,
        "srt" if codec == "subrip" else codec,
    )
    assert tag == language
    assert len(cues) == len(EXPECTED)
    for (start, end, text), (want_start, want_end, want_text) in zip(cues, EXPECTED, strict=True):
        assert start == pytest.approx(want_start, abs=0.002)
        assert end == pytest.approx(want_end, abs=0.002)
        assert text == want_text
    # Audio and video are copied packet for packet, not re-encoded.
    original, original_codecs = packet_counts(data_dir / "video.mp4")
    copied, copied_codecs = packet_counts(out)
    assert copied["video"] == original["video"]
    assert copied["audio"] == original["audio"]
    assert copied_codecs["video"] == original_codecs["video"] == "h264"
    assert copied_codecs["audio"] == original_codecs["audio"]
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"


def test_language_override_and_codes():
    assert subtitle_language_tag("en", "mp4") == "eng"
    assert subtitle_language_tag("zh-TW", "mp4") == "zho"
    assert subtitle_language_tag("zh-TW", "mkv") == "chi"
    assert subtitle_language_tag("ger", "mp4") == "deu"
    assert subtitle_language_tag("", "mkv") == "und"


def test_language_the_container_cannot_tag(data_dir, tmp_path):
    with pytest.raises(ConfigurationError, match="ISO 639-2") as info:
        embed_subtitles(
            data_dir / "video.mp4",
            TRANSCRIPT,
            tmp_path / "clip",
            options=MediaOptions(subtitle_language="klingon"),
        )
    assert "--subtitle-language" in info.value.hint
    assert list(tmp_path.iterdir()) == []


def test_codec_the_container_cannot_hold(data_dir, tmp_path):
    with pytest.raises(ConfigurationError, match="mp4 container cannot hold ass") as info:
        embed_subtitles(
            data_dir / "video.mp4",
            TRANSCRIPT,
            tmp_path / "clip",
            options=MediaOptions(subtitle_codec="ass"),
        )
    assert "--video-container mkv" in info.value.hint


def test_wav_cannot_hold_subtitles_unless_copied_to_matroska(data_dir, tmp_path):
    with pytest.raises(ConfigurationError, match="cannot hold a subtitle track") as info:
        embed_subtitles(data_dir / "en.wav", TRANSCRIPT, tmp_path / "clip")
    assert "--video-container mkv" in info.value.hint
    out = embed_subtitles(
        data_dir / "en.wav",
        TRANSCRIPT,
        tmp_path / "clip",
        options=MediaOptions(video_container="mkv"),
    )
    assert read_track(out)[2][1][2] == "我們一起去公園。"


def test_bad_sources(data_dir, tmp_path):
    with pytest.raises(MediaNotFoundError):
        embed_subtitles(tmp_path / "missing.mp4", TRANSCRIPT, tmp_path / "x")
    with pytest.raises(AudioDecodeError, match="not a media file"):
        embed_subtitles(data_dir / "not_audio.wav", TRANSCRIPT, tmp_path / "x")


def write_then_raise(target, error: Exception | None) -> None:
    with media_written_atomically(target) as tmp:
        tmp.write_bytes(b"half")
        if error is not None:
            raise error


def test_media_is_written_atomically_or_not_at_all(tmp_path):
    target = tmp_path / "out" / "clip.mp4"
    with media_written_atomically(target) as tmp:
        assert tmp.parent == target.parent
        tmp.write_bytes(b"video")
    assert target.read_bytes() == b"video"
    assert target.stat().st_mode & 0o777 == 0o644
    broken = tmp_path / "out" / "broken.mp4"
    with pytest.raises(OutputError, match="cannot write") as info:
        write_then_raise(broken, av.FFmpegError(28, "No space left on device"))
    assert "--video-container mkv" in info.value.hint
    with pytest.raises(ConfigurationError):  # the caller's own errors pass unchanged
        write_then_raise(broken, ConfigurationError("no", hint="fix it"))
    assert sorted(p.name for p in target.parent.iterdir()) == ["clip.mp4"]  # no leftovers
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="cannot write to") as info:
        write_then_raise(tmp_path / "file" / "clip.mp4", None)
    assert "--output-dir" in info.value.hint
