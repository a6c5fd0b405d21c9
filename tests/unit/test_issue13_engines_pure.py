"""The pure parts of issue 13's sherpa-onnx engine, ONNX exporter, export dispatcher and
Gemini Live engine: no model, no network."""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from yuyin.cli import main
from yuyin.engines.gemini_live import TurnAssembler, options_from_environment
from yuyin.engines.sherpa_onnx import (
    MODEL_KINDS,
    find_sherpa_model,
    load_sherpa_engine,
    piece_segments,
)
from yuyin.errors import ConfigurationError, MissingDependencyError, ModelError, OutputError
from yuyin.train import exports
from yuyin.train.export_onnx import read_checkpoint_info, token_bytes, write_tokens


def touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"")


# --- sherpa-onnx model folders ----------------------------------------------------------------


def test_whisper_folder_prefers_float_files(tmp_path):
    touch(tmp_path, "tiny-encoder.int8.onnx", "tiny-encoder.onnx", "tiny-decoder.int8.onnx")
    touch(tmp_path, "tiny-tokens.txt")
    found = find_sherpa_model(tmp_path)
    assert found.kind == "whisper"
    assert found.files["encoder"].name == "tiny-encoder.onnx"
    assert found.files["decoder"].name == "tiny-decoder.int8.onnx"  # the only one there


def test_transducer_and_paraformer_folders(tmp_path):
    transducer = tmp_path / "zipformer"
    transducer.mkdir()
    touch(transducer, "encoder-epoch-99-avg-1.onnx", "decoder-epoch-99-avg-1.onnx")
    touch(transducer, "joiner-epoch-99-avg-1.onnx", "tokens.txt")
    assert find_sherpa_model(transducer).kind == "transducer"
    assert set(find_sherpa_model(transducer).files) == {"encoder", "decoder", "joiner", "tokens"}
    paraformer = tmp_path / "paraformer"
    paraformer.mkdir()
    touch(paraformer, "model.int8.onnx", "tokens.txt")
    found = find_sherpa_model(paraformer)
    assert found.kind == "paraformer"
    assert found.files["model"].name == "model.int8.onnx"


def test_missing_files_are_named(tmp_path):
    with pytest.raises(ModelError, match="holds no sherpa-onnx model") as info:
        find_sherpa_model(tmp_path)
    for expected in ("whisper", "transducer", "paraformer", "*tokens.txt"):
        assert expected in info.value.hint
    touch(tmp_path, "encoder.onnx", "tokens.txt")
    with pytest.raises(ModelError, match="whisper model but lacks its decoder"):
        find_sherpa_model(tmp_path)
    with pytest.raises(ModelError, match="no sherpa-onnx model folder"):
        find_sherpa_model(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("kind", "present", "lacking"),
    [
        ("whisper", ["tiny-decoder.onnx", "tiny-tokens.txt"], "encoder"),
        ("transducer", ["decoder-epoch-99.onnx", "joiner-epoch-99.onnx", "tokens.txt"], "encoder"),
        ("transducer", ["encoder.onnx", "decoder.onnx", "joiner.int8.onnx"], "tokens"),
        ("paraformer", ["model.int8.onnx"], "tokens"),
        ("paraformer", ["paraformer-zh.onnx"], "tokens"),
    ],
)
def test_each_kind_names_the_files_it_lacks_and_needs(tmp_path, kind, present, lacking):
    touch(tmp_path, *present)
    with pytest.raises(
        ModelError, match=f"sherpa-onnx {kind} model but lacks its {lacking}"
    ) as info:
        find_sherpa_model(tmp_path)
    assert info.value.hint == f"a {kind} model needs " + ", ".join(MODEL_KINDS[kind])


@pytest.mark.parametrize("files", [[], ["tokens.txt"], ["README.md", "tokens.txt"]])
def test_a_folder_without_onnx_files_is_taken_as_a_sherpa_folder(tmp_path, files):
    # Not "not a Whisper model" from the importer: the error lists what sherpa-onnx needs.
    pytest.importorskip("sherpa_onnx")
    touch(tmp_path, *files)
    with pytest.raises(ModelError, match="holds no sherpa-onnx model") as info:
        load_sherpa_engine(str(tmp_path), shared=False)
    for kind in MODEL_KINDS:
        assert kind in info.value.hint


def test_the_sherpa_onnx_engine_names_its_extra(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "sherpa_onnx" else real(name, *a),
    )
    with pytest.raises(MissingDependencyError) as info:
        load_sherpa_engine(str(tmp_path))
    assert info.value.extra == "sherpa-onnx"
    assert "yuyin[sherpa-onnx]" in info.value.hint


# --- results to segments -----------------------------------------------------------------------


