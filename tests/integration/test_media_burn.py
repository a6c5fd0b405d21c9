"""--burn-in for real: subtitles drawn into tests/data/video.mp4, read back frame by frame."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from yuyin.errors import ConfigurationError, InputError
from yuyin.media import MediaOptions, burn, burn_subtitles, check_burnable
from yuyin.media.burn import choose_font, missing_glyphs
from yuyin.types import Segment, Transcript

ENGLISH = (0.5, 2.0)
CHINESE = (3.0, 4.5)
TRANSCRIPT = Transcript(
    (Segment(*ENGLISH, " Hi"), Segment(*CHINESE, " 我們一起去公園。")), "zh", 5.6
)


def frames(path: Path) -> list[tuple[float, np.ndarray]]:
    """Every video frame as (time in seconds, RGB pixels)."""
    with av.open(str(path)) as container:
        return [(float(f.time), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


def audio_packets(path: Path) -> list[tuple[int | None, str]]:
    with av.open(str(path)) as container:
        return [
            (packet.duration, hashlib.sha1(bytes(packet)).hexdigest())
            for packet in container.demux(audio=0)
            if packet.size
        ]


def differ(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two pictures, 0-255."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def inside(t: float, span: tuple[float, float]) -> bool:
    return span[0] + 0.1 < t < span[1] - 0.1


def check_copy(source: Path, copy: Path, spans: list[tuple[float, float]]) -> None:
    """`copy` is `source` with something drawn in the bottom band during `spans` only."""
    with av.open(str(source)) as a, av.open(str(copy)) as b:
        assert abs(a.duration - b.duration) / 1e6 <= 0.1
        va, vb = a.streams.video[0], b.streams.video[0]
        assert (vb.codec_context.width, vb.codec_context.height) == (
            va.codec_context.width,
            va.codec_context.height,
        )
        assert vb.codec_context.name == "h264"
        assert vb.codec_context.pix_fmt == "yuv420p"
        assert len(b.streams.audio) == len(a.streams.audio) == 1
    assert audio_packets(copy) == audio_packets(source)  # copied, not re-encoded
    before, after = frames(source), frames(copy)
    assert [round(t, 3) for t, _ in after] == [round(t, 3) for t, _ in before]
    height = before[0][1].shape[0]
    seen = 0
    for (t, old), (_, new) in zip(before, after, strict=True):
        assert differ(old[: height // 2], new[: height // 2]) < 1.5, t  # above the band
        if any(inside(t, span) for span in spans):
            assert differ(old[height // 2 :], new[height // 2 :]) > 10, t
            seen += 1
        elif all(t < s - 0.1 or t > e + 0.1 for s, e in spans):
            assert differ(old, new) < 1.5, t
    assert seen >= len(spans)


@pytest.fixture(scope="module")
def burned(data_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("burn")
    progress: list[float] = []
    out = burn_subtitles(
        data_dir / "video.mp4",
        TRANSCRIPT,
        folder / "clip.burned",
        on_progress=lambda done, total: progress.append(done),
    )
    assert progress == sorted(progress)
    assert progress[-1] > 5
    return out


def test_burned_copy_has_the_cues_in_the_picture_and_the_audio_untouched(data_dir, burned):
    assert burned.name == "clip.burned.mp4"
    assert not list(burned.parent.glob(".*.tmp")), "no temporary file left"
    check_copy(data_dir / "video.mp4", burned, [ENGLISH, CHINESE])


def character_cells_differ(picture: np.ndarray, count: int) -> float:
    """How unlike each other the `count` character cells of a one-line caption are (0: some
    two are the same, as every empty 'tofu' box a font draws for a missing glyph is)."""
    white = picture.min(axis=2) > 200
    rows, cols = np.flatnonzero(white.any(axis=1)), np.flatnonzero(white.any(axis=0))
    box = white[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    cells = np.array_split(box, count, axis=1)
    width = min(cell.shape[1] for cell in cells)
    cells = [cell[:, :width] for cell in cells]
    return min(float(np.abs(a - b).mean()) for i, a in enumerate(cells) for b in cells[i + 1 :])


def test_chinese_is_drawn_with_a_cjk_font(tmp_path):
    text = "我們一起去公園"
    try:
        font = choose_font([text])
    except ConfigurationError:
        pytest.skip("no CJK font installed")
    assert missing_glyphs(burn._load_font(font, 32), text) == []
    source = tmp_path / "grey.mp4"
    with av.open(str(source), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((360, 640, 3), 90, np.uint8), "rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    copy = burn_subtitles(source, Transcript((Segment(0.0, 1.0, text),), "zh", 1.0), tmp_path / "c")
    (_, picture), *_ = frames(copy)
    assert character_cells_differ(picture, len(text)) > 0.05  # tofu boxes: 0.0


def test_audio_only_input_is_refused_before_any_work(data_dir, tmp_path):
    with pytest.raises(InputError, match="--burn-in needs a video") as info:
        check_burnable(data_dir / "en.wav", MediaOptions(burn_in=True))
    assert info.value.hint
    with pytest.raises(InputError, match="no video track"):
        burn_subtitles(data_dir / "en.wav", TRANSCRIPT, tmp_path / "x")
    assert not list(tmp_path.iterdir())


def test_cjk_text_without_a_cjk_font_names_the_flag(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(burn, "FONT_SEARCH_PATHS", ())
    with pytest.raises(ConfigurationError) as info:
        burn_subtitles(data_dir / "video.mp4", TRANSCRIPT, tmp_path / "x")
    assert "--subtitle-font" in info.value.hint
    # The same is known before recognition when the language is asked for.
    with pytest.raises(ConfigurationError, match="font"):
        check_burnable(data_dir / "video.mp4", MediaOptions(burn_in=True), language="zh")
    check_burnable(data_dir / "video.mp4", MediaOptions(burn_in=True), language="en")
    assert not list(tmp_path.iterdir())


def yuyin(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "yuyin", "transcribe", *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        check=False,
    )


def test_cli_burns_and_embeds_side_by_side(data_dir, tmp_path):
    result = yuyin(
        str(data_dir / "video.mp4"), "-m", "tiny.en", "-l", "en", "--beam-size", "1",
        "--burn-in", "--embed-subtitles", "-f", "json", "-o", str(tmp_path), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    outputs = json.loads(result.stdout)["files"][0]["outputs"]
    assert Path(outputs["burned"]) == tmp_path / "video.burned.mp4"
    assert Path(outputs["video"]) == tmp_path / "video.subtitled.mp4"
    segments = json.loads(Path(outputs["json"]).read_text(encoding="utf-8"))["segments"]
    spans = [(s["start"], s["end"]) for s in segments if s["text"].strip()]
    assert spans
    check_copy(data_dir / "video.mp4", Path(outputs["burned"]), spans)


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (["{data}/en.wav"], None, 3, "--burn-in needs a video"),
        (["-"], "video.mp4", 2, "not standard input"),
        (["{data}/video.mp4", "--subtitle-font", "{data}/none.ttf"], None, 2, "no such file"),
    ],
)
def test_cli_bad_input(data_dir, tmp_path, args, stdin, code, message):
    filled = [a.format(data=data_dir) for a in args]
    data = (data_dir / stdin).read_bytes() if stdin else None
    result = yuyin(
        *filled, "--burn-in", "-m", "tiny.en", "-f", "txt", "-o", str(tmp_path), stdin=data
    )
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert message in stderr
    assert "\nhint: " in stderr
    assert "Traceback" not in stderr
    assert not list(tmp_path.iterdir()), "checked before recognition: nothing written"


def test_transcribe_files_reports_burn_in_progress(data_dir, tmp_path):
    from yuyin.options import ModelOptions, OutputOptions, TranscribeOptions
    from yuyin.transcribe import transcribe_files

    seen: list[tuple[float, float | None]] = []
    (result,) = transcribe_files(
        [str(data_dir / "video.mp4")],
        options=TranscribeOptions(language="en", beam_size=1, best_of=1),
        model_options=ModelOptions(model="tiny.en"),
        output=OutputOptions(output_dir=str(tmp_path), output_format=("srt",)),
        media=MediaOptions(burn_in=True),
        on_burn=lambda done, total: seen.append((done, total)),
    )
    assert result.ok
    assert Path(result.outputs["burned"]).is_file()
    assert seen
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)  # forward only
    assert seen[-1][1] == pytest.approx(5.6, abs=0.2)  # the video's length
    assert seen[-1][0] == pytest.approx(seen[-1][1], abs=0.2)
