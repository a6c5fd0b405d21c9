"""CTranslate2 export: what it refuses, and no half-written model when the disk fills up."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from yuyin.errors import ConfigurationError, ModelError, OutputError
from yuyin.train import export_ct2
from yuyin.train.export_ct2 import export_ctranslate2


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    """A folder that passes the checks before conversion (the converter is replaced)."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "processor_config.json").write_text(
        json.dumps({"feature_extractor": {"feature_size": 128, "sampling_rate": 16000}})
    )
    return folder


def fake_convert(source: Path, destination: Path, quantization: str) -> None:
    destination.mkdir()
    (destination / "model.bin").write_bytes(b"weights " + quantization.encode())


def test_the_export_is_renamed_into_place_with_its_marker(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(export_ct2, "_convert", fake_convert)
    out = export_ctranslate2(checkpoint, tmp_path / "ct2", quantization="float16")
    assert out == tmp_path / "ct2"
    assert (out / "model.bin").read_bytes() == b"weights float16"
    assert json.loads((out / ".complete").read_text())["quantization"] == "float16"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_full_disk_leaves_no_model_and_says_so(checkpoint, tmp_path, monkeypatch):
    def full(source: Path, destination: Path, quantization: str) -> None:
        destination.mkdir()
        (destination / "model.bin").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_ct2, "_convert", full)
    with pytest.raises(OutputError, match="No space left") as info:
        export_ctranslate2(checkpoint, tmp_path / "ct2")
    assert "free some disk space" in info.value.hint
    assert not (tmp_path / "ct2").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no staging folder left


def test_a_failed_export_keeps_the_previous_model(checkpoint, tmp_path, monkeypatch):
    old = tmp_path / "ct2"
    old.mkdir()
    (old / "model.bin").write_text("previous")

    def broken(source: Path, destination: Path, quantization: str) -> None:
        raise ModelError("cannot convert")

    monkeypatch.setattr(export_ct2, "_convert", broken)
    with pytest.raises(ModelError):
        export_ctranslate2(checkpoint, old, overwrite=True)
    assert (old / "model.bin").read_text() == "previous"
    monkeypatch.setattr(export_ct2, "_convert", fake_convert)
    export_ctranslate2(checkpoint, old, overwrite=True)
    assert (old / "model.bin").read_bytes() == b"weights int8"


def test_a_non_empty_output_dir_is_refused(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(export_ct2, "_convert", fake_convert)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    with pytest.raises(OutputError, match="not empty") as info:
        export_ctranslate2(checkpoint, tmp_path / "out")
    assert "overwrite" in info.value.hint
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep"


def test_not_a_whisper_checkpoint_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="no checkpoint folder"):
        export_ctranslate2(tmp_path / "absent", tmp_path / "out")
    folder = tmp_path / "bert"
    folder.mkdir()
    with pytest.raises(ModelError, match=r"no readable config\.json"):
        export_ctranslate2(folder, tmp_path / "out")
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelError, match="'bert' model, not Whisper"):
        export_ctranslate2(folder, tmp_path / "out")
    (folder / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    with pytest.raises(ModelError, match=r"no tokenizer\.json"):
        export_ctranslate2(folder, tmp_path / "out")


def test_an_unknown_quantization_is_a_configuration_error(checkpoint, tmp_path):
    with pytest.raises(ConfigurationError, match="int4"):
        export_ctranslate2(checkpoint, tmp_path / "out", quantization="int4")


def test_feature_settings_are_read_from_either_layout(checkpoint):
    assert export_ct2._feature_settings(checkpoint) == {
        "feature_size": 128,
        "sampling_rate": 16000,
    }
    (checkpoint / "preprocessor_config.json").write_text(json.dumps({"feature_size": 80}))
    assert export_ct2._feature_settings(checkpoint) == {"feature_size": 80}