def result(**fields):
    base = {
        "text": "",
        "tokens": [],
        "timestamps": [],
        "durations": [],
        "segment_texts": [],
        "segment_timestamps": [],
        "segment_durations": [],
    }
    return SimpleNamespace(**{**base, **fields})


def test_tokens_become_words_inside_their_segments():
    r = result(
        text=" I like it. Yes.",
        tokens=[" I", " like", " it", ".", " Yes", "."],
        timestamps=[0.0, 0.3, 0.6, 0.8, 1.5, 1.8],
        durations=[0.3, 0.3, 0.2, 0.1, 0.3, 0.1],
        segment_texts=[" I like it.", " Yes."],
        segment_timestamps=[0.0, 1.4],
        segment_durations=[1.0, 0.6],
    )
    first, second = piece_segments(r, 10.0, 15.0, "en", with_words=True)
    assert [w.word for w in first.words] == [" I", " like", " it."]
    assert [w.word for w in second.words] == [" Yes."]
    assert first.start == 10.0
    assert first.end == pytest.approx(10.9)  # the segment spans its words
    assert second.words[0].start == pytest.approx(11.5)
    assert (first.text, second.text) == (" I like it.", " Yes.")


def test_chinese_tokens_are_split_into_characters_with_punctuation_attached():
    r = result(
        text="我們去。",
        tokens=["我們", "去", "。"],
        timestamps=[0.0, 0.4, 0.6],
        durations=[0.4, 0.2, 0.1],
    )
    (segment,) = piece_segments(r, 0.0, 5.0, "zh", with_words=True)
    assert [w.word for w in segment.words] == ["我", "們", "去。"]
    assert segment.words[1].start == pytest.approx(0.2)
    assert segment.text == "我們去。"


def test_chinese_tokens_of_a_model_without_a_language_are_still_one_word_per_character():
    # A Paraformer (or transducer) result carries no language: the script decides.
    r = result(
        text="我們去 ok",
        tokens=["我們", "去", " ok"],
        timestamps=[0.0, 0.4, 0.6],
        durations=[0.4, 0.2, 0.2],
    )
    (segment,) = piece_segments(r, 0.0, 5.0, "", with_words=True)
    assert [w.word for w in segment.words] == ["我", "們", "去", " ok"]
    assert [w.start for w in segment.words] == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_without_timestamps_a_piece_is_one_segment_without_words():
    (segment,) = piece_segments(result(text="hello", tokens=["hello"]), 2.0, 4.0, "en", True)
    assert (segment.start, segment.end, segment.words) == (2.0, 4.0, ())


# --- the ONNX exporter's tables -----------------------------------------------------------------


def test_byte_level_tokens_decode_to_their_bytes(tmp_path):
    assert token_bytes("Ġthe") == b" the"
    assert token_bytes("åľº").decode("utf-8") == "场"
    assert token_bytes("Ċ") == b"\n"
    with pytest.raises(ModelError, match="byte-level"):
        token_bytes("我")
    write_tokens({0: b"!", 1: b"", 2: b" the"}, tmp_path / "tokens.txt")
    lines = (tmp_path / "tokens.txt").read_text(encoding="utf-8").splitlines()
    assert lines == ["IQ== 0", f"{base64.b64encode(b' the').decode()} 2"]


def _checkpoint(folder: Path, multilingual: bool) -> Path:
    specials = ["<|endoftext|>", "<|startoftranscript|>"]
    specials += ["<|en|>", "<|zh|>"] if multilingual else []
    specials += ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>"]
    specials += ["<|nospeech|>", "<|notimestamps|>"]
    added = [{"id": 3 + i, "content": t} for i, t in enumerate(specials)]
    vocab = {"!": 0, "Ġ": 1, "Ġhi": 2}
    (folder / "tokenizer.json").write_text(
        json.dumps({"model": {"vocab": vocab}, "added_tokens": added}), encoding="utf-8"
    )
    config = {
        "model_type": "whisper", "num_mel_bins": 80, "max_source_positions": 1500,
        "d_model": 8, "encoder_attention_heads": 2, "encoder_layers": 1, "vocab_size": 51865,
        "max_target_positions": 448, "decoder_attention_heads": 2, "decoder_layers": 1,
    }  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    generation = {"is_multilingual": multilingual, "alignment_heads": [[0, 1]]}
    (folder / "generation_config.json").write_text(json.dumps(generation), encoding="utf-8")
    return folder


def test_metadata_for_sherpa_onnx(tmp_path):
    info = read_checkpoint_info(_checkpoint(tmp_path, multilingual=True))
    meta = info.metadata
    assert meta["sot"] == "4"
    assert meta["sot_sequence"] == "4,5,8"  # sot, en, transcribe
    assert (meta["all_language_tokens"], meta["all_language_codes"]) == ("5,6", "en,zh")
    assert (meta["eot"], meta["translate"], meta["no_speech"], meta["no_timestamps"]) == (
        "3", "7", "11", "12",
    )  # fmt: skip
    assert meta["blank_id"] == "1"
    assert meta["n_alignment_heads"] == "1"
    assert info.vocabulary == {0: b"!", 1: b" ", 2: b" hi"}
    english = read_checkpoint_info(_checkpoint(tmp_path, multilingual=False)).metadata
    assert english["sot_sequence"] == "4"
    assert english["is_multilingual"] == "0"


