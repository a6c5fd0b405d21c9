"""Locks on the public surface: exported names, typing, errors, and CLI ↔ option parity."""

from __future__ import annotations

import dataclasses
import inspect

import click
import pytest

import yuyin
from yuyin import errors
from yuyin.cli import main
from yuyin.cli.transcribe import CLI_ONLY_PARAMS, transcribe_command
from yuyin.options import ModelOptions, OutputOptions, TranscribeOptions, VadOptions

# The documented public API (README "Python API"). Changing it is a deliberate act.
PUBLIC = {
    "AudioDecodeError", "AudioInfo", "ConfigurationError", "FileResult", "InputError",
    "MediaNotFoundError", "MissingDependencyError", "ModelError", "ModelNotFoundError",
    "ModelOptions", "OutputError", "OutputOptions", "Segment", "StreamProtocolError",
    "TranscribeOptions", "Transcript", "VadOptions", "Word", "YuyinError", "__version__",
    "decode_audio", "list_models", "load_engine", "render", "resolve_model", "to_json",
    "to_srt", "to_tsv", "to_txt", "to_vtt", "transcribe", "transcribe_files",
}  # fmt: skip


def test_all_is_the_documented_public_api():
    assert set(yuyin.__all__) == PUBLIC
    assert len(yuyin.__all__) == len(PUBLIC)
    for name in yuyin.__all__:
        assert hasattr(yuyin, name), name


@pytest.mark.parametrize("name", sorted(PUBLIC - {"__version__"}))
def test_public_names_are_documented_and_typed(name):
    obj = getattr(yuyin, name)
    assert inspect.getdoc(obj), f"{name} has no docstring"
    if inspect.isfunction(obj):
        sig = inspect.signature(obj)
        assert sig.return_annotation is not inspect.Signature.empty, name
        for param in sig.parameters.values():
            assert param.annotation is not inspect.Parameter.empty, f"{name}({param.name})"


def test_error_tree_has_one_root_and_distinct_exit_codes():
    classes = [getattr(errors, n) for n in errors.__all__]
    assert all(issubclass(c, errors.YuyinError) for c in classes)
    top = [c for c in classes if c.__bases__ == (errors.YuyinError,)]
    assert len({c.exit_code for c in top}) == len(top)
    assert all(c.exit_code != 0 for c in classes)
    assert all(400 <= c.http_status < 600 for c in classes)


def test_missing_dependency_names_the_extra():
    exc = errors.MissingDependencyError("torch", "train", "fine-tuning")
    assert "torch" in str(exc)
    assert exc.hint == "pip install 'yuyin[train]'"
    assert exc.exit_code == 5


def _option_fields() -> set[str]:
    names = {
        f.name
        for cls in (TranscribeOptions, ModelOptions, OutputOptions)
        for f in dataclasses.fields(cls)
    }
    names.discard("vad_options")
    return names | {f"vad_{f.name}" for f in dataclasses.fields(VadOptions)}


def test_transcribe_flags_map_one_to_one_to_option_fields():
    params = {p.name for p in transcribe_command.params} - CLI_ONLY_PARAMS
    fields = _option_fields()
    assert params - fields == set(), "flags without an option field"
    assert fields - params == set(), "option fields without a flag"


def test_flag_spelling_is_the_field_name_in_kebab_case():
    for param in transcribe_command.params:
        if isinstance(param, click.Option) and param.name not in CLI_ONLY_PARAMS:
            longs = [o for o in param.opts if o.startswith("--")]
            assert f"--{param.name.replace('_', '-')}" in longs, param.opts


def test_flag_defaults_equal_option_defaults():
    defaults = {
        **{f.name: f.default for f in dataclasses.fields(ModelOptions)},
        **{f"vad_{f.name}": f.default for f in dataclasses.fields(VadOptions)},
    }
    for f in dataclasses.fields(TranscribeOptions):
        if f.name not in ("vad_options", "temperature"):
            defaults[f.name] = f.default
    for param in transcribe_command.params:
        if param.name in defaults:
            assert param.default == defaults[param.name], param.name


def test_every_command_has_help():
    for name, command in main.commands.items():
        assert command.help or command.short_help, name
