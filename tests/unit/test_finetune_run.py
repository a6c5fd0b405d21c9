"""The run's edges that need no model: the train extra, the hub upload without a token."""

from __future__ import annotations

import importlib.util

import pytest

from yuyin.errors import MissingDependencyError
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
