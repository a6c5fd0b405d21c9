"""The whisper.cpp engine on the embedded models, exported from CTranslate2 to ggml (issue 13).

What every local Whisper engine must do is in test_local_whisper_contract.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("_pywhispercpp")
pytest.importorskip("torch")
pytest.importorskip("transformers")

import yuyin
from yuyin.engines import load_engine
from yuyin.engines.base import Engine
from yuyin.engines.whispercpp import WhisperCppEngine, load_whispercpp_engine

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


@pytest.mark.parametrize(("compute_type", "max_wer"), [("int8", CT2_MAX_WER), ("q4_0", 0.2)])
def test_quantised_exports_load_and_transcribe(compute_type, max_wer, data_dir, wer, ct2_text):
    engine = load_whispercpp_engine("tiny.en", compute_type=compute_type, shared=False)
    assert engine.path.name == f"ggml-model-{'q8_0' if compute_type == 'int8' else 'q4_0'}.bin"
    assert engine.compute_type == ("q8_0" if compute_type == "int8" else "q4_0")
    t = yuyin.transcribe(data_dir / "en.wav", engine=engine, word_timestamps=False, **GREEDY)
    assert wer(ct2_text, t.text) <= max_wer, (t.text, ct2_text)


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


def test_base_knows_the_languages_of_its_vocabulary():
    # whisper.cpp counts languages from the vocabulary: base predates Cantonese (yue).
    base = load_whispercpp_engine("base", cpu_threads=2)
    assert "zh" in base.languages
    assert "yue" not in base.languages
    with pytest.raises(yuyin.ConfigurationError, match="no language"):
        base.check("yue", yuyin.TranscribeOptions())
