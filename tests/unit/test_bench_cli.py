"""`yuyin bench` wiring without a model: flags match option fields, help answers, bad input
fails with a clean message."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys

import pytest
from click.testing import CliRunner

from yuyin.bench import runs as runs_module
from yuyin.cli import bench as bench_cli
from yuyin.cli import main
from yuyin.cli.bench import CLI_ONLY_PARAMS, bench_command
from yuyin.options import ModelOptions, TranscribeOptions, VadOptions
from yuyin.types import Segment

OPTION_NAMES = (
    {f.name for f in dataclasses.fields(ModelOptions)}
    | {f.name for f in dataclasses.fields(TranscribeOptions) if f.name != "vad_options"}
    | {f"vad_{f.name}" for f in dataclasses.fields(VadOptions)}
)
ISSUE_FLAGS = {"--repeat", "--number", "--model", "--device", "--device-index", "--compute-type",
               "--beam-size", "--batch-size", "--audio", "--reference", "--language", "--json",
               "--plot", "--format", "--warmup"}  # fmt: skip


@pytest.mark.parametrize("name", ["speed", "memory", "concurrency", "compare"])
def test_flags_are_option_fields_or_bench_controls(name):
    command = bench_command.commands[name]
    params = {p.name for p in command.params}
    assert params - CLI_ONLY_PARAMS <= OPTION_NAMES
    flags = {opt for p in command.params for opt in getattr(p, "opts", [])}
    expected = ISSUE_FLAGS - ({"--compute-type"} if name == "compare" else set())
    if name == "concurrency":
        expected -= {"--repeat", "--number", "--warmup"}
        expected |= {"--cpu-threads", "--num-workers", "--requests", "--modes", "--tolerance"}
    assert expected <= flags
    result = CliRunner().invoke(main, ["bench", name, "--help"])
    assert result.exit_code == 0
    assert "--audio" in result.output


def test_speed_defaults_match_the_issue():
    params = {p.name: p for p in bench_command.commands["speed"].params}
    assert params["warmup"].default == 1
    assert params["repeat"].default == 5
    assert params["number"].default == 1
    assert params["beam_size"].default == TranscribeOptions().beam_size


def test_compare_without_a_reference_is_a_usage_error(tmp_path, data_dir):
    audio = tmp_path / "talk.wav"
    shutil.copy(data_dir / "en.wav", audio)  # no manifest lists it
    result = CliRunner().invoke(main, ["bench", "compare", "--audio", str(audio)])
    assert result.exit_code == 2
    assert "error: no reference text" in result.output
    assert "hint: give the known text with --reference" in result.output


def test_missing_audio_is_an_input_error(tmp_path):
    result = CliRunner().invoke(
        main, ["bench", "speed", "--audio", str(tmp_path / "nope.wav"), "-m", "tiny.en"]
    )
    assert result.exit_code == 3
    assert "error:" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cpu-threads", "0"], "1 or more"),
        (["--cpu-threads", "a"], "whole numbers"),
        (["--modes", "serial"], "unknown concurrency mode"),
    ],
)
def test_bad_grids_are_refused(args, message, data_dir):
    result = CliRunner().invoke(
        main, ["bench", "concurrency", "--audio", str(data_dir / "en.wav"), *args]
    )
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize("name", ["concurrency", "compare"])
def test_local_only_commands_have_no_cloud_flags(name):
    flags = {opt for p in bench_command.commands[name].params for opt in getattr(p, "opts", [])}
    assert not flags & {"--api-key", "--base-url"}
    speed = {opt for p in bench_command.commands["speed"].params for opt in getattr(p, "opts", [])}
    assert {"--api-key", "--base-url"} <= speed  # speed can time a cloud engine too


def test_concurrency_has_warmup_rounds():
    params = {p.name: p for p in bench_command.commands["concurrency"].params}
    assert params["warmup"].default == 1


def test_a_plot_that_cannot_be_drawn_fails_before_measuring(monkeypatch, data_dir, tmp_path):
    def never(*_args, **_kwargs):
        raise AssertionError("measured although the chart cannot be drawn")

    monkeypatch.setattr(bench_cli, "bench_speed", never)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    result = CliRunner().invoke(
        main,
        ["bench", "speed", "--audio", str(data_dir / "en.wav"), "--plot", str(tmp_path / "p.png")],
    )
    assert result.exit_code == 5, result.output
    assert "matplotlib" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "p.png").exists()


@pytest.fixture
def scripted(monkeypatch, fake_engine):
    engine = fake_engine([Segment(0.0, 1.0, " hello"), Segment(1.0, 2.0, " world")])
    monkeypatch.setattr(runs_module, "load_engine", lambda options, shared: engine)
    return engine


def test_json_is_one_object_and_warnings_stay_on_stderr(scripted, tmp_path, data_dir):
    audio = tmp_path / "talk.wav"
    shutil.copy(data_dir / "en.wav", audio)  # no manifest lists it: no reference
    args = ["bench", "speed", "--audio", str(audio), "-m", "tiny.en", "--device", "cpu",
            "--repeat", "2", "--number", "2", "--warmup", "1"]  # fmt: skip
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["wer"] is None
    assert len(report["run_seconds"]) == 2
    assert len(scripted.calls) == 1 + 2 * 2
    assert "warning" not in result.stderr
    table = CliRunner().invoke(main, [*args, "--save", str(tmp_path / "r.json")])
    assert table.exit_code == 0, table.output
    assert "WER not measured (give --reference)" in table.stderr
    assert "x real time" in table.stdout
    assert json.loads((tmp_path / "r.json").read_text())["benchmark"] == "speed"


def test_an_empty_reference_is_refused(data_dir):
    result = CliRunner().invoke(
        main, ["bench", "speed", "--audio", str(data_dir / "en.wav"), "--reference", "  "]
    )
    assert result.exit_code == 2
    assert "error: --reference is empty" in result.output
