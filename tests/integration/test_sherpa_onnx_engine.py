"""sherpa-onnx on the embedded tiny.en and base, exported to ONNX by yuyin: accuracy,
invariants, errors; and the user's own Zipformer transducer and Paraformer folders.

The export runs once per cache (the first test pays for it, later runs reuse it); every
English transcript is checked against the known text and against faster-whisper
(CTranslate2) on the same weights.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
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
from yuyin.text import convert_script
from yuyin.types import is_cjk

EN_MAX_WER = 0.15
ZH_MAX_CER = 0.30
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


def test_multilingual_base_mandarin_given_and_detected(data_dir, fixtures, cer, check_transcript):
    # The multilingual export: language tokens in the metadata, one recognizer per language.
    base = load_sherpa_engine("base")
    assert base.multilingual
    assert {"en", "zh"} <= set(base.languages)
    with pytest.raises(ConfigurationError, match="no language"):
        base.check("xx", yuyin.TranscribeOptions())
    t = yuyin.transcribe(data_dir / "zh.wav", engine=base, language="zh-TW", **GREEDY)
    assert t.language == "zh"
    assert cer(fixtures["zh.wav"]["text"], t.text) <= ZH_MAX_CER, t.text
    assert convert_script(t.text, "traditional") == t.text
    check_transcript(t)
    # One character per word, every character of the text timed.
    assert all(sum(is_cjk(c) for c in w.word) <= 1 for w in t.words)
    timed = "".join(w.word for w in t.words)
    assert all(c in timed for c in t.text if is_cjk(c) and c.isalnum())
    detected = yuyin.transcribe(data_dir / "zh.wav", engine=base, word_timestamps=False, **GREEDY)
    assert detected.language == "zh"
    assert cer(fixtures["zh.wav"]["text"], detected.text) <= ZH_MAX_CER, detected.text


# --- the user's own Zipformer transducer and Paraformer folders --------------------------------
# No such model can be downloaded here, so these are tiny random ones built with onnx.helper
# in the layout and with the metadata sherpa-onnx reads: they prove that yuyin hands each kind
# to the right sherpa-onnx recognizer and maps what comes back, not that they recognise speech.

_FEATURES = 80  # sherpa-onnx's fbank bins
_TRANSDUCER_TOKENS = ["<blk>", "▁the", "▁a", "b", "▁c", "d"]
_PARAFORMER_TOKENS = ["<blank>", "<s>", "</s>", "我", "們", "去", "<unk>"]


def _save_onnx(graph: Any, path: Path, metadata: Mapping[str, object]) -> None:
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8  # what the bundled onnxruntime reads
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _write_tokens(path: Path, tokens: list[str]) -> None:
    path.write_text("".join(f"{t} {i}\n" for i, t in enumerate(tokens)), encoding="utf-8")


def make_transducer(folder: Path, *, metadata: bool = True, seed: int = 0) -> Path:
    """encoder (x, x_lens) -> every 4th frame projected; decoder (y) -> mean of embeddings;
    joiner (encoder_out, decoder_out) -> logits over the tokens."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    width, vocab, context = 8, len(_TRANSDUCER_TOKENS), 2

    def const(name: str, value: Any) -> Any:
        return numpy_helper.from_array(np.asarray(value), name)

    folder.mkdir(parents=True, exist_ok=True)
    encoder = helper.make_graph(
        [
            helper.make_node("Slice", ["x", "zero", "big", "one", "four"], ["every_4th"]),
            helper.make_node("MatMul", ["every_4th", "w"], ["encoder_out"]),
            helper.make_node("Add", ["x_lens", "three"], ["rounded"]),
            helper.make_node("Div", ["rounded", "four"], ["encoder_out_lens"]),
        ],
        "encoder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "T", _FEATURES]),
         helper.make_tensor_value_info("x_lens", TensorProto.INT64, ["N"])],
        [helper.make_tensor_value_info("encoder_out", TensorProto.FLOAT, ["N", "T4", width]),
         helper.make_tensor_value_info("encoder_out_lens", TensorProto.INT64, ["N"])],
        [const("w", rng.standard_normal((_FEATURES, width)).astype(np.float32)),
         const("zero", np.array([0], np.int64)), const("big", np.array([2**62], np.int64)),
         const("one", np.array([1], np.int64)), const("four", np.array([4], np.int64)),
         const("three", np.array(3, np.int64))],
    )  # fmt: skip
    _save_onnx(encoder, folder / "encoder-epoch-99-avg-1.onnx", {})
    decoder = helper.make_graph(
        [helper.make_node("Gather", ["embedding", "y"], ["embedded"]),
         helper.make_node("ReduceMean", ["embedded", "axis"], ["decoder_out"], keepdims=0)],
        "decoder",
        [helper.make_tensor_value_info("y", TensorProto.INT64, ["N", context])],
        [helper.make_tensor_value_info("decoder_out", TensorProto.FLOAT, ["N", width])],
        [const("embedding", rng.standard_normal((vocab, width)).astype(np.float32)),
         const("axis", np.array([1], np.int64))],
    )  # fmt: skip
    keys = {"vocab_size": vocab, "context_size": context} if metadata else {}
    _save_onnx(decoder, folder / "decoder-epoch-99-avg-1.onnx", keys)
    joiner = helper.make_graph(
        [helper.make_node("Add", ["encoder_out", "decoder_out"], ["summed"]),
         helper.make_node("Tanh", ["summed"], ["squashed"]),
         helper.make_node("MatMul", ["squashed", "w"], ["logit"])],
        "joiner",
        [helper.make_tensor_value_info("encoder_out", TensorProto.FLOAT, ["N", width]),
         helper.make_tensor_value_info("decoder_out", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["N", vocab])],
        [const("w", rng.standard_normal((width, vocab)).astype(np.float32))],
    )  # fmt: skip
    _save_onnx(joiner, folder / "joiner-epoch-99-avg-1.onnx", {})
    _write_tokens(folder / "tokens.txt", _TRANSDUCER_TOKENS)
    return folder


