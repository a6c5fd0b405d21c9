"""Which base model `yuyin finetune --model` means: HF folder, hub id, or a clear error."""

from __future__ import annotations

import json

import pytest

from yuyin.errors import ModelError
from yuyin.finetune.base_model import resolve_base_model


def test_a_hugging_face_whisper_folder_is_used_as_it_is(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    base = resolve_base_model(str(tmp_path), tmp_path / "cache")
    assert (base.checkpoint, base.ct2, base.local) == (str(tmp_path.resolve()), None, True)


def test_a_hub_id_is_left_for_transformers_to_download(tmp_path):
    base = resolve_base_model("openai/whisper-small", tmp_path)
    assert (base.checkpoint, base.ct2, base.local) == ("openai/whisper-small", None, False)


@pytest.mark.parametrize(
    ("config", "says"), [({"model_type": "bert"}, "says 'bert'"), (None, "not a Whisper model")]
)
def test_a_folder_of_something_else_is_refused_with_what_it_is(tmp_path, config, says):
    if config is not None:
        (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=says) as info:
        resolve_base_model(str(tmp_path), tmp_path / "cache")
    assert "openai/whisper-small" in info.value.hint
