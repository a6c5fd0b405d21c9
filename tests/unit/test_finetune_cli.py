"""`yuyin finetune`: flags one-to-one with FinetuneOptions, and clean errors before training."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from yuyin.cli import main
from yuyin.cli.finetune import CLI_ONLY_PARAMS, finetune_command
from yuyin.errors import ConfigurationError
from yuyin.finetune import FinetuneOptions, validate_finetune_options


def run(*args: str):
    return CliRunner().invoke(main, ["finetune", *args], prog_name="yuyin")


def test_every_option_field_has_exactly_one_flag_with_the_same_default():
    fields = {f.name: f.default for f in dataclasses.fields(FinetuneOptions)}
    params = {p.name: p for p in finetune_command.params}
    assert set(params) - CLI_ONLY_PARAMS == set(fields)
    for name, default in fields.items():
        param = params[name]
        assert f"--{name.replace('_', '-')}" in param.opts, name
        assert param.default == default, name


def test_help_shows_both_commands_and_the_defaults():
    result = run("--help")
    assert result.exit_code == 0
    assert "1e-05" in result.output
    assert "constant_with_warmup" in result.output
    assert "yuyin finetune export" in result.output
    exported = run("export", "--help")
    assert exported.exit_code == 0
    assert "Usage: yuyin finetune export [OPTIONS] CHECKPOINT" in exported.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_steps": 0}, "--max-steps must be at least 1"),
        ({"learning_rate": 0.0}, "--learning-rate must be positive"),
        ({"max_duration": 31.0}, "--max-duration"),
        ({"test_fraction": 0.5, "validation_fraction": 0.5}, "leave nothing to train on"),
        ({"precision": "fp8"}, "unknown precision"),
        ({"task": "summarize"}, "unknown task"),
        ({"quantization": "int4"}, "unknown quantization"),
        ({"language": "klingon"}, "klingon"),
        ({"lora_dropout": 1.0}, "--lora-dropout"),
    ],
)
def test_impossible_settings_are_configuration_errors(change, message):
    with pytest.raises(ConfigurationError, match=message):
        validate_finetune_options(FinetuneOptions(**change))


def test_a_folder_holding_a_run_is_refused_with_a_hint(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "finetune.json").write_text(json.dumps({"options": {}}))
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("")
    result = run(str(manifest), "-o", str(out))
    assert result.exit_code == 6
    assert "error: " in result.output
    assert "already holds a fine-tuning run" in result.output
    assert "hint: pass --resume" in result.output
    assert "Traceback" not in result.output


def test_resume_and_overwrite_together_is_a_usage_error(tmp_path):
    result = run(str(tmp_path / "m.jsonl"), "-o", str(tmp_path / "o"), "--resume", "--overwrite")
    assert result.exit_code == 2
    assert "contradict" in result.output


def test_a_missing_manifest_is_an_input_error(tmp_path):
    result = run(str(tmp_path / "absent.jsonl"), "-o", str(tmp_path / "o"))
    assert result.exit_code == 3
    assert "no such manifest" in result.output


def test_a_manifest_with_nothing_usable_names_the_reasons(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_bytes(
        b'{"audio": "gone.wav", "text": "x"}\n{"audio": "a.wav", "text": "\xe9"}\n'
    )
    result = run(str(manifest), "-o", str(tmp_path / "o"), "-m", "tiny.en")
    assert result.exit_code == 3
    assert "no usable training clips" in result.output
    assert "audio file not found" in result.output
    assert "not UTF-8" in result.output


def test_export_refuses_a_folder_that_is_no_checkpoint(tmp_path):
    result = run("export", str(tmp_path), "-o", str(tmp_path / "ct2"))
    assert result.exit_code == 4
    assert "config.json" in result.output


def test_bad_option_values_exit_2_before_anything_runs(tmp_path: Path):
    result = run(str(tmp_path / "m.jsonl"), "-o", str(tmp_path / "o"), "--max-steps", "0")
    assert result.exit_code == 2
    assert "--max-steps must be at least 1" in result.output
    assert not (tmp_path / "o").exists()
