"""The CTranslate2 model.bin reader, on files written by CTranslate2's own spec writer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from ctranslate2.specs import whisper_spec

from yuyin.engines import resolve_model
from yuyin.errors import ModelError
from yuyin.train.importer import read_ct2_model

D_MODEL, FFN, MELS, VOCAB, SOURCE, TARGET = 8, 16, 4, 12, 6, 5


def _spec(seed: int = 0) -> tuple[whisper_spec.WhisperSpec, dict[str, np.ndarray]]:
    """A one-layer Whisper spec with random weights, and every value set by name."""
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {}

    def rand(name: str, *shape: int) -> np.ndarray:
        values[name] = rng.standard_normal(shape).astype(np.float32)
        return values[name]

    def norm(spec, name: str) -> None:
        spec.gamma = rand(f"{name}/gamma", D_MODEL)
        spec.beta = rand(f"{name}/beta", D_MODEL)

    def linear(spec, name: str, rows: int, cols: int = D_MODEL) -> None:
        spec.weight = rand(f"{name}/weight", rows, cols)
        spec.bias = rand(f"{name}/bias", rows)

    def ffn(spec, name: str) -> None:
        norm(spec.layer_norm, f"{name}/layer_norm")
        linear(spec.linear_0, f"{name}/linear_0", FFN)
        linear(spec.linear_1, f"{name}/linear_1", D_MODEL, FFN)

    spec = whisper_spec.WhisperSpec(1, 2, 1, 2)
    enc, dec = spec.encoder, spec.decoder
    enc.conv1.weight = rand("encoder/conv1/weight", D_MODEL, MELS, 3)
    enc.conv1.bias = rand("encoder/conv1/bias", D_MODEL)
    enc.conv2.weight = rand("encoder/conv2/weight", D_MODEL, D_MODEL, 3)
    enc.conv2.bias = rand("encoder/conv2/bias", D_MODEL)
    enc.position_encodings.encodings = rand("encoder/position_encodings/encodings", SOURCE, D_MODEL)
    norm(enc.layer_norm, "encoder/layer_norm")
    layer = enc.layer[0]
    norm(layer.self_attention.layer_norm, "encoder/layer_0/self_attention/layer_norm")
    linear(layer.self_attention.linear[0], "encoder/layer_0/self_attention/linear_0", 3 * D_MODEL)
    linear(layer.self_attention.linear[1], "encoder/layer_0/self_attention/linear_1", D_MODEL)
    ffn(layer.ffn, "encoder/layer_0/ffn")

    dec.embeddings.weight = rand("decoder/embeddings/weight", VOCAB, D_MODEL)
    dec.position_encodings.encodings = rand("decoder/position_encodings/encodings", TARGET, D_MODEL)
    norm(dec.layer_norm, "decoder/layer_norm")
    dec.projection.weight = values["decoder/embeddings/weight"]  # tied: saved as an alias
    layer = dec.layer[0]
    norm(layer.self_attention.layer_norm, "decoder/layer_0/self_attention/layer_norm")
    linear(layer.self_attention.linear[0], "decoder/layer_0/self_attention/linear_0", 3 * D_MODEL)
    linear(layer.self_attention.linear[1], "decoder/layer_0/self_attention/linear_1", D_MODEL)
    norm(layer.attention.layer_norm, "decoder/layer_0/attention/layer_norm")
    linear(layer.attention.linear[0], "decoder/layer_0/attention/linear_0", D_MODEL)
    linear(layer.attention.linear[1], "decoder/layer_0/attention/linear_1", 2 * D_MODEL)
    linear(layer.attention.linear[2], "decoder/layer_0/attention/linear_2", D_MODEL)
    ffn(layer.ffn, "decoder/layer_0/ffn")
    spec.register_vocabulary([f"t{i}" for i in range(VOCAB)])
    return spec, values


def _write(tmp_path: Path, quantization: str | None) -> tuple[Path, dict[str, np.ndarray]]:
    spec, values = _spec()
    values = {k: v.copy() for k, v in values.items()}  # quantisation scales arrays in place
    spec.validate()
    spec.optimize(quantization=quantization)
    folder = tmp_path / f"model-{quantization}"
    folder.mkdir()
    spec.save(str(folder))
    return folder, values


def test_float32_round_trip_is_exact(tmp_path):
    folder, values = _write(tmp_path, "float32")
    model = read_ct2_model(folder)
    assert (model.binary_version, model.spec, model.revision) == (6, "WhisperSpec", 3)
    assert model.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert set(values) <= set(model.variables) | set(model.aliases)
    for name, expected in values.items():
        var = model.variable(name)
        assert var.dtype == "float32"
        assert var.shape == expected.shape
        np.testing.assert_array_equal(model.array(name), expected)
    assert model.scalar("encoder/num_heads") == 2
    assert model.scalar("decoder/activation") == 3  # GELU
    assert model.scalar("decoder/scale_embeddings") == 0
    assert model.variable("decoder/alibi").dtype == "int8"  # booleans are int8 scalars
    assert model.variable("decoder/num_heads").shape == ()


def test_float16_values_are_the_float16_rounding(tmp_path):
    folder, values = _write(tmp_path, "float16")
    model = read_ct2_model(folder / "model.bin")
    for name, expected in values.items():
        assert model.variable(name).dtype == "float16"
        np.testing.assert_array_equal(model.array(name), expected.astype(np.float16))


@pytest.mark.parametrize("quantization", ["int8", "int8_float16", "int16"])
def test_quantised_weights_are_dequantised_with_their_scale(tmp_path, quantization):
    folder, values = _write(tmp_path, quantization)
    model = read_ct2_model(folder)
    integer = "int16" if quantization == "int16" else "int8"
    conv = model.variable("encoder/conv1/weight")
    assert conv.dtype == integer
    assert conv.shape == (D_MODEL, MELS, 3)
    assert "encoder/conv1/weight_scale" in model
    for name, expected in values.items():
        got = model.array(name)
        assert got.shape == expected.shape
        if name.endswith("weight") and model.variable(name).dtype == integer:
            # Per-row int8 (one scalar for int16): error at most half a quantisation step.
            rows = np.abs(expected.reshape(expected.shape[0], -1)).max(axis=1)
            step = rows / 127 if integer == "int8" else np.full_like(rows, rows.max() / 1024)
            err = np.abs(got - expected).reshape(expected.shape[0], -1).max(axis=1)
            assert np.all(err <= step * 0.5 + 1e-6), name
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)


def test_bfloat16_is_widened_to_float32(tmp_path):
    pytest.importorskip("torch")  # CTranslate2's writer needs torch for bfloat16
    folder, values = _write(tmp_path, "bfloat16")
    model = read_ct2_model(folder)
    name = "decoder/layer_0/ffn/linear_0/weight"
    assert model.variable(name).dtype == "bfloat16"
    np.testing.assert_allclose(model.array(name), values[name], rtol=1 / 128)


def test_a_truncated_file_is_a_model_error(tmp_path):
    folder, _ = _write(tmp_path, "float32")
    data = (folder / "model.bin").read_bytes()
    (folder / "model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="truncated"):
        read_ct2_model(folder)


def test_an_unknown_binary_version_is_refused(tmp_path):
    folder, _ = _write(tmp_path, "float32")
    data = bytearray((folder / "model.bin").read_bytes())
    data[0:4] = (99).to_bytes(4, "little")
    (folder / "model.bin").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="binary version 99"):
        read_ct2_model(folder)


def test_a_missing_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError):
        read_ct2_model(tmp_path)


def test_the_real_tiny_en_file_matches_its_config():
    folder = resolve_model("tiny.en").path
    model = read_ct2_model(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    vocabulary = (folder / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    assert model.spec == "WhisperSpec"
    assert len(model.variables) == 148
    assert model.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    layers = {n.split("/")[1] for n in model.variables if re.search(r"/layer_\d+/", n)}
    assert layers == {"layer_0", "layer_1", "layer_2", "layer_3"}
    assert model.variable("decoder/embeddings/weight").shape == (len(vocabulary), 384)
    assert model.variable("encoder/conv1/weight").shape == (384, 80, 3)
    assert model.variable("encoder/position_encodings/encodings").shape == (1500, 384)
    assert model.variable("decoder/position_encodings/encodings").shape == (448, 384)
    assert model.scalar("encoder/num_heads") == model.scalar("decoder/num_heads") == 6
    assert all(layer < 4 and head < 6 for layer, head in config["alignment_heads"])
    assert {v.dtype for v in model.variables.values() if v.shape} == {"float16"}
    assert max(config["suppress_ids"]) < len(vocabulary)


def test_without_the_train_extra_the_error_names_it(tmp_path, monkeypatch):
    import importlib.util

    from yuyin.engines.transformers import load_transformers_engine
    from yuyin.errors import MissingDependencyError
    from yuyin.train import import_ctranslate2_whisper

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "transformers" else real(name)
    )
    with pytest.raises(MissingDependencyError) as info:
        import_ctranslate2_whisper(resolve_model("tiny.en").path, tmp_path / "out")
    assert info.value.extra == "train"
    assert "yuyin[train]" in info.value.hint
    assert not (tmp_path / "out").exists()
    with pytest.raises(MissingDependencyError, match="transformers"):
        load_transformers_engine("tiny.en")


def _model_folder(folder: Path, weights: bytes) -> Path:
    folder.mkdir()
    (folder / "model.bin").write_bytes(weights)
    (folder / "config.json").write_text('{"suppress_ids": []}', encoding="utf-8")
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    return folder


def test_the_import_cache_key_follows_the_contents_not_the_install(tmp_path):
    from yuyin.train.importer import import_fingerprint

    weights = np.random.default_rng(0).bytes(5 << 20)
    first = _model_folder(tmp_path / "site-a", weights)
    # A reinstall or a copy elsewhere (new path, new times) is the same import...
    again = _model_folder(tmp_path / "site-b", weights)
    assert import_fingerprint(again) == import_fingerprint(first)
    # ...while different weights (here one byte in the middle of the file) are another.
    changed = bytearray(weights)
    changed[len(weights) // 2] ^= 0xFF
    original = import_fingerprint(first)
    assert import_fingerprint(_model_folder(tmp_path / "tuned", bytes(changed))) != original
    assert import_fingerprint(_model_folder(tmp_path / "longer", weights + b"\0")) != original
    with pytest.raises(ModelError, match="cannot read the model"):
        import_fingerprint(tmp_path / "absent")
