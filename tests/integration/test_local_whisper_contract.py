"""One contract for the Whisper engines on other runtimes (transformers, openai-whisper,
whisper.cpp): the same embedded weights must give the same kind of Transcript as
faster-whisper does. What only one engine does is tested in its own module."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import yuyin
from yuyin.engines.local_whisper import LocalWhisperEngine
from yuyin.text import convert_script
from yuyin.types import is_cjk

EN_MAX_WER = 0.15
ZH_MAX_CER = 0.30
# Against CTranslate2 on the same weights: the runtimes' decoders differ in details (a beam of
# one is not always greedy search, f16 weights, punctuation), the words must not.
CT2_MAX_WER = 0.05
GREEDY: dict[str, Any] = {"beam_size": 1, "temperature": (0.0,)}

pytestmark = pytest.mark.slow


def _transformers(model: str) -> LocalWhisperEngine:
    from yuyin.engines.transformers import load_transformers_engine

    return load_transformers_engine(model)


def _openai_whisper(model: str) -> LocalWhisperEngine:
    from yuyin.engines.openai_whisper import load_openai_whisper_engine

    return load_openai_whisper_engine(model)


def _whispercpp(model: str) -> LocalWhisperEngine:
    from yuyin.engines.whispercpp import load_whispercpp_engine

    return load_whispercpp_engine(model, cpu_threads=2)


# engine name -> (modules it needs, loader)
_ENGINES: dict[str, tuple[tuple[str, ...], Callable[[str], LocalWhisperEngine]]] = {
    "transformers": (("torch", "transformers"), _transformers),
    "openai-whisper": (("torch", "transformers", "whisper"), _openai_whisper),
    "whisper.cpp": (("_pywhispercpp", "torch", "transformers"), _whispercpp),
}


@pytest.fixture(scope="module", params=list(_ENGINES))
def load(request: pytest.FixtureRequest) -> Callable[[str], LocalWhisperEngine]:
    """`load(model)`: the engine under test with that model (one instance per process)."""
    needs, loader = _ENGINES[request.param]
    missing = [m for m in needs if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{request.param} needs {', '.join(missing)}")
    return loader


def test_english_is_accurate_with_words_inside_segments(
    load, data_dir, fixtures, wer, check_transcript, ct2_text
):
    engine = load("tiny.en")
    assert not engine.multilingual
    t = yuyin.transcribe(data_dir / "en.wav", engine=engine, **GREEDY)
    assert wer(fixtures["en.wav"]["text"], t.text) <= EN_MAX_WER, t.text
    assert wer(ct2_text, t.text) <= CT2_MAX_WER, (t.text, ct2_text)
    assert t.language == "en"
    assert t.model == "tiny.en"
    check_transcript(t)
    assert t.segments
    assert all(s.words for s in t.segments)
    assert "".join(w.word for w in t.words).strip() == " ".join(s.text.strip() for s in t.segments)
    assert all(0.0 < w.probability <= 1.0 for w in t.words)
    # Word times are real times, not all zero: the words spread over the speech.
    assert t.words[-1].end - t.words[0].start > 0.5 * t.duration


def test_vad_gating_keeps_times_relative_to_the_input(load, data_dir, fixtures, wer):
    speech, _ = yuyin.decode_audio(data_dir / "en.wav")
    audio = np.concatenate([np.zeros(4 * 16000, dtype=np.float32), speech])
    engine = load("tiny.en")
    t = yuyin.transcribe(audio, engine=engine, vad=True, word_timestamps=False, **GREEDY)
    assert wer(fixtures["en.wav"]["text"], t.text) <= EN_MAX_WER, t.text
    assert 3.0 <= t.segments[0].start <= 5.0  # Silero pads speech by 0.4 s
    assert t.segments[-1].end <= t.duration
    assert t.words == ()  # none asked for


def test_english_only_model_refuses_chinese_and_hotwords_and_silence_is_empty(load, data_dir):
    engine = load("tiny.en")
    with pytest.raises(yuyin.ConfigurationError, match="English-only"):
        yuyin.transcribe(data_dir / "zh.wav", engine=engine, language="zh-TW")
    with pytest.raises(yuyin.ConfigurationError, match="hotwords"):
        yuyin.transcribe(data_dir / "en.wav", engine=engine, hotwords="yuyin")
    assert yuyin.transcribe(data_dir / "silence.wav", engine=engine, vad=True).segments == ()


def test_mandarin_in_traditional_script_and_detected_language(
    load, data_dir, fixtures, cer, check_transcript
):
    base = load("base")
    assert base.multilingual
    assert "zh" in base.languages
    with pytest.raises(yuyin.ConfigurationError, match="no language"):
        base.check("xx", yuyin.TranscribeOptions())
    t = yuyin.transcribe(data_dir / "zh.wav", engine=base, language="zh-TW", **GREEDY)
    assert t.language == "zh"
    assert cer(fixtures["zh.wav"]["text"], t.text) <= ZH_MAX_CER, t.text
    assert convert_script(t.text, "traditional") == t.text
    check_transcript(t)
    cjk = [c for c in t.text if is_cjk(c) and c.isalnum()]
    timed = "".join(w.word for w in t.words)
    assert all(c in timed for c in cjk)
    detected = yuyin.transcribe(data_dir / "zh.wav", engine=base, word_timestamps=False, **GREEDY)
    assert detected.language == "zh"
    assert detected.language_probability > 0.5
