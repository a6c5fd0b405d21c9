"""The openai-whisper and ggml exporters, on a small random Hugging Face Whisper checkpoint.

Format-level checks: names, shapes, types and values land where openai-whisper's
`Whisper` and whisper.cpp's `whisper_model_load` expect them. That the real models then
transcribe is proven in tests/integration/test_{openai_whisper,whispercpp}_engine.py.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("safetensors")

from safetensors.numpy import save_file

from yuyin.errors import ConfigurationError, ModelError, OutputError
from yuyin.train.export_ggml import (
    GGML_MAGIC,
    export_ggml,
    ggml_file_name,
    mel_filters,
    quantize_q4_0,
    quantize_q8_0,
)
from yuyin.train.export_openai import encode_alignment_heads, read_openai_weights
from yuyin.train.staging import cached_export, staged_output_dir

D, HEADS, ENC, DEC, MELS, AUDIO_CTX, TEXT_CTX = 64, 2, 2, 2, 80, 24, 16
END_OF_TEXT = 70
VOCAB = END_OF_TEXT + 10  # the specials after <|endoftext|>
HEADS_USED = [[1, 0], [1, 1]]
# Ordinary tokens: single bytes, then a word with a leading space and a two-byte character.
TOKENS = [bytes([i + 32]) for i in range(END_OF_TEXT)]
TOKENS[5], TOKENS[6] = b" hello", "é".encode()


def _byte_encoder() -> dict[int, str]:
    """GPT-2's byte -> character table, from transformers (an independent reference)."""
    converter = pytest.importorskip("transformers.convert_slow_tokenizer")
    table: dict[int, str] = converter.bytes_to_unicode()
    return table