def make_paraformer(folder: Path, *, metadata: bool = True, end_token: bool = True) -> Path:
    """model (speech, speech_lengths) -> logits of each low-frame-rate frame, token_num."""
    from onnx import TensorProto, helper, numpy_helper

    window, vocab = 7, len(_PARAFORMER_TOKENS)
    width = _FEATURES * window
    weights = np.random.default_rng(0).standard_normal((width, vocab)).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["speech", "w"], ["logits"]),
         helper.make_node("Cast", ["speech_lengths"], ["token_num"], to=TensorProto.INT64)],
        "paraformer",
        [helper.make_tensor_value_info("speech", TensorProto.FLOAT, ["N", "T", width]),
         helper.make_tensor_value_info("speech_lengths", TensorProto.INT32, ["N"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", "T", vocab]),
         helper.make_tensor_value_info("token_num", TensorProto.INT64, ["N"])],
        [numpy_helper.from_array(weights * 0.01, "w")],
    )  # fmt: skip
    keys: dict[str, object] = {
        "vocab_size": vocab, "lfr_window_size": window, "lfr_window_shift": 6,
        "neg_mean": ",".join(["0"] * width), "inv_stddev": ",".join(["1"] * width),
    }  # fmt: skip
    _save_onnx(graph, folder / "model.onnx", keys if metadata else {})
    tokens = [t for t in _PARAFORMER_TOKENS if end_token or t != "</s>"]
    _write_tokens(folder / "tokens.txt", tokens)
    return folder


def test_a_zipformer_transducer_folder_runs(tmp_path, data_dir, check_transcript):
    engine = load_sherpa_engine(str(make_transducer(tmp_path / "zipformer")), shared=False)
    assert engine.kind == "transducer"
    assert engine.model.files["joiner"].name == "joiner-epoch-99-avg-1.onnx"
    assert (engine.device, engine.compute_type) == ("cpu", "float32")
    assert not engine.multilingual
    t = yuyin.transcribe(data_dir / "en.wav", engine=engine, vad=False)
    check_transcript(t)
    assert t.segments
    assert t.words  # token times from the transducer's frames
    # Words are the tokens' text, "▁" turned into the space that opens a word.
    letters = set("".join(_TRANSDUCER_TOKENS[1:]).replace("▁", ""))
    assert all(w.word.startswith(" ") and set(w.word.strip()) <= letters for w in t.words)
    assert " ".join(w.word.strip() for w in t.words) == t.text
    with pytest.raises(ConfigurationError, match="cannot translate"):
        engine.check(None, yuyin.TranscribeOptions(task="translate"))


def test_a_paraformer_folder_runs(tmp_path, data_dir, check_transcript):
    engine = load_sherpa_engine(str(make_paraformer(tmp_path / "paraformer")), shared=False)
    assert engine.kind == "paraformer"
    t = yuyin.transcribe(data_dir / "zh.wav", engine=engine, vad=False)
    check_transcript(t)
    assert t.segments
    assert t.text.strip()
    assert set(t.text.replace("<unk>", "").replace(" ", "")) <= set("我們去")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda f: make_transducer(f, metadata=False),
         r"decoder-epoch-99-avg-1\.onnx lacks the metadata sherpa-onnx reads for a transducer "
         r"model: vocab_size, context_size"),
        (lambda f: make_paraformer(f, metadata=False),
         r"model\.onnx lacks the metadata sherpa-onnx reads for a paraformer model: "
         r"vocab_size, lfr_window_size, lfr_window_shift, neg_mean, inv_stddev"),
        (lambda f: make_paraformer(f, end_token=False), r"tokens\.txt has no </s> token"),
    ],
)  # fmt: skip
def test_what_would_end_sherpa_onnx_is_refused_with_the_file_and_reason(
    tmp_path, data_dir, make, message
):
    # sherpa-onnx ends the whole process on these (exit 255, no Python error): the CLI in a
    # subprocess shows that yuyin refuses them first, with exit 4 and the reason.
    folder = make(tmp_path / "model")
    result = subprocess.run(
        [sys.executable, "-m", "yuyin", "transcribe", str(data_dir / "en.wav"),
         "--engine", "sherpa-onnx", "-m", str(folder), "-o", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr
