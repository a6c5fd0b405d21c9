"""The transformers engine on the imported embedded models: exact agreement with faster-whisper,
long input, Hugging Face folders.

What every local Whisper engine must do is in test_local_whisper_contract.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import yuyin
from yuyin.engines import load_engine
from yuyin.engines.base import Engine
from yuyin.engines.transformers import TransformersEngine, load_transformers_engine
from yuyin.text import convert_script
from yuyin.types import is_cjk

EN_MAX_WER = 0.15
ZH_MAX_CER = 0.30
GREEDY: dict[str, Any] = {"beam_size": 1, "temperature": (0.0,)}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_en() -> TransformersEngine:
    return load_transformers_engine("tiny.en")


@pytest.fixture(scope="module")
def base() -> TransformersEngine:
    return load_transformers_engine("base")


def test_the_engine_fits_the_protocol(tiny_en):
    engine: Engine = tiny_en
    assert engine.name == "transformers"
    assert engine.model_name == "tiny.en"
    assert not engine.multilingual
    assert load_transformers_engine("tiny.en") is tiny_en  # one instance per process


@pytest.mark.parametrize("model", ["tiny.en", "base"])
def test_same_transcript_as_faster_whisper_on_the_same_weights(model, data_dir, wer):
    ours = yuyin.transcribe(data_dir / "en.wav", engine=load_transformers_engine(model), **GREEDY)
    reference_engine = load_engine(yuyin.ModelOptions(model=model, compute_type="float32"))
    theirs = yuyin.transcribe(data_dir / "en.wav", engine=reference_engine, **GREEDY)
    assert wer(theirs.text, ours.text) == 0, (ours.text, theirs.text)


def test_mandarin_in_traditional_script_with_a_time_for_every_character(
    base, data_dir, fixtures, cer, check_transcript
):
    t = yuyin.transcribe(data_dir / "zh.wav", engine=base, language="zh-TW")
    assert t.language == "zh"
    assert cer(fixtures["zh.wav"]["text"], t.text) <= ZH_MAX_CER
    assert convert_script(t.text, "traditional") == t.text
    check_transcript(t)
    cjk = [c for c in t.text if is_cjk(c) and c.isalnum()]
    timed = "".join(w.word for w in t.words)
    assert all(c in timed for c in cjk)
    assert len(t.words) >= len(cjk) // 2

    reference_engine = load_engine(yuyin.ModelOptions(model="base", compute_type="float32"))
    theirs = yuyin.transcribe(data_dir / "zh.wav", engine=reference_engine, **GREEDY)
    ours = yuyin.transcribe(data_dir / "zh.wav", engine=base, **GREEDY)
    assert ours.language == theirs.language == "zh"
    assert abs(ours.language_probability - theirs.language_probability) < 0.05
    assert cer(theirs.text, ours.text) == 0, (ours.text, theirs.text)


def test_long_input_uses_sequential_windows_and_vad(
    tiny_en, data_dir, fixtures, wer, check_transcript
):
    long, _ = yuyin.decode_audio(data_dir / "en_long.wav")
    short, _ = yuyin.decode_audio(data_dir / "en.wav")
    silence = np.zeros(3 * 16000, dtype=np.float32)
    audio = np.concatenate([long, silence, short, short])  # 34.5 s: past one 30 s window
    texts = [fixtures[name]["text"] for name in ("en_long.wav", "en.wav", "en.wav")]
    reference = " ".join(texts)
    for vad in (False, True):
        t = yuyin.transcribe(audio, engine=tiny_en, vad=vad, **GREEDY)
        assert wer(reference, t.text) <= EN_MAX_WER, (vad, t.text)
        assert t.segments[-1].end > 30.0
        check_transcript(t)


def test_loads_a_hugging_face_folder_directly(tiny_en):
    engine = load_transformers_engine(str(tiny_en.path), shared=False)
    assert engine is not tiny_en
    assert engine.model_name == str(tiny_en.path)
    assert engine.path == tiny_en.path


@pytest.mark.slow
def test_engine_flag_selects_transformers(data_dir, tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "yuyin", "transcribe", str(data_dir / "en.wav"), "--engine",
         "transformers", "-m", "tiny.en", "-o", str(tmp_path), "-f", "txt", "-q"],
        capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "morning" in (tmp_path / "en.txt").read_text().lower()
    # transformers' notice about its own Whisper generate call is not the user's business.
    assert b"deprecated" not in result.stderr, result.stderr
