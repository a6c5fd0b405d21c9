"""The CTranslate2 → Hugging Face importer on the embedded models: same tokens, same config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import ctranslate2
import torch
from transformers import (
    GenerationConfig,
    WhisperConfig,
    WhisperForConditionalGeneration,
    WhisperProcessor,
)

import yuyin
from yuyin.engines import default_cache_dir, resolve_model
from yuyin.errors import ModelError, OutputError
from yuyin.train import cached_import, import_ctranslate2_whisper

CASES = [("tiny.en", "en.wav", "en"), ("base", "en.wav", "en"), ("base", "zh.wav", "zh")]


@pytest.fixture(scope="module")
def imported() -> dict[str, Path]:
    """Both embedded models imported once into the user cache (reused across runs)."""
    return {
        name: cached_import(resolve_model(name).path, default_cache_dir(), name=name)
        for name in ("tiny.en", "base")
    }


def _greedy_ct2(ct2_dir: Path, features: np.ndarray, prompt: list[int]) -> list[int]:
    model = ctranslate2.models.Whisper(str(ct2_dir), device="cpu", compute_type="float32")
    result = model.generate(
        ctranslate2.StorageView.from_array(features),
        [prompt],
        beam_size=1,
        max_length=448,
        suppress_blank=True,
        suppress_tokens=[-1],
    )
    return list(result[0].sequences_ids[0])


@pytest.mark.slow
@pytest.mark.parametrize(("name", "audio", "language"), CASES)
def test_greedy_tokens_are_the_same_as_ctranslate2(imported, data_dir, name, audio, language):
    folder = imported[name]
    processor = WhisperProcessor.from_pretrained(folder, local_files_only=True)
    model = WhisperForConditionalGeneration.from_pretrained(folder, local_files_only=True).eval()
    samples, _ = yuyin.decode_audio(data_dir / audio)
    features = processor.feature_extractor(
        samples, sampling_rate=16000, return_tensors="np"
    ).input_features.astype(np.float32)
    tokenizer = processor.tokenizer
    multilingual = model.generation_config.is_multilingual
    prompt_tokens = ["<|startoftranscript|>"]
    if multilingual:
        prompt_tokens += [f"<|{language}|>", "<|transcribe|>"]
    prompt = tokenizer.convert_tokens_to_ids([*prompt_tokens, "<|notimestamps|>"])

    expected = _greedy_ct2(resolve_model(name).path, features, prompt)
    kwargs = {"language": language, "task": "transcribe"} if multilingual else {}
    with torch.inference_mode():
        output = model.generate(torch.from_numpy(features), num_beams=1, do_sample=False, **kwargs)
    end = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    got = [t for t in output[0].tolist() if t < end]
    assert got == expected, (tokenizer.decode(got), tokenizer.decode(expected))
    assert len(expected) >= 8


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tiny.en", "base"])
def test_config_matches_the_ctranslate2_model(imported, name):
    ct2_dir = resolve_model(name).path
    ct2 = json.loads((ct2_dir / "config.json").read_text(encoding="utf-8"))
    config = WhisperConfig.from_pretrained(imported[name], local_files_only=True)
    # Whisper's entries (alignment heads, language ids...) are extra attributes: typed Any.
    generation: Any = GenerationConfig.from_pretrained(imported[name], local_files_only=True)
    processor = WhisperProcessor.from_pretrained(imported[name], local_files_only=True)
    tokenizer = processor.tokenizer
    dims = {"tiny.en": (384, 4, 6, 1536), "base": (512, 6, 8, 2048)}[name]
    assert (config.d_model, config.encoder_layers, config.encoder_attention_heads) == dims[:3]
    assert (config.decoder_layers, config.decoder_attention_heads) == dims[1:3]
    assert config.encoder_ffn_dim == config.decoder_ffn_dim == dims[3]
    assert config.num_mel_bins == processor.feature_extractor.feature_size == 80
    assert (config.max_source_positions, config.max_target_positions) == (1500, 448)
    assert config.vocab_size == len(tokenizer) == (51864 if name == "tiny.en" else 51865)
    assert config.tie_word_embeddings
    assert generation.alignment_heads == ct2["alignment_heads"]
    assert generation.suppress_tokens == ct2["suppress_ids"]
    assert generation.begin_suppress_tokens == ct2["suppress_ids_begin"]
    notimestamps = tokenizer.convert_tokens_to_ids("<|notimestamps|>")
    assert generation.no_timestamps_token_id == notimestamps
    assert generation.prev_sot_token_id == tokenizer.convert_tokens_to_ids("<|startofprev|>")
    assert generation.decoder_start_token_id == config.decoder_start_token_id
    assert config.decoder_start_token_id == tokenizer.convert_tokens_to_ids("<|startoftranscript|>")
    # Timestamp tokens follow <|notimestamps|> up to the end of the vocabulary.
    assert tokenizer.convert_tokens_to_ids("<|0.00|>") == notimestamps + 1
    assert tokenizer.convert_tokens_to_ids("<|30.00|>") == config.vocab_size - 1
    if name == "base":
        assert generation.is_multilingual
        assert sorted(generation.lang_to_id.values()) == ct2["lang_ids"]
        assert generation.lang_to_id["<|zh|>"] == tokenizer.convert_tokens_to_ids("<|zh|>")
        assert set(generation.task_to_id) == {"transcribe", "translate"}
    else:
        assert not generation.is_multilingual
        assert not hasattr(generation, "lang_to_id")


@pytest.mark.slow
def test_saved_layout_loads_offline_with_tied_embeddings(imported, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = imported["tiny.en"]
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors"} <= names
    assert {"tokenizer.json", "tokenizer_config.json", ".complete"} <= names
    model = WhisperForConditionalGeneration.from_pretrained(folder, local_files_only=True)
    assert model.proj_out.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()
    assert model.dtype == torch.float32


def test_cached_import_is_reused(imported):
    again = cached_import(resolve_model("tiny.en").path, default_cache_dir(), name="tiny.en")
    assert again == imported["tiny.en"]
    assert again.parent == default_cache_dir() / "hf"
    assert again.name.startswith("tiny.en-")
    assert not [p for p in again.parent.iterdir() if p.name.startswith(".tiny.en")]


@pytest.mark.slow
def test_a_hugging_face_folder_runs_on_faster_whisper_converted_once(imported, tmp_path, data_dir):
    from yuyin.train.cache import scan_conversions

    cache = tmp_path / "cache"
    # CTranslate2 -> Hugging Face (the importer) -> CTranslate2 (faster-whisper's converter).
    resolved = resolve_model(str(imported["tiny.en"]), cache_dir=cache)
    assert resolved.path.parent == cache / "converted"
    assert resolved.source == f"converted from {imported['tiny.en']}"
    assert not resolved.multilingual
    assert resolve_model(str(imported["tiny.en"]), cache_dir=cache).path == resolved.path
    assert [p.name for p in (cache / "converted").iterdir()] == [resolved.path.name]  # no scratch
    round_trip = yuyin.transcribe(
        data_dir / "en.wav", model=str(imported["tiny.en"]), cache_dir=cache, beam_size=1
    )
    direct = yuyin.transcribe(data_dir / "en.wav", model="tiny.en", beam_size=1)
    assert round_trip.text == direct.text
    (entry,) = scan_conversions(cache)
    assert (entry.kind, entry.path, entry.stale) == ("converted", resolved.path, None)


def test_refuses_a_non_empty_destination(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty"):
        import_ctranslate2_whisper(resolve_model("tiny.en").path, tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_a_folder_without_a_model_is_a_model_error(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(ModelError):
        import_ctranslate2_whisper(tmp_path / "src", tmp_path / "dst")


@pytest.fixture(scope="module")
def tiny_random(imported, tmp_path_factory) -> tuple[Path, WhisperForConditionalGeneration]:
    """A small random Whisper with random biases, saved with tiny.en's processor."""
    torch.manual_seed(0)
    config = WhisperConfig(
        vocab_size=51864, num_mel_bins=80, d_model=16, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
        decoder_ffn_dim=32, decoder_start_token_id=50257, pad_token_id=50256,
        bos_token_id=50256, eos_token_id=50256,
    )  # fmt: skip
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "layer_norm" in name or name.endswith("bias"):
                parameter.normal_()  # no two equal tensors, nothing CTranslate2 would alias
    model.generation_config = GenerationConfig.from_pretrained(imported["tiny.en"])
    folder = tmp_path_factory.mktemp("random") / "hf"
    model.save_pretrained(folder)
    WhisperProcessor.from_pretrained(imported["tiny.en"]).save_pretrained(folder)
    return folder, model


