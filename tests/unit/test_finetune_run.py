"""The run's edges that need no model: the train extra, the hub upload without a token."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from yuyin.errors import ConfigurationError, MissingDependencyError
from yuyin.finetune import FinetuneOptions, Progress, RunDir, require_train_extra
from yuyin.finetune import run as run_module


def test_a_missing_package_names_the_train_extra(monkeypatch):
    real = importlib.util.find_spec

    def without_peft(name: str, *args: object):
        return None if name == "peft" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", without_peft)
    require_train_extra(FinetuneOptions())  # peft is only needed for LoRA
    with pytest.raises(MissingDependencyError, match="peft") as info:
        require_train_extra(FinetuneOptions(lora=True))
    assert info.value.hint == "pip install 'yuyin[train]'"


def test_no_token_means_no_upload_and_a_message(tmp_path, monkeypatch):
    huggingface_hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    events: list[Progress] = []
    run = RunDir(tmp_path)
    assert run_module._push(FinetuneOptions(), run, events.append) is None  # not asked
    url = run_module._push(FinetuneOptions(push_to_hub="me/model"), run, events.append)
    assert url is None
    assert len(events) == 1
    assert "no Hugging Face token" in events[0].message
    assert "me/model" in events[0].message


def test_a_multilingual_base_without_a_language_is_refused_before_anything_is_written(
    tmp_path, data_dir
):
    for package in ("torch", "transformers", "accelerate", "tensorboard"):
        pytest.importorskip(package)
    checkpoint = tmp_path / "whisper"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text(
        json.dumps({"model_type": "whisper", "vocab_size": 51865})
    )
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"audio": str(data_dir / "en.wav"), "text": "hello"}) + "\n")
    out = tmp_path / "out"
    options = FinetuneOptions(model=str(checkpoint), report=False)
    with pytest.raises(ConfigurationError, match="multilingual") as info:
        run_module.finetune(manifest, out, options=options)
    assert "--language" in info.value.hint
    assert list(out.iterdir()) == []  # a rerun with --language needs no --overwrite


_PUSH_OFFLINE = """
import sys
from pathlib import Path
from yuyin.errors import OutputError
from yuyin.finetune import FinetuneOptions, RunDir
from yuyin.finetune.run import _push

run = RunDir(Path(sys.argv[1]))
try:
    _push(FinetuneOptions(push_to_hub="me/model"), run, None)
except OutputError as exc:
    print(exc.message)
    print(exc.hint)
"""


def test_an_upload_that_cannot_reach_the_hub_says_why_and_how_to_retry(tmp_path):
    pytest.importorskip("huggingface_hub")
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "config.json").write_text("{}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_TOKEN": "hf_not_a_real_token"}
    result = subprocess.run(
        [sys.executable, "-c", _PUSH_OFFLINE, str(tmp_path)],
        capture_output=True,
        env=env,
        check=True,
        timeout=120,
    )
    message, hint = result.stdout.decode().splitlines()[:2]
    assert "cannot upload to the Hugging Face hub repository me/model" in message
    assert "offline" in message
    assert "the run is finished" in hint
    assert f"hf upload me/model {tmp_path / 'best'}" in hint