def test_a_non_whisper_checkpoint_is_refused(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    with pytest.raises(ModelError, match="not a Whisper checkpoint"):
        read_checkpoint_info(tmp_path)


# --- the export dispatcher ------------------------------------------------------------------------


def test_unknown_format_and_options():
    with pytest.raises(ConfigurationError, match="unknown export format"):
        exports.exporter("tflite")
    with pytest.raises(ConfigurationError, match="takes no option dtype"):
        exports.export_checkpoint(Path("."), "hf", Path("out"), dtype="f16")


def test_a_missing_exporter_or_extra_is_named(monkeypatch):
    fake = exports.ExportFormat("x", "", "yuyin.train.no_such_exporter", "f", "train", (), "e")
    monkeypatch.setitem(exports.EXPORT_FORMATS, "x", fake)
    with pytest.raises(ConfigurationError, match="not part of this yuyin install"):
        exports.exporter("x")
    needs = exports.ExportFormat(
        "y", "", "yuyin.train.exports", "export_hf", "z", ("nope_pkg",), "e"
    )
    monkeypatch.setitem(exports.EXPORT_FORMATS, "y", needs)
    with pytest.raises(MissingDependencyError) as info:
        exports.exporter("y")
    assert "yuyin[z]" in info.value.hint


def test_verify_with_a_missing_engine_extra_fails_before_exporting(monkeypatch, tmp_path):
    # An export takes minutes and hundreds of MB: the verifying engine is checked first.
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "whisper" else real(name, *a)
    )
    out = tmp_path / "out"
    args = ["models", "export", "no-such-model", "-f", "openai-whisper", "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--verify"])
    assert result.exit_code == 5, result.output
    assert "--engine openai-whisper" in result.output
    assert "'openai-whisper'" in result.output  # the pip name, not the import name
    assert "yuyin[openai-whisper]" in result.output
    assert "preparing" not in result.output
    assert not out.exists()
    # Without --verify the same command goes on to the model (and fails there instead).
    assert CliRunner().invoke(main, args).exit_code == 4


def test_an_option_of_another_format_is_refused_before_any_work(tmp_path):
    out = tmp_path / "out"
    args = ["models", "export", "no-such-model", "-f", "onnx", "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--dtype", "q8_0"])
    assert result.exit_code == 2, result.output
    assert "the onnx format takes no option dtype" in result.output
    assert "ggml: dtype" in result.output
    assert "preparing" not in result.output
    assert not out.exists()


def test_hf_export_copies_and_refuses_a_full_folder(tmp_path):
    source = tmp_path / "ckpt"
    source.mkdir()
    (source / "config.json").write_text("{}", encoding="utf-8")
    (source / ".complete").write_text("", encoding="utf-8")
    out = exports.export_checkpoint(source, "hf", tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
    with pytest.raises(OutputError, match="not empty"):
        exports.export_hf(source, out)
    with pytest.raises(ModelError, match=r"no config\.json"):
        exports.export_hf(tmp_path / "out" / "missing", tmp_path / "other")
    assert exports.VERIFY_SAMPLE.is_file()


# --- Gemini Live: assembling turns ---------------------------------------------------------


def test_turns_join_pieces_as_sent_and_chinese_without_spaces():
    turns = TurnAssembler()
    for piece in (" I like", " to read."):
        turns.add(piece)
    turns.close(2.0)
    turns.close(2.5)  # a turn with no text is no segment
    turns.add("我們 一起")
    turns.add("去。")
    turns.close(9.0)
    segments = turns.segments(duration=6.0)
    assert [s.text for s in segments] == ["I like to read.", "我們一起去。"]
    assert [(s.start, s.end) for s in segments] == [(0.0, 2.0), (2.0, 6.0)]
    assert turns.text == "I like to read. 我們一起去。"
    both = TurnAssembler()
    for text in ("我們一起去公園。", "我們一起去學校。"):
        both.add(text)
        both.close(1.0)
    assert both.text == "我們一起去公園。我們一起去學校。"


def test_options_come_from_the_environment_with_overrides():
    env = {"GEMINI_API_KEY": "k1", "YUYIN_GEMINI_MODEL": "m1"}
    options = options_from_environment(env, model=None, realtime_factor=4.0)
    assert (options.api_key, options.model, options.realtime_factor) == ("k1", "m1", 4.0)
    assert options_from_environment({}).api_key is None
