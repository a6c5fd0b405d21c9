"""The whisper.cpp engine on the embedded models, exported from CTranslate2 to ggml (issue 13)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("_pywhispercpp")
pytest.importorskip("torch")
pytest.importorskip("transformers")

import yuyin
from yuyin.engines import load_engine
from yuyin.engines.base import Engine
from yuyin.engines.whispercpp import WhisperCppEngine, load_whispercpp_engine
from yuyin.text import convert_script
from yuyin.types import is_cjk

EN_MAX_WER = 0.15
ZH_MAX_CER = 0.30
# Against CTranslate2 on the same weights: whisper.cpp's own decoder and f16/q8_0 weights
# may move punctuation, the words must stay.
CT2_MAX_WER = 0.05
GREEDY: dict[str, Any] = {"beam_size": 1, "temperature": (0.0,)}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_en() -> WhisperCppEngine:
    return load_whispercpp_engine("tiny.en", cpu_threads=2)


def test_the_engine_fits_the_protocol_and_the_registry(tiny_en):
    engine: Engine = tiny_en
    assert engine.name == "whisper.cpp"
    assert engine.model_name == "tiny.en"
    assert not engine.multilingual
    assert tiny_en.threads == 2
    # ... and every decode hands them to whisper_full (language detection uses them too).
    assert tiny_en._params("en", yuyin.TranscribeOptions()).n_threads == 2
    assert tiny_en.path.name == "ggml-model-f16.bin"
    assert (tiny_en.device, tiny_en.compute_type) == ("cpu", "f16")  # read from the model
    assert load_whispercpp_engine("tiny.en", cpu_threads=2) is tiny_en
    options = yuyin.ModelOptions(engine="whisper.cpp", model="tiny.en", cpu_threads=2)
    assert load_engine(options) is tiny_en


def test_english_is_accurate_with_words_inside_segments(
    tiny_en, data_dir, fixtures, wer, check_transcript, ct2_text
):
    t = yuyin.transcribe(data_dir / "en.wav", engine=tiny_en, **GREEDY)
    assert wer(fixtures["en.wav"]["text"], t.text) <= EN_MAX_WER, t.text
    assert wer(ct2_text, t.text) <= CT2_MAX_WER, (t.text, ct2_text)
    assert t.language == "en"
    assert t.model == "tiny.en"
    check_transcript(t)
    assert t.segments
    assert all(s.words for s in t.segments)
    assert "".join(w.word for w in t.words).strip() == " ".join(s.text.strip() for s in t.segments)
    # Token times are real times, not all zero: the words spread over the speech.
    assert t.words[-1].end - t.words[0].start > 0.5 * t.duration


@pytest.mark.parametrize(("compute_type", "max_wer"), [("int8", CT2_MAX_WER), ("q4_0", 0.2)])
def test_quantised_exports_load_and_transcribe(compute_type, max_wer, data_dir, wer, ct2_text):
    engine = load_whispercpp_engine("tiny.en", compute_type=compute_type, shared=False)
    assert engine.path.name == f"ggml-model-{'q8_0' if compute_type == 'int8' else 'q4_0'}.bin"
    assert engine.compute_type == ("q8_0" if compute_type == "int8" else "q4_0")
    t = yuyin.transcribe(data_dir / "en.wav", engine=engine, word_timestamps=False, **GREEDY)
    assert wer(ct2_text, t.text) <= max_wer, (t.text, ct2_text)


def test_vad_gating_keeps_times_relative_to_the_input(tiny_en, data_dir, fixtures, wer):
    speech, _ = yuyin.decode_audio(data_dir / "en.wav")
    audio = np.concatenate([np.zeros(4 * 16000, dtype=np.float32), speech])
    t = yuyin.transcribe(audio, engine=tiny_en, vad=True, word_timestamps=False, **GREEDY)
    assert wer(fixtures["en.wav"]["text"], t.text) <= EN_MAX_WER, t.text
    assert 3.0 <= t.segments[0].start <= 5.0  # Silero pads speech by 0.4 s


def test_english_only_model_refuses_chinese_and_hotwords_and_silence_is_empty(tiny_en, data_dir):
    with pytest.raises(yuyin.ConfigurationError, match="English-only"):
        yuyin.transcribe(data_dir / "zh.wav", engine=tiny_en, language="zh-TW")
    with pytest.raises(yuyin.ConfigurationError, match="hotwords"):
        yuyin.transcribe(data_dir / "en.wav", engine=tiny_en, hotwords="yuyin")
    assert yuyin.transcribe(data_dir / "silence.wav", engine=tiny_en, vad=True).segments == ()


def test_broken_files_and_bad_options_fail_clearly(tiny_en, tmp_path, data_dir):
    cut = tmp_path / "cut.bin"
    cut.write_bytes(Path(tiny_en.path).read_bytes()[:20_000_000])
    with pytest.raises(yuyin.ModelError, match="incomplete"):
        load_whispercpp_engine(str(cut), shared=False)
    with pytest.raises(yuyin.ModelError, match=r"not a whisper\.cpp ggml model"):
        load_whispercpp_engine(str(data_dir / "en.wav"), shared=False)
    with pytest.raises(yuyin.ConfigurationError, match="CPU only"):
        load_whispercpp_engine("tiny.en", device="cuda")
    with pytest.raises(yuyin.ConfigurationError, match="compute type"):
        load_whispercpp_engine("tiny.en", compute_type="int8_float16")


def test_a_missing_extra_names_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "_pywhispercpp" else real(name, *a),
    )
    with pytest.raises(yuyin.MissingDependencyError) as caught:
        load_whispercpp_engine("tiny.en")
    assert caught.value.extra == "whispercpp"


def test_mandarin_in_traditional_script_and_detected_language(data_dir, fixtures, cer):
    base = load_whispercpp_engine("base", cpu_threads=2)
    assert base.multilingual
    assert "zh" in base.languages
    assert "yue" not in base.languages
    with pytest.raises(yuyin.ConfigurationError, match="no language"):
        base.check("yue", yuyin.TranscribeOptions())
    t = yuyin.transcribe(data_dir / "zh.wav", engine=base, language="zh-TW", **GREEDY)
    assert t.language == "zh"
    assert cer(fixtures["zh.wav"]["text"], t.text) <= ZH_MAX_CER, t.text
    assert convert_script(t.text, "traditional") == t.text
    timed = "".join(w.word for w in t.words)
    assert all(c in timed for c in t.text if is_cjk(c) and c.isalnum())
    detected = yuyin.transcribe(data_dir / "zh.wav", engine=base, word_timestamps=False, **GREEDY)
    assert detected.language == "zh"
    assert detected.language_probability > 0.5