@pytest.mark.slow
@pytest.mark.parametrize(("quantization", "tolerance"), [("float32", 0.0), ("int8", 2e-3)])
def test_round_trip_through_ctranslate2s_converter(tiny_random, tmp_path, quantization, tolerance):
    folder, original = tiny_random
    converter = ctranslate2.converters.TransformersConverter(str(folder))
    converter.convert(str(tmp_path / "ct2"), quantization=quantization)
    shutil.copy(folder / "tokenizer.json", tmp_path / "ct2")
    back = WhisperForConditionalGeneration.from_pretrained(
        import_ctranslate2_whisper(tmp_path / "ct2", tmp_path / "back")
    )
    want, got = original.state_dict(), back.state_dict()
    assert set(want) == set(got)
    for name, value in want.items():
        assert torch.allclose(got[name], value, atol=tolerance, rtol=0), name


_IMPORT_PAST_THE_LIMIT = """
import resource, sys
from yuyin.engines import resolve_model
from yuyin.errors import OutputError
from yuyin.train import import_ctranslate2_whisper

source = resolve_model("tiny.en").path
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
resource.setrlimit(resource.RLIMIT_FSIZE, (10 * 2**20, hard))
try:
    import_ctranslate2_whisper(source, sys.argv[1])
except OutputError as exc:
    print(exc.message)
    print(exc.hint)
"""


@pytest.mark.slow
def test_no_room_for_the_checkpoint_is_an_output_error_and_leaves_nothing(tmp_path):
    # A 10 MB file size limit fails the 150 MB weights file the way a full disk does;
    # safetensors reports it as its own error type, not as an OSError.
    target = tmp_path / "hf"
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_PAST_THE_LIMIT, str(target)],
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()
    message, hint = result.stdout.decode().splitlines()[:2]
    assert message.startswith(f"cannot write the checkpoint to {target}: File too large")
    assert "free disk space" in hint
    assert not target.exists()