def _hf_checkpoint(folder: Path, *, seed: int = 0, **config_overrides: Any) -> dict[str, Any]:
    """Write a random 2+2-layer Whisper in Hugging Face's layout; return its arrays."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}

    def put(name: str, *shape: int) -> None:
        arrays[name] = rng.standard_normal(shape).astype(np.float32)

    def linear(name: str, rows: int, cols: int, bias: bool = True) -> None:
        put(f"{name}.weight", rows, cols)
        if bias:
            put(f"{name}.bias", rows)

    def norm(name: str) -> None:
        put(f"{name}.weight", D)
        put(f"{name}.bias", D)

    put("model.encoder.conv1.weight", D, MELS, 3)
    put("model.encoder.conv1.bias", D)
    put("model.encoder.conv2.weight", D, D, 3)
    put("model.encoder.conv2.bias", D)
    put("model.encoder.embed_positions.weight", AUDIO_CTX, D)
    norm("model.encoder.layer_norm")
    put("model.decoder.embed_tokens.weight", VOCAB, D)
    put("model.decoder.embed_positions.weight", TEXT_CTX, D)
    norm("model.decoder.layer_norm")
    for side, layers in (("encoder", ENC), ("decoder", DEC)):
        for i in range(layers):
            layer = f"model.{side}.layers.{i}"
            attentions = ["self_attn"] + (["encoder_attn"] if side == "decoder" else [])
            for attn in attentions:
                for proj in ("q", "k", "v", "out"):
                    linear(f"{layer}.{attn}.{proj}_proj", D, D, bias=proj != "k")
                norm(f"{layer}.{attn}_layer_norm")
            linear(f"{layer}.fc1", 4 * D, D)
            linear(f"{layer}.fc2", D, 4 * D)
            norm(f"{layer}.final_layer_norm")
    arrays["proj_out.weight"] = arrays["model.decoder.embed_tokens.weight"]
    folder.mkdir(parents=True, exist_ok=True)
    save_file(arrays, str(folder / "model.safetensors"))
    config = {
        "model_type": "whisper", "d_model": D, "encoder_layers": ENC, "decoder_layers": DEC,
        "encoder_attention_heads": HEADS, "decoder_attention_heads": HEADS,
        "encoder_ffn_dim": 4 * D, "decoder_ffn_dim": 4 * D, "num_mel_bins": MELS,
        "max_source_positions": AUDIO_CTX, "max_target_positions": TEXT_CTX,
        "vocab_size": VOCAB, "activation_function": "gelu", "scale_embedding": False,
        "tie_word_embeddings": True, **config_overrides,
    }  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "generation_config.json").write_text(json.dumps({"alignment_heads": HEADS_USED}))
    encoder = _byte_encoder()
    vocab = {"".join(encoder[b] for b in token): i for i, token in enumerate(TOKENS)}
    vocab["<|endoftext|>"] = END_OF_TEXT
    added = [{"id": END_OF_TEXT, "content": "<|endoftext|>", "special": True}]
    tokenizer = {"model": {"type": "BPE", "vocab": vocab, "merges": []}, "added_tokens": added}
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    return arrays


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("hf") / "tiny-random"
    return folder, _hf_checkpoint(folder)


# --- openai-whisper -----------------------------------------------------------------------


def test_weights_are_renamed_to_openai_whisper_and_keep_their_values(checkpoint):
    folder, arrays = checkpoint
    weights = read_openai_weights(folder)
    assert weights.dims == {
        "n_mels": MELS, "n_audio_ctx": AUDIO_CTX, "n_audio_state": D, "n_audio_head": HEADS,
        "n_audio_layer": ENC, "n_vocab": VOCAB, "n_text_ctx": TEXT_CTX, "n_text_state": D,
        "n_text_head": HEADS, "n_text_layer": DEC,
    }  # fmt: skip
    assert weights.alignment_heads == ((1, 0), (1, 1))
    pairs = {
        "encoder.conv1.weight": "model.encoder.conv1.weight",
        "encoder.positional_embedding": "model.encoder.embed_positions.weight",
        "encoder.ln_post.bias": "model.encoder.layer_norm.bias",
        "encoder.blocks.1.attn.query.weight": "model.encoder.layers.1.self_attn.q_proj.weight",
        "encoder.blocks.0.attn.key.weight": "model.encoder.layers.0.self_attn.k_proj.weight",
        "encoder.blocks.0.attn_ln.weight": "model.encoder.layers.0.self_attn_layer_norm.weight",
        "encoder.blocks.1.mlp.0.weight": "model.encoder.layers.1.fc1.weight",
        "encoder.blocks.1.mlp.2.bias": "model.encoder.layers.1.fc2.bias",
        "encoder.blocks.1.mlp_ln.bias": "model.encoder.layers.1.final_layer_norm.bias",
        "decoder.token_embedding.weight": "model.decoder.embed_tokens.weight",
        "decoder.positional_embedding": "model.decoder.embed_positions.weight",
        "decoder.ln.weight": "model.decoder.layer_norm.weight",
        "decoder.blocks.1.cross_attn.value.bias": "model.decoder.layers.1.encoder_attn.v_proj.bias",
        "decoder.blocks.0.cross_attn.out.weight":
            "model.decoder.layers.0.encoder_attn.out_proj.weight",
        "decoder.blocks.0.cross_attn_ln.bias":
            "model.decoder.layers.0.encoder_attn_layer_norm.bias",
        "decoder.blocks.1.attn.value.weight": "model.decoder.layers.1.self_attn.v_proj.weight",
    }  # fmt: skip
    for ours, theirs in pairs.items():
        np.testing.assert_array_equal(weights.state[ours], arrays[theirs], err_msg=ours)
    # Every HF tensor but the tied projection lands somewhere.
    assert len(weights.state) == len(arrays) - 1


@pytest.mark.slow  # importing openai-whisper (torch, numba) takes seconds
def test_the_checkpoint_loads_in_openai_whisper_with_its_alignment_heads(checkpoint, tmp_path):
    torch = pytest.importorskip("torch")
    whisper = pytest.importorskip("whisper")
    from yuyin.train.export_openai import export_openai_whisper

    folder, arrays = checkpoint
    path = export_openai_whisper(folder, tmp_path / "out")
    assert path == tmp_path / "out" / "model.pt"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.pt"]
    assert not list(tmp_path.glob(".out.*")), "no staging folder is left behind"

    model = whisper.load_model(str(path), device="cpu")  # the format's own loader
    assert model.dims.n_text_layer == DEC
    assert model.dims.n_vocab == VOCAB
    expected = model.state_dict()
    query = expected["decoder.blocks.0.attn.query.weight"].numpy()
    np.testing.assert_array_equal(query, arrays["model.decoder.layers.0.self_attn.q_proj.weight"])

    checkpoint_dict = torch.load(path, weights_only=True)
    assert set(checkpoint_dict["model_state_dict"]) == set(expected)
    model.set_alignment_heads(checkpoint_dict["alignment_heads"])
    mask = model.alignment_heads.to_dense().numpy()
    assert mask.tolist() == [[False, False], [True, True]]

    # The same encoding as openai-whisper's own table (tiny.en's heads).
    tiny_en = ((1, 0), (2, 0), (2, 5), (3, 0), (3, 1), (3, 2), (3, 3), (3, 4))
    reference = whisper.Whisper(whisper.ModelDimensions(MELS, 1, D, 1, 1, 4, 1, D, 6, 4))
    reference.set_alignment_heads(whisper._ALIGNMENT_HEADS["tiny.en"])
    reference_mask = reference.alignment_heads.to_dense().numpy()
    reference.set_alignment_heads(encode_alignment_heads(tiny_en, 4, 6))
    assert (reference.alignment_heads.to_dense().numpy() == reference_mask).all()


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"activation_function": "relu"}, "activation_function"),
        ({"scale_embedding": True}, "scale_embedding"),
        ({"model_type": "wav2vec2"}, "not a Whisper"),
        ({"max_target_positions": 8}, "shape"),
    ],
)
def test_checkpoints_outside_whispers_architecture_are_refused(tmp_path, override, reason):
    folder = tmp_path / "odd"
    _hf_checkpoint(folder, **override)
    with pytest.raises(ModelError, match=reason):
        read_openai_weights(folder)


def test_an_untied_projection_and_missing_files_are_refused(tmp_path):
    folder = tmp_path / "untied"
    arrays = _hf_checkpoint(folder)
    arrays = dict(arrays, **{"proj_out.weight": arrays["proj_out.weight"] + 1})
    save_file(arrays, str(folder / "model.safetensors"))
    with pytest.raises(ModelError, match="proj_out"):
        read_openai_weights(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelError, match=r"no model\.safetensors"):
        read_openai_weights(folder)
    (folder / "config.json").unlink()
    with pytest.raises(ModelError, match=r"config\.json is missing"):
        read_openai_weights(folder)
    with pytest.raises(ModelError, match="not a folder"):
        read_openai_weights(tmp_path / "missing")


# --- staging and the cache ----------------------------------------------------------------


def test_an_export_refuses_a_non_empty_folder_and_cleans_up_after_a_failure(tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty"), staged_output_dir(taken):
        pass
    assert (taken / "keep.txt").read_text() == "mine"

    target = tmp_path / "new"

    def fail_halfway() -> None:
        with staged_output_dir(target) as staging:
            (staging / "half.bin").write_bytes(b"x")
            raise RuntimeError("export failed halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        fail_halfway()
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]

    empty = tmp_path / "empty"
    empty.mkdir()
    with staged_output_dir(empty) as staging:
        (staging / "model.bin").write_bytes(b"ok")
    assert (empty / "model.bin").read_bytes() == b"ok"


def test_cached_export_runs_once_per_checkpoint_and_version(checkpoint, tmp_path):
    folder, _ = checkpoint
    calls: list[Path] = []

    def export(source: Path, output_dir: Path) -> Path:
        calls.append(source)
        with staged_output_dir(output_dir) as staging:
            (staging / "model.bin").write_bytes(b"weights")
        return output_dir / "model.bin"

    first = cached_export(folder, tmp_path, "fmt", export, version="1")
    again = cached_export(folder, tmp_path, "fmt", export, version="1")
    other = cached_export(folder, tmp_path, "fmt", export, version="2")
    assert first == again != other
    assert first.read_bytes() == b"weights"
    assert first.parent.parent == tmp_path / "fmt"
    assert first.parent.name.startswith("tiny-random-")
    assert len(calls) == 2
    assert not [p for p in (tmp_path / "fmt").iterdir() if p.name.startswith(".")]


# --- ggml ---------------------------------------------------------------------------------


def test_mel_filters_are_whispers_own():
    whisper = pytest.importorskip("whisper")
    assets = Path(whisper.__file__).parent / "assets" / "mel_filters.npz"
    with np.load(assets) as reference:
        for bands in (80, 128):
            ours = mel_filters(bands)
            assert ours.shape == (bands, 201)
            assert ours.dtype == np.float32
            np.testing.assert_allclose(ours, reference[f"mel_{bands}"], atol=1e-7)


def test_q8_0_blocks_hold_a_scale_and_rounded_values():
    values = np.zeros(64, dtype=np.float32)
    values[:4] = [127.0, -63.5, 0.5, 2.0]  # first block: scale exactly 1
    values[32:] = np.linspace(-3, 3, 32)
    blocks = quantize_q8_0(values)
    assert blocks.dtype.itemsize == 34
    assert blocks.shape == (2,)
    assert blocks["d"][0] == 1.0
    # ggml rounds halves away from zero (roundf), not to even.
    assert blocks["qs"][0][:4].tolist() == [127, -64, 1, 2]
    scales = blocks["d"].astype(np.float32)[:, None]
    error = np.abs(blocks["qs"].astype(np.float32) * scales - values.reshape(2, 32))
    assert (error <= scales / 2 + 1e-3).all()  # within half a step (the scale is float16)


def test_q4_0_blocks_pack_two_values_per_byte():
    values = np.arange(32, dtype=np.float32) - 8.0  # -8 .. 23: the extreme is 23
    values[0] = -32.0  # now the extreme is -32: scale 4, -32 -> level 0
    blocks = quantize_q4_0(values)
    assert blocks.dtype.itemsize == 18
    assert blocks.shape == (1,)
    assert float(blocks["d"][0]) == 4.0
    levels = np.minimum(15, np.trunc(values / 4.0 + 8.5)).astype(np.uint8)
    packed = blocks["qs"][0]
    assert (packed & 0x0F).tolist() == levels[:16].tolist()  # element j: low nibble
    assert (packed >> 4).tolist() == levels[16:].tolist()  # element j + 16: high nibble
    assert packed[0] & 0x0F == 0
    with pytest.raises(ConfigurationError, match="blocks of 32"):
        quantize_q4_0(np.zeros(40, dtype=np.float32))


def _read_ggml(path: Path) -> dict[str, Any]:
    """A reader for the layout whisper.cpp's loader expects (see export_ggml's docstring)."""
    data = path.read_bytes()
    at = 0

    def ints(count: int, fmt: str = "i") -> tuple[int, ...]:
        nonlocal at
        values = struct.unpack_from(f"<{count}{fmt}", data, at)
        at += 4 * count
        return values

    def raw(size: int) -> bytes:
        nonlocal at
        at += size
        return data[at - size : at]

    (magic,) = ints(1, "I")
    hparams = ints(11)
    n_mel, n_fft = ints(2)
    filters = np.frombuffer(raw(4 * n_mel * n_fft), dtype="<f4").reshape(n_mel, n_fft)
    vocab = [raw(ints(1, "I")[0]) for _ in range(ints(1)[0])]
    sizes = {0: (4, 1), 1: (2, 1), 2: (18, 32), 8: (34, 32)}
    tensors: dict[str, tuple[int, tuple[int, ...], bytes]] = {}
    while at < len(data):
        n_dims, length, ggml_type = ints(3)
        ne = ints(n_dims)
        name = raw(length).decode()
        block_bytes, block_values = sizes[ggml_type]
        tensors[name] = (ggml_type, ne, raw(int(np.prod(ne)) // block_values * block_bytes))
    return {"magic": magic, "hparams": hparams, "filters": filters, "vocab": vocab,
            "tensors": tensors}  # fmt: skip


def test_ggml_file_layout_matches_whisper_cpps_loader(checkpoint, tmp_path):
    folder, arrays = checkpoint
    path = export_ggml(folder, tmp_path / "f16")
    assert path == tmp_path / "f16" / ggml_file_name("f16")
    model = _read_ggml(path)
    assert model["magic"] == GGML_MAGIC
    # n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx,
    # n_text_state, n_text_head, n_text_layer, n_mels, ftype (1: mostly f16)
    assert model["hparams"] == (VOCAB, AUDIO_CTX, D, HEADS, ENC, TEXT_CTX, D, HEADS, DEC, MELS, 1)
    np.testing.assert_array_equal(model["filters"], mel_filters(MELS))
    assert model["vocab"] == TOKENS  # ordinary tokens only, as raw bytes

    tensors = model["tensors"]
    assert len(tensors) == 11 + 15 * ENC + 24 * DEC
    assert list(tensors)[:2] == ["encoder.conv1.weight", "encoder.conv1.bias"]
    f32, f16 = 0, 1
    expect = {
        "encoder.conv1.weight": (f16, (3, MELS, D)),
        "encoder.conv1.bias": (f32, (1, D)),
        "encoder.positional_embedding": (f32, (D, AUDIO_CTX)),
        "decoder.token_embedding.weight": (f16, (D, VOCAB)),
        "decoder.blocks.1.mlp.0.weight": (f16, (D, 4 * D)),
        "decoder.blocks.1.mlp.0.bias": (f32, (4 * D,)),
        "decoder.blocks.0.cross_attn.key.weight": (f16, (D, D)),
        "decoder.ln.weight": (f32, (D,)),
    }
    for name, (ggml_type, ne) in expect.items():
        assert tensors[name][:2] == (ggml_type, ne), name
    assert "decoder.blocks.0.cross_attn.key.bias" not in tensors
    conv = np.frombuffer(tensors["encoder.conv1.weight"][2], dtype="<f2").reshape(D, MELS, 3)
    np.testing.assert_array_equal(conv, arrays["model.encoder.conv1.weight"].astype(np.float16))
    positions = np.frombuffer(tensors["decoder.positional_embedding"][2], dtype="<f4")
    expected = arrays["model.decoder.embed_positions.weight"]
    np.testing.assert_array_equal(positions.reshape(TEXT_CTX, D), expected)


def test_quantised_ggml_keeps_small_tensors_in_float(checkpoint, tmp_path):
    folder, arrays = checkpoint
    model = _read_ggml(export_ggml(folder, tmp_path / "q8", dtype="q8_0"))
    assert model["hparams"][-1] == 2007  # q8_0 (7) + 1000 x quantisation version 2
    tensors = model["tensors"]
    assert tensors["encoder.blocks.0.attn.query.weight"][0] == 8  # GGML_TYPE_Q8_0
    assert tensors["encoder.conv2.weight"][0] == 1
    assert tensors["encoder.blocks.0.attn.query.bias"][0] == 0
    blocks = np.frombuffer(tensors["decoder.token_embedding.weight"][2], dtype=quantize_q8_0(
        np.zeros(32, dtype=np.float32)).dtype)  # fmt: skip
    restored = (blocks["qs"] * blocks["d"].astype(np.float32)[:, None]).reshape(VOCAB, D)
    original = arrays["model.decoder.embed_tokens.weight"]
    assert np.abs(restored - original).max() <= np.abs(original).max() / 127
    assert _read_ggml(export_ggml(folder, tmp_path / "q4", dtype="q4_0"))["hparams"][-1] == 2002


def test_ggml_export_refuses_bad_requests(checkpoint, tmp_path):
    folder, _ = checkpoint
    with pytest.raises(ConfigurationError, match="q3"):
        export_ggml(folder, tmp_path / "x", dtype="q3")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "other.bin").write_bytes(b"")
    with pytest.raises(OutputError, match="not empty"):
        export_ggml(folder, taken)
    assert [p.name for p in taken.iterdir()] == ["other.bin"]
