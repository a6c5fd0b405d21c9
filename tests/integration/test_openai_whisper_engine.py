"""The openai-whisper engine on the embedded models, exported from CTranslate2 (issue 13).

What every local Whisper engine must do is in test_local_whisper_contract.py.
"""

from __future__ import annotations

import importlib.util

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("whisper")

import yuyin
from yuyin.engines import load_engine
from yuyin.engines.base import Engine
from yuyin.engines.openai_whisper import OpenAIWhisperEngine, load_openai_whisper_engine

EN_MAX_WER = 0.15
# Against CTranslate2 on the same weights: the decoders differ in details (openai-whisper's
# beam of one is not greedy search, punctuation may differ), the words must not.
CT2_MAX_WER = 0.05

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_en() -> OpenAIWhisperEngine:
    return load_openai_whisper_engine("tiny.en")


def test_the_export_loads_with_whisper_load_model_and_agrees_with_ctranslate2(
    tiny_en, data_dir, fixtures, wer, ct2_text
):
    import whisper  # type: ignore[import-untyped]

    assert tiny_en.path.name == "model.pt"
    model = whisper.load_model(str(tiny_en.path), device="cpu")  # the format's own loader
    audio, _ = yuyin.decode_audio(data_dir / "en.wav")
    text = model.transcribe(audio, fp16=False, temperature=0.0, language="en")["text"]
    assert wer(fixtures["en.wav"]["text"], text) <= EN_MAX_WER, text
    assert wer(ct2_text, text) <= CT2_MAX_WER, (text, ct2_text)


def test_the_engine_fits_the_protocol_and_the_registry(tiny_en):
    engine: Engine = tiny_en
    assert engine.name == "openai-whisper"
    assert engine.model_name == "tiny.en"
    assert not engine.multilingual
    assert (tiny_en.device, tiny_en.compute_type) == ("cpu", "float32")
    assert load_openai_whisper_engine("tiny.en") is tiny_en  # one instance per process
    options = yuyin.ModelOptions(engine="openai-whisper", model="tiny.en", device="cpu")
    assert load_engine(options) is tiny_en


def test_a_checkpoint_that_will_not_load_says_which_file_and_why(tiny_en, tmp_path):
    import torch

    def refusal(name: str, content: bytes | object) -> str:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            torch.save(content, path)
        with pytest.raises(yuyin.ModelError) as info:
            load_openai_whisper_engine(str(path), shared=False)
        message = str(info.value)
        assert message.startswith(f"cannot load the openai-whisper checkpoint {path}: "), message
        assert "re-export" in info.value.hint
        return message

    assert "not a PyTorch checkpoint file" in refusal("junk.pt", b"not a torch checkpoint")
    whole = tiny_en.path.read_bytes()
    assert "truncated or damaged" in refusal("cut.pt", whole[: len(whole) // 2])
    assert "has no 'dims' or 'model_state_dict'" in refusal("other.pt", {"weights": 1})
    assert "more than tensors" in refusal("module.pt", torch.nn.Linear(2, 2))  # never unpickled
    checkpoint = torch.load(tiny_en.path, weights_only=True)
    state = dict(checkpoint["model_state_dict"])
    del state["decoder.ln.weight"]
    unfit = refusal("unfit.pt", {**checkpoint, "model_state_dict": state})
    assert "weights do not fit its 'dims'" in unfit
    assert "decoder.ln.weight" in unfit
    # A folder is looked into for model.pt.
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "model.pt").write_bytes(b"junk")
    with pytest.raises(yuyin.ModelError, match=r"folder/model\.pt: it is not a PyTorch"):
        load_openai_whisper_engine(str(tmp_path / "folder"), shared=False)


def test_a_missing_extra_names_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "whisper" else real(name, *a)
    )
    with pytest.raises(yuyin.MissingDependencyError) as caught:
        load_openai_whisper_engine("tiny.en")
    assert caught.value.extra == "openai-whisper"
    assert "yuyin[openai-whisper]" in caught.value.hint
