"""The offline pipeline around an engine: options, VAD decisions, filtering, scripts, files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import yuyin
from yuyin.errors import ConfigurationError, MediaNotFoundError, OutputError
from yuyin.options import OutputOptions, TranscribeOptions
from yuyin.transcribe import transcribe, transcribe_files
from yuyin.types import Segment, Word

SECOND = 16000


def seg(start: float, end: float, text: str, *, no_speech: float = 0.0, words=()) -> Segment:
    return Segment(start, end, text, tuple(words), no_speech_prob=no_speech)


def test_keywords_override_option_fields(fake_engine):
    engine = fake_engine([seg(0, 1, " hi")])
    out = transcribe(
        np.zeros(SECOND, np.float32), engine=engine, vad=False, beam_size=1, language="en"
    )
    call = engine.calls[0]
    assert call["options"].beam_size == 1
    assert call["language"] == "en"
    assert out.text == "hi"
    assert out.model == "fake-model"


def test_unknown_keyword_is_a_configuration_error(fake_engine):
    with pytest.raises(ConfigurationError, match="beamsize"):
        transcribe(np.zeros(10, np.float32), engine=fake_engine([]), beamsize=3)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"task": "summarise"}, "task"),
        ({"beam_size": 0}, "beam-size"),
        ({"temperature": (1.5,)}, "temperature"),
        ({"temperature": ()}, "temperature"),
        ({"batch_size": -1}, "batch-size"),
        ({"batch_size": 8, "vad": False}, "batch"),
        ({"language": "klingon"}, "unknown language"),
        ({"zh_script": "cursive"}, "script"),
    ],
)
def test_bad_options_are_rejected_before_decoding(fake_engine, overrides, match):
    engine = fake_engine([])
    with pytest.raises(ConfigurationError, match=match) as info:
        transcribe(np.zeros(SECOND, np.float32), engine=engine, **overrides)
    assert info.value.hint
    assert engine.calls == []


def test_unknown_language_hint_lists_valid_codes(fake_engine):
    with pytest.raises(ConfigurationError) as info:
        transcribe(np.zeros(10, np.float32), engine=fake_engine([]), language="xx")
    assert "zh-TW" in info.value.hint
    assert "en" in info.value.hint.split(", ")


def test_silence_short_circuits_without_decoding(fake_engine):
    engine = fake_engine([seg(0, 2, " Thank you for watching!")])
    out = transcribe(np.zeros(3 * SECOND, np.float32), engine=engine)
    assert out.segments == ()
    assert out.text == ""
    assert engine.calls == []
    assert out.duration == pytest.approx(3.0)


def test_long_inputs_are_vad_gated_by_default(fake_engine):
    engine = fake_engine([])
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(31 * SECOND) * 0.01).astype(np.float32)
    transcribe(noise, engine=engine)
    assert engine.calls[0]["vad"] is True


def test_explicit_vad_off_decodes_even_silence(fake_engine):
    engine = fake_engine([])
    transcribe(np.zeros(SECOND, np.float32), engine=engine, vad=False)
    assert engine.calls[0]["vad"] is False


def test_phantom_lines_are_dropped_unless_kept(fake_engine):
    segments = [
        seg(0, 2, " Hello there."),
        seg(2, 4, " 字幕由 Amara.org 社群提供"),
        seg(4, 5, " Thank you.", no_speech=0.8),
        seg(5, 6, " Thank you."),
    ]
    audio = np.zeros(6 * SECOND, np.float32)
    kept = transcribe(audio, engine=fake_engine(segments), vad=False)
    assert [s.text.strip() for s in kept.segments] == ["Hello there.", "Thank you."]
    assert [s.id for s in kept.segments] == [0, 1]
    everything = transcribe(
        audio, engine=fake_engine(segments), vad=False, keep_hallucinations=True
    )
    assert len(everything.segments) == 4


def test_zh_tw_converts_text_and_words_to_traditional(fake_engine):
    words = [Word(0.0, 0.3, "软"), Word(0.3, 0.6, "件"), Word(0.6, 0.9, "很"), Word(0.9, 1.2, "好")]
    engine = fake_engine([seg(0, 1.2, "软件很好", words=words)], language="zh")
    out = transcribe(np.zeros(2 * SECOND, np.float32), engine=engine, vad=False, language="zh-TW")
    assert engine.calls[0]["language"] == "zh"
    assert out.text == "軟體很好"  # s2twp: Taiwan phrasing, not just characters
    assert "".join(w.word for w in out.segments[0].words) == "軟體很好"
    assert [w.start for w in out.segments[0].words] == [0.0, 0.3, 0.6, 0.9]


def test_zh_cn_converts_to_simplified(fake_engine):
    engine = fake_engine([seg(0, 1, "軟體很好")], language="zh")
    out = transcribe(np.zeros(SECOND, np.float32), engine=engine, vad=False, language="zh-CN")
    assert out.text == "软件很好"


def test_times_are_clamped_to_the_audio_and_words_to_their_segment(fake_engine):
    words = [Word(-0.1, 0.5, " a"), Word(0.5, 2.4, " b")]
    engine = fake_engine([seg(-0.2, 2.5, " a b", words=words)])
    out = transcribe(np.zeros(2 * SECOND, np.float32), engine=engine, vad=False)
    (s,) = out.segments
    assert (s.start, s.end) == (0.0, 2.0)
    assert all(s.start <= w.start <= w.end <= s.end for w in s.words)


def test_empty_segments_are_skipped(fake_engine):
    engine = fake_engine([seg(0, 1, "  "), seg(1, 2, " ok")])
    out = transcribe(np.zeros(2 * SECOND, np.float32), engine=engine, vad=False)
    assert [s.text for s in out.segments] == [" ok"]


def test_on_segment_sees_each_kept_segment_in_order(fake_engine):
    seen: list[float] = []
    engine = fake_engine([seg(0, 1, " one"), seg(1, 2, " two")])
    transcribe(
        np.zeros(2 * SECOND, np.float32),
        engine=engine,
        vad=False,
        on_segment=lambda s: seen.append(s.end),
    )
    assert seen == [1.0, 2.0]


# --- many files ----------------------------------------------------------------------------


def _write_tone(path: Path, seconds: float = 1.0) -> None:
    import wave

    t = np.arange(int(seconds * SECOND)) / SECOND
    pcm = (np.sin(2 * np.pi * 220 * t) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SECOND)
        w.writeframes(pcm.tobytes())


def test_one_bad_file_does_not_cost_the_others(tmp_path, fake_engine):
    good1, good2 = tmp_path / "a.wav", tmp_path / "c.wav"
    _write_tone(good1)
    _write_tone(good2)
    bad = tmp_path / "b.wav"
    bad.write_text("not audio at all\n")
    engine = fake_engine([seg(0, 1, " hello")])
    results = transcribe_files(
        [str(good1), str(bad), str(good2)],
        engine=engine,
        options=TranscribeOptions(vad=False),
        output=OutputOptions(output_format=("txt", "json"), output_dir=str(tmp_path / "out")),
    )
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, yuyin.AudioDecodeError)
    assert "b.wav" in results[1].error.message
    assert (tmp_path / "out" / "a.txt").read_text() == "hello\n"
    data = json.loads((tmp_path / "out" / "c.json").read_text())
    assert data["segments"][0]["text"] == "hello"
    assert not (tmp_path / "out" / "b.txt").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a.json",
        "a.txt",
        "c.json",
        "c.txt",
    ]


def test_same_stem_in_two_folders_never_collides(tmp_path, fake_engine):
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        _write_tone(tmp_path / folder / "talk.wav")
    results = transcribe_files(
        [str(tmp_path)],
        engine=fake_engine([seg(0, 1, " hi")]),
        options=TranscribeOptions(vad=False),
        output=OutputOptions(output_format=("txt",), output_dir=str(tmp_path / "out")),
    )
    paths = [r.outputs["txt"] for r in results]
    assert len(set(paths)) == 2
    assert all(Path(p).is_file() for p in paths)


def test_outputs_default_beside_the_input(tmp_path, fake_engine):
    _write_tone(tmp_path / "talk.wav")
    (result,) = transcribe_files(
        [str(tmp_path / "talk.wav")],
        engine=fake_engine([seg(0, 1, " hi")]),
        options=TranscribeOptions(vad=False),
        output=OutputOptions(output_format=("srt",)),
    )
    assert result.outputs == {"srt": str(tmp_path / "talk.srt")}


def test_missing_input_fails_before_any_work(tmp_path, fake_engine):
    engine = fake_engine([])
    with pytest.raises(MediaNotFoundError, match=r"nope\.wav"):
        transcribe_files([str(tmp_path / "nope.wav")], engine=engine)
    assert engine.calls == []


def test_output_under_a_regular_file_is_an_output_error(tmp_path, fake_engine):
    # Works as root too: a folder cannot be created beneath a regular file.
    _write_tone(tmp_path / "a.wav")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    (result,) = transcribe_files(
        [str(tmp_path / "a.wav")],
        engine=fake_engine([seg(0, 1, " hi")]),
        options=TranscribeOptions(vad=False),
        output=OutputOptions(output_format=("txt",), output_dir=str(blocker / "out")),
    )
    assert isinstance(result.error, OutputError)
    assert result.error.hint


def test_vad_gating_follows_the_switch_then_length_and_batching():
    from yuyin.options import TranscribeOptions

    auto = TranscribeOptions()
    assert not auto.gates_with_vad(auto.vad_min_duration - 0.1)
    assert auto.gates_with_vad(auto.vad_min_duration)
    assert TranscribeOptions(batch_size=4).gates_with_vad(1.0)  # batches are cut by VAD
    assert TranscribeOptions(vad=True).gates_with_vad(1.0)
    assert not TranscribeOptions(vad=False).gates_with_vad(3600.0)
