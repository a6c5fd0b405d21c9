"""`yuyin finetune`: flags one-to-one with FinetuneOptions, and clean errors before training."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from yuyin.cli import main
from yuyin.cli.finetune import CLI_ONLY_PARAMS, _Bars, _summary, finetune_command
from yuyin.errors import ConfigurationError
from yuyin.finetune import FinetuneOptions, FinetuneResult, Progress, validate_finetune_options


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
    (out / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("")
    result = run(str(manifest), "-o", str(out))
    assert result.exit_code == 6
    assert "error: " in result.output
    assert "already holds a fine-tuning run" in result.output
    assert "hint: pass --resume" in result.output
    assert "Traceback" not in result.output


def test_resume_takes_the_first_runs_settings_for_flags_not_given(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    first = {"model": "tiny.en", "freeze_encoder": True, "batch_size": 2, "max_steps": 60}
    (out / "finetune.json").write_text(json.dumps({"options": first}))
    seen: dict[str, FinetuneOptions] = {}

    def finetune(manifest, output_dir, *, options, **kwargs):
        seen["options"] = options
        raise ConfigurationError("stop here")

    monkeypatch.setattr("yuyin.cli.finetune.finetune", finetune)
    result = run(str(tmp_path / "m.jsonl"), "-o", str(out), "--resume", "--max-steps", "80")
    assert "stop here" in result.output
    options = seen["options"]
    assert (options.model, options.freeze_encoder, options.batch_size) == ("tiny.en", True, 2)
    assert options.max_steps == 80  # given on the command line: it wins
    assert options.learning_rate == FinetuneOptions().learning_rate  # not in the first run
    # Without --resume the defaults stand.
    run(str(tmp_path / "m.jsonl"), "-o", str(out), "--overwrite")
    assert seen["options"].model == FinetuneOptions().model


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


def finished(**data: object) -> FinetuneResult:
    side = {"score": 0.72, "utterances": 8}
    return FinetuneResult(
        output_dir=Path("out"),
        checkpoint=Path("out/best"),
        ct2=Path("out/ct2"),
        data={
            "method": "given",
            "train": {"clips": 21},
            "validation": {"clips": 3},
            "test": {"clips": 8},
            "skipped": 3,
            "skipped_by_reason": {"longer than --max-duration": 2, "empty reference text": 1},
            **data,
        },
        training={
            "global_step": 40,
            "first_loss": 2.3,
            "last_loss": 0.1,
            "metric": "cer",
            "best_metric": 0.2,
            "best_step": 20,
            "history": [{"step": 1, "loss": 2.3}, {"step": 20}, {"step": 40, "loss": 0.1}],
        },
        comparisons=(
            {
                "name": "test",
                "metric": "cer",
                "before": side,
                "after": side | {"score": 0.36},
                "relative_change": -0.5,
            },
        ),
    )


def test_the_summary_counts_skips_by_reason_and_shows_before_and_after():
    lines = _summary(finished(dropped_by_trainer=["a: text longer than the decoder's 448"]))
    assert lines[0] == (
        "data: 21 train, 3 validation, 8 test clips (given split), 3 skipped "
        "(2 longer than --max-duration, 1 empty reference text)"
    )
    assert "1 clips whose text is longer than the decoder's token limit" in lines[1]
    assert "training: 40 steps, loss 2.300 -> 0.100, best validation cer 0.200 at step 20" in lines
    assert "test cer: 0.720 -> 0.360 (-50%)" in lines
    assert any(line.startswith("CTranslate2: out/ct2") for line in lines)


def test_one_logged_loss_is_not_shown_as_a_change():
    result = finished()
    result.training.update(global_step=1, first_loss=2.3, last_loss=2.3, history=[{"loss": 2.3}])
    assert any(line.startswith("training: 1 steps, loss 2.300,") for line in _summary(result))


def train_events(bars: _Bars) -> None:
    for step in range(1, 5):
        bars(Progress("train", step, 10, loss=2.0 / step, learning_rate=1e-5, logged=True))


def test_plain_progress_lines_carry_loss_learning_rate_and_eta(capsys):
    bars = _Bars(True)
    bars.tty = False  # a log file or a pipe
    train_events(bars)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "step 1/10 loss=2 lr=1.00e-05"  # no pace measured yet
    assert re.fullmatch(r"step 4/10 loss=0\.5 lr=1\.00e-05 eta \d\d:\d\d", lines[3]), lines[3]


def test_the_terminal_bar_carries_loss_learning_rate_and_eta(capsys):
    bars = _Bars(True)
    bars.tty = True
    train_events(bars)
    bars.close()
    drawn = capsys.readouterr().err
    assert "loss=0.5, lr=1.00e-05" in drawn
    assert re.search(r"4/10 \[\d\d:\d\d<\d\d:\d\d", drawn), drawn  # elapsed<remaining


def test_seed_recipe_defaults():
    options = FinetuneOptions()
    assert (options.learning_rate, options.lr_scheduler, options.warmup_steps) == (
        1e-5,
        "constant_with_warmup",
        50,
    )
    assert options.gradient_checkpointing
    assert options.precision == "auto"


def test_the_command_and_the_data_side_load_without_the_train_extra():
    # The core install has no torch or transformers: they load only when training starts.
    code = (
        "import sys, yuyin.cli.finetune, yuyin.finetune; "
        "print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert result.stdout.decode().strip() == "[]"
