"""sherpa-onnx on the embedded tiny.en, exported to ONNX by yuyin: accuracy, invariants, errors.

The export runs once per cache (the first test pays for it, later runs reuse it); every
transcript is checked against the known text and against faster-whisper (CTranslate2) on
the same weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sherpa_onnx")
pytest.importorskip("torch")
pytest.importorskip("onnx")

import onnx

import yuyin
from yuyin.engines import load_engine
from yuyin.engines.sherpa_onnx import SherpaOnnxEngine, load_sherpa_engine
from yuyin.errors import ConfigurationError, ModelError

EN_MAX_WER = 0.15
GREEDY: dict[str, Any] = {"beam_size": 1, "temperature": (0.0,)}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_en() -> SherpaOnnxEngine:
    engine = load_engine(yuyin.ModelOptions(model="tiny.en", engine="sherpa-onnx"))
    assert isinstance(engine, SherpaOnnxEngine)
    return engine


def test_export_has_the_layout_sherpa_onnx_reads(tiny_en):
    files = tiny_en.model.files
    assert tiny_en.kind == "whisper"
    assert {p.name for p in files.values()} == {"encoder.onnx", "decoder.onnx", "tokens.txt"}
    encoder = onnx.load(str(files["encoder"]))
    meta = {p.key: p.value for p in encoder.metadata_props}
    assert meta["n_text_layer"] == "4"
    assert meta["n_vocab"] == "51864"
    assert meta["sot_sequence"] == meta["sot"] == "50257"
    assert meta["is_multilingual"] == "0"
    assert int(meta["n_alignment_heads"]) > 0
    assert [i.name for i in encoder.graph.input] == ["mel"]
    assert [o.name for o in encoder.graph.output] == ["n_layer_cross_k", "n_layer_cross_v"]
    decoder = onnx.load(str(files["decoder"]), load_external_data=False)
    assert [i.name for i in decoder.graph.input] == [
        "tokens", "in_n_layer_self_k_cache", "in_n_layer_self_v_cache",
        "n_layer_cross_k", "n_layer_cross_v", "offset",
    ]  # fmt: skip
    assert len(decoder.graph.output) == 4  # logits, two caches, alignment-head attention
    lines = files["tokens"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 50256  # the byte-level BPE tokens, no specials
    assert lines[0].split() == ["IQ==", "0"]  # "!"


def test_english_matches_the_text_and_ctranslate2(
    tiny_en, data_dir, fixtures, wer, check_transcript, ct2_text
):
    ours = yuyin.transcribe(data_dir / "en.wav", engine=tiny_en, **GREEDY)
    assert wer(fixtures["en.wav"]["text"], ours.text) <= EN_MAX_WER, ours.text
    assert wer(ct2_text, ours.text) <= 0.05, (ours.text, ct2_text)
    assert ours.language == "en"
    assert ours.model == "tiny.en"
    check_transcript(ours)
    assert all(s.words for s in ours.segments)
    words = " ".join(w.word.strip() for w in ours.words)
    assert words == " ".join(s.text.strip() for s in ours.segments)
    # Word times come from the alignment heads: spread over the speech, not all at 0.
    assert ours.words[-1].start > ours.duration / 2


def test_input_longer_than_30_s_is_cut_into_pieces(
    tiny_en, data_dir, fixtures, wer, check_transcript
):
    long, _ = yuyin.decode_audio(data_dir / "en_long.wav")
    short, _ = yuyin.decode_audio(data_dir / "en.wav")
    audio = np.concatenate([long, np.zeros(3 * 16000, np.float32), short, short])
    reference = " ".join(fixtures[n]["text"] for n in ("en_long.wav", "en.wav", "en.wav"))
    t = yuyin.transcribe(audio, engine=tiny_en, vad=False, **GREEDY)
    assert wer(reference, t.text) <= EN_MAX_WER, t.text
    assert t.segments[-1].end > 30.0
    check_transcript(t)


def test_a_sherpa_style_whisper_folder_loads_as_given(tiny_en, tmp_path, data_dir, fixtures, wer):
    # sherpa-onnx's own downloads name files <model>-encoder.onnx, <model>-tokens.txt, ...
    for role, path in tiny_en.model.files.items():
        suffix = "tokens.txt" if role == "tokens" else f"{role}.onnx"
        (tmp_path / f"tiny.en-{suffix}").symlink_to(path)
    (tmp_path / "tiny.en-encoder.int8.onnx").write_bytes(b"not used: float comes first")
    engine = load_sherpa_engine(str(tmp_path), shared=False)
    assert engine.kind == "whisper"
    assert engine.model.files["encoder"].name == "tiny.en-encoder.onnx"
    t = yuyin.transcribe(data_dir / "en.wav", engine=engine)
    assert wer(fixtures["en.wav"]["text"], t.text) <= EN_MAX_WER


def test_requests_the_model_cannot_serve(tiny_en, data_dir):
    with pytest.raises(ConfigurationError, match="English-only"):
        yuyin.transcribe(data_dir / "zh.wav", engine=tiny_en, language="zh")
    with pytest.raises(ConfigurationError, match="hotwords"):
        yuyin.transcribe(data_dir / "en.wav", engine=tiny_en, hotwords="yuyin")
    with pytest.raises(ConfigurationError, match="CPU"):
        load_engine(yuyin.ModelOptions(model="tiny.en", engine="sherpa-onnx", device="cuda"))


def test_silence_gives_an_empty_transcript(tiny_en, data_dir):
    assert yuyin.transcribe(data_dir / "silence.wav", engine=tiny_en, vad=True).segments == ()


def test_a_whisper_encoder_without_metadata_is_refused_before_sherpa_sees_it(tmp_path, tiny_en):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["mel"], ["out"])],
        "bare",
        [helper.make_tensor_value_info("mel", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "encoder.onnx"))
    shutil.copy(tiny_en.model.files["tokens"], tmp_path / "tokens.txt")
    (tmp_path / "decoder.onnx").write_bytes(b"")
    with pytest.raises(ModelError, match="lacks the Whisper metadata") as info:
        load_sherpa_engine(str(tmp_path), shared=False)
    assert "n_text_layer" in str(info.value)
    assert "export" in info.value.hint


def test_a_folder_missing_a_file_lists_what_is_expected(tmp_path):
    (tmp_path / "encoder-epoch-99.onnx").write_bytes(b"")
    (tmp_path / "decoder-epoch-99.onnx").write_bytes(b"")
    (tmp_path / "joiner-epoch-99.onnx").write_bytes(b"")
    with pytest.raises(ModelError, match="transducer model but lacks its tokens") as info:
        load_sherpa_engine(str(tmp_path), shared=False)
    assert "*joiner*.onnx" in info.value.hint
    assert Path(tmp_path).is_dir()
