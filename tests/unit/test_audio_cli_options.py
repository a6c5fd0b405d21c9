"""`yuyin audio` option parsing and text reports, in-process (the subprocess runs are in
tests/integration/test_audio_cli.py)."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
from click.testing import CliRunner

from yuyin.audio import (
    convert_audio,
    devices,
    generate_tone,
    load_audio,
    split_audio,
    write_audio,
)
from yuyin.cli import main
from yuyin.cli.audio import convert_command, split_command, tone_command


def run(*args: str):
    return CliRunner().invoke(main, ["audio", *args])


@pytest.mark.parametrize(
    ("command", "function", "cli_only", "positional"),
    [
        (convert_command, convert_audio, {"input_file", "output_file", "json_output"},
         {"source", "destination"}),
        (split_command, split_audio, {"input_file", "json_output"}, {"source"}),
        (tone_command, generate_tone, {"output_file", "sample_format", "json_output"}, set()),
    ],
)  # fmt: skip
def test_flags_are_the_library_keyword_arguments(command, function, cli_only, positional):
    """The commands forward **params, so flag names must stay the functions' keywords."""
    flags = {p.name for p in command.params} - cli_only
    keywords = set(inspect.signature(function).parameters) - positional
    assert flags == keywords


@pytest.mark.parametrize(
    ("size", "expected"),
    [("10MB", 10_000_000), ("25MiB", 25 * 2**20), ("500k", 500_000), ("1.5m", 1_500_000)],
)
def test_sizes_with_units(data_dir, tmp_path, size, expected):
    result = run("split", str(data_dir / "en.wav"), "-o", str(tmp_path), "--max-bytes", size)
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "en.manifest.json").read_text())
    assert manifest["max_bytes"] == expected


@pytest.mark.parametrize("size", ["ten", "0", "5 parsecs", "-3MB"])
def test_bad_sizes_are_usage_errors(data_dir, tmp_path, size):
    result = run("split", str(data_dir / "en.wav"), "-o", str(tmp_path), "--max-bytes", size)
    assert result.exit_code == 2
    assert "positive amount" in result.output


def test_bad_plot_kind_is_a_usage_error(data_dir, tmp_path):
    result = run("plot", str(data_dir / "en.wav"), "-o", str(tmp_path / "x.png"), "-k", "fft")
    assert result.exit_code == 2
    assert "unknown kind(s) fft" in result.output


def test_text_reports(data_dir, tmp_path):
    info = run("info", str(data_dir / "silence.wav"))
    assert "peak         -inf dBFS" in info.output
    assert "100.0%" in info.output
    tone = run("tone", str(tmp_path / "t.flac"), "-d", "0.5", "-c", "2", "--sample-format", "s24")
    assert "wrote" in tone.output
    assert load_audio(tmp_path / "t.flac").bit_depth == 24
    snr = run("snr", str(tmp_path / "t.flac"), str(tmp_path / "t.flac"))
    assert "THD+N" in snr.output
    assert "inf dB" in snr.output
    bitrate = run("convert", str(tmp_path / "t.flac"), str(tmp_path / "t.mp3"), "--bitrate", "64k")
    assert bitrate.exit_code == 0, bitrate.output


def test_snr_argument_combinations(data_dir):
    assert run("snr", str(data_dir / "en.wav")).exit_code == 2
    both = run("snr", "--loopback", str(data_dir / "en.wav"), str(data_dir / "en.wav"))
    assert both.exit_code == 2
    assert "--loopback records the capture itself" in both.output


def test_resampled_capture_is_compared_at_the_reference_rate(tmp_path):
    tone = generate_tone("white", duration=1.0, sample_rate=48000, level_dbfs=-20)
    write_audio(tmp_path / "ref.wav", tone, 48000)
    converted = run("convert", str(tmp_path / "ref.wav"), str(tmp_path / "cap.wav"), "-r", "16000")
    assert converted.exit_code == 0, converted.output
    result = run("snr", str(tmp_path / "ref.wav"), str(tmp_path / "cap.wav"), "--json")
    report = json.loads(result.stdout)
    assert report["sample_rate"] == 48000
    assert abs(report["delay_samples"]) <= 1


class _Backend:
    """Just enough sounddevice for record/loopback paths not covered elsewhere."""

    PortAudioError = RuntimeError
    default = type("Default", (), {"device": (0, 0)})()

    def __init__(self, interrupt: bool = False) -> None:
        self.interrupt = interrupt
        self.played: list[np.ndarray] = []

    def query_devices(self):
        return [{"name": "Duplex", "max_input_channels": 1, "max_output_channels": 1,
                 "default_samplerate": 48000.0}]  # fmt: skip

    def InputStream(self, **_settings):  # noqa: N802 - sounddevice's name
        return self

    Stream = InputStream

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def read(self, frames: int):
        if self.interrupt:
            raise KeyboardInterrupt
        played = np.concatenate(self.played) if self.played else np.zeros((0, 1))
        return played[-frames:].astype(np.float32), False

    def write(self, data: np.ndarray) -> bool:
        self.played.append(data)
        return False


def test_record_until_ctrl_c_with_nothing_captured(monkeypatch, tmp_path):
    monkeypatch.setattr(devices, "audio_backend", lambda: _Backend(interrupt=True))
    result = run("record", str(tmp_path / "r.wav"))
    assert "press Ctrl-C" in result.output
    assert result.exit_code == 3
    assert "nothing was recorded" in result.output


def test_loopback_with_a_reference_file_and_saved_capture(monkeypatch, tmp_path):
    monkeypatch.setattr(devices, "audio_backend", lambda: _Backend())
    write_audio(tmp_path / "ref.wav", generate_tone("pink", duration=0.5), 48000)
    result = run(
        "snr", "--loopback", str(tmp_path / "ref.wav"), "--save-capture", str(tmp_path / "c.wav")
    )
    assert result.exit_code == 0, result.output
    assert "delay    0.000 ms" in result.output
    assert load_audio(tmp_path / "c.wav").duration == pytest.approx(1.0)
