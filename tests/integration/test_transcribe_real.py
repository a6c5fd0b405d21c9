"""The real embedded models on generated speech: accuracy bounds and timestamp invariants."""

from __future__ import annotations

import numpy as np
import pytest

import yuyin
from yuyin.engines import load_engine
from yuyin.text import convert_script
from yuyin.types import is_cjk

# Bounds leave room for robotic espeak-ng speech; fixtures.jsonl's texts were chosen so
# both models read them back nearly perfectly (see tests/data/README.md).
EN_MAX_WER = 0.15
ZH_MAX_CER = 0.30


@pytest.fixture(scope="module")
def tiny_en() -> yuyin.engines.Engine:
    return load_engine(yuyin.ModelOptions(model="tiny.en"))


@pytest.fixture(scope="module")
def base() -> yuyin.engines.Engine:
    return load_engine(yuyin.ModelOptions(model="base"))


@pytest.mark.parametrize("model", ["tiny_en", "base"])
def test_english_fixture_is_transcribed_accurately(
    model, request, data_dir, fixtures, wer, check_transcript
):
    engine = request.getfixturevalue(model)
    t = yuyin.transcribe(data_dir / "en.wav", engine=engine)
    assert wer(fixtures["en.wav"]["text"], t.text) <= EN_MAX_WER, t.text
    assert t.language == "en"
    check_transcript(t)
    assert all(s.words for s in t.segments), "word timestamps are on by default"


def test_long_english_keeps_invariants_over_several_segments(
    base, data_dir, fixtures, wer, check_transcript
):
    t = yuyin.transcribe(data_dir / "en_long.wav", engine=base, language="en")
    assert len(t.segments) >= 2
    assert wer(fixtures["en_long.wav"]["text"], t.text) <= EN_MAX_WER, t.text
    check_transcript(t)


def test_mandarin_in_traditional_script_with_a_time_for_every_character(
    base, data_dir, fixtures, cer, check_transcript
):
    t = yuyin.transcribe(data_dir / "zh.wav", engine=base, language="zh-TW")
    assert t.language == "zh"
    assert cer(fixtures["zh.wav"]["text"], t.text) <= ZH_MAX_CER, t.text
    # Traditional output: converting it again changes nothing.
    assert convert_script(t.text, "traditional") == t.text
    check_transcript(t)
    cjk_chars = [c for c in t.text if is_cjk(c) and c.isalnum()]
    timed = "".join(w.word for w in t.words)
    assert all(c in timed for c in cjk_chars)
    assert len(t.words) >= len(cjk_chars) // 2  # words are single or paired characters


def test_mandarin_is_detected_without_a_language(base, data_dir):
    t = yuyin.transcribe(data_dir / "zh.wav", engine=base)
    assert t.language == "zh"
    assert t.language_probability > 0.5


def test_zh_cn_gives_simplified(base, data_dir):
    t = yuyin.transcribe(data_dir / "zh.wav", engine=base, language="zh-CN")
    assert convert_script(t.text, "simplified") == t.text


@pytest.mark.parametrize(
    "name", ["en.flac", "en.mp3", "en.ogg", "en.m4a", "en.webm", "en_stereo_44k.wav", "video.mp4"]
)
def test_every_container_gives_the_same_words(tiny_en, data_dir, fixtures, name, wer):
    t = yuyin.transcribe(data_dir / name, engine=tiny_en)
    assert wer(fixtures[name]["text"], t.text) <= EN_MAX_WER, (name, t.text)
    assert abs(t.duration - fixtures[name]["duration"]) < 0.2


@pytest.mark.parametrize("name", ["silence.wav", "noise.wav", "hum.wav"])
@pytest.mark.parametrize("model", ["tiny_en", "base"])
def test_no_speech_gives_an_empty_transcript(model, request, data_dir, name):
    t = yuyin.transcribe(data_dir / name, engine=request.getfixturevalue(model))
    assert t.segments == ()
    assert t.text == ""


@pytest.mark.parametrize("name", ["silence.wav", "noise.wav"])
def test_no_speech_is_empty_even_when_vad_gates_everything(base, data_dir, name):
    t = yuyin.transcribe(data_dir / name, engine=base, vad=True)
    assert t.text == ""


def test_batched_inference_matches_sequential(base, data_dir, fixtures, wer, check_transcript):
    seq = yuyin.transcribe(data_dir / "en_long.wav", engine=base, language="en")
    batched = yuyin.transcribe(data_dir / "en_long.wav", engine=base, language="en", batch_size=4)
    assert wer(fixtures["en_long.wav"]["text"], batched.text) <= EN_MAX_WER, batched.text
    assert wer(seq.text, batched.text) <= 0.1
    check_transcript(batched)


def test_translate_to_english(base, data_dir):
    t = yuyin.transcribe(data_dir / "zh.wav", engine=base, task="translate", language="zh")
    assert t.text
    assert not any(is_cjk(c) for c in t.text), t.text


def test_english_only_model_refuses_chinese_early(tiny_en, data_dir):
    with pytest.raises(yuyin.ConfigurationError, match="English-only") as info:
        yuyin.transcribe(data_dir / "zh.wav", engine=tiny_en, language="zh-TW")
    assert "--model base" in info.value.hint


def test_models_are_loaded_once_per_process():
    a = load_engine(yuyin.ModelOptions(model="tiny.en"))
    b = load_engine(yuyin.ModelOptions(model="tiny.en"))
    c = load_engine(yuyin.ModelOptions(model="tiny.en", compute_type="float32"))
    assert a is b
    assert a is not c


def test_array_input_matches_file_input(tiny_en, data_dir):
    audio, _ = yuyin.decode_audio(data_dir / "en.wav")
    from_array = yuyin.transcribe(audio, engine=tiny_en)
    from_file = yuyin.transcribe(data_dir / "en.wav", engine=tiny_en)
    assert from_array.text == from_file.text
    assert np.isclose(from_array.duration, from_file.duration)
