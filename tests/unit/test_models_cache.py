"""The conversion cache: current imports and exports are kept, stale ones found and pruned."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from yuyin.cli import main
from yuyin.train.cache import prune_conversions, scan_conversions
from yuyin.train.importer import IMPORTER_VERSION, import_fingerprint
from yuyin.train.staging import cached_export

pytestmark = pytest.mark.unit


def _ct2_folder(folder: Path, seed: int = 0) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(np.random.default_rng(seed).bytes(3 << 20))
    (folder / "config.json").write_text("{}", encoding="utf-8")
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    return folder


def _import(cache: Path, source: Path, *, name: str = "tiny.en", version: int = IMPORTER_VERSION):
    """An hf/ folder as `cached_import` names and marks it (the import itself is not the point)."""
    target = cache / "hf" / f"{name}-{import_fingerprint(source)}"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}", encoding="utf-8")
    (target / "model.safetensors").write_bytes(b"\0" * 1000)
    record = {"source": str(source), "importer": version}
    (target / ".complete").write_text(json.dumps(record), encoding="utf-8")
    return target


def _export(checkpoint: Path, cache: Path) -> Path:
    def write(source: Path, output: Path) -> Path:
        output.mkdir()
        (output / "model.ggml").write_bytes(b"\1" * 500)
        return output / "model.ggml"

    return cached_export(checkpoint, cache, "ggml", write, version="ggml-test-f16").parent


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A cache with current and stale conversions of every kind."""
    cache = tmp_path / "cache"
    current = _import(cache, _ct2_folder(tmp_path / "site-a" / "model"))
    _export(current, cache)
    gone = _import(cache, _ct2_folder(tmp_path / "old-venv" / "model", seed=1), name="base")
    _export(gone, cache)
    (tmp_path / "old-venv" / "model" / "model.bin").unlink()
    (tmp_path / "old-venv" / "model" / "config.json").unlink()
    (tmp_path / "old-venv" / "model" / "tokenizer.json").unlink()
    (tmp_path / "old-venv" / "model").rmdir()
    _import(cache, _ct2_folder(tmp_path / "site-b" / "model", seed=2), name="v0", version=0)
    rewritten = _ct2_folder(tmp_path / "tuned" / "ct2", seed=3)
    _import(cache, rewritten, name="tuned")
    (rewritten / "model.bin").write_bytes(np.random.default_rng(4).bytes(3 << 20))
    (cache / "hf" / "half-done").mkdir()  # killed before its marker was written
    legacy = cache / "onnx" / "tiny.en-0123-4567"
    legacy.mkdir(parents=True)
    (legacy / ".complete").write_text(json.dumps({"file": "encoder.onnx"}), encoding="utf-8")
    (cache / "ggml" / ".tiny.en-x.tmp123").mkdir()  # a conversion in progress
    return cache


def test_each_conversion_is_judged_by_what_it_was_made_from(cache):
    states = {(e.kind, e.path.name.split("-")[0]): e.stale or "" for e in scan_conversions(cache)}
    assert states.pop(("hf", "tiny.en")) == ""
    assert states.pop(("ggml", "tiny.en")) == ""  # an export of the current import
    assert "source is gone" in states.pop(("hf", "base"))
    assert "stale import" in states.pop(("ggml", "base"))
    assert "importer version" in states.pop(("hf", "v0"))
    assert "changed" in states.pop(("hf", "tuned"))
    assert "unfinished" in states.pop(("hf", "half"))
    assert "older yuyin" in states.pop(("onnx", "tiny.en"))
    assert not states  # the dot folder in progress is not listed


def test_prune_deletes_only_the_stale_ones(cache):
    entries = scan_conversions(cache)
    stale = [e for e in entries if e.stale]
    freed = prune_conversions(entries)
    assert freed == sum(e.bytes for e in stale) > 0
    assert not any(e.path.exists() for e in stale)
    assert all(e.path.exists() for e in entries if not e.stale)
    assert (cache / "ggml" / ".tiny.en-x.tmp123").is_dir()
    assert all(e.stale is None for e in scan_conversions(cache))


def test_yuyin_models_cache_lists_and_prunes(cache, monkeypatch):
    monkeypatch.setenv("YUYIN_CACHE_DIR", str(cache))
    listed = CliRunner().invoke(main, ["models", "cache"])
    assert listed.exit_code == 0, listed.output
    assert "6 stale" in listed.output
    assert "--prune" in listed.output
    assert "current tiny.en-" in listed.output
    report = CliRunner().invoke(main, ["models", "cache", "--prune", "--json"])
    assert report.exit_code == 0, report.output
    data = json.loads(report.output)
    assert data["cache_dir"] == str(cache)
    assert data["pruned_bytes"] == sum(r["bytes"] for r in data["conversions"] if r["stale"])
    again = CliRunner().invoke(main, ["models", "cache"])
    assert "stale" not in again.output
    assert again.output.count("current") == 2


def test_an_empty_cache_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("YUYIN_CACHE_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["models", "cache"])
    assert result.exit_code == 0
    assert f"no converted models in {tmp_path}" in result.output
