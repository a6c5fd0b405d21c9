"""Recording and playback with a scripted stand-in for sounddevice: no sound card needed."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from yuyin.audio import devices, generate_tone, list_devices, load_audio, play, record
from yuyin.audio.devices import audio_backend, play_and_record
from yuyin.cli import main
from yuyin.errors import ConfigurationError, MissingDependencyError


class FakePortAudioError(Exception):
    pass


@dataclass
class FakeStream:
    """Reads a scripted signal, records what is written; optionally a loopback with a delay."""

    settings: dict[str, Any]
    source: np.ndarray | None = None  # (frames, channels) handed out by read()
    interrupt_after: int | None = None  # reads before a KeyboardInterrupt (Ctrl-C)
    loopback_delay: int | None = None
    written: list[np.ndarray] = field(default_factory=list)
    reads: int = 0
    position: int = 0
    started: bool = False
    closed: bool = False

    def __enter__(self) -> FakeStream:
        self.started = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True

    def read(self, frames: int) -> tuple[np.ndarray, bool]:
        if self.interrupt_after is not None and self.reads >= self.interrupt_after:
            raise KeyboardInterrupt
        self.reads += 1
        if self.loopback_delay is not None:
            played = np.concatenate(self.written)[:, :1]
            delayed = np.concatenate([np.zeros((self.loopback_delay, 1)), 0.5 * played])
            data = delayed[self.position : self.position + frames]
        else:
            assert self.source is not None
            data = self.source[self.position : self.position + frames]
        self.position += frames
        return data.astype(np.float32), False

    def write(self, data: np.ndarray) -> bool:
        assert data.flags.c_contiguous
        self.written.append(np.array(data))
        return False


class FakeSoundDevice:
    """The parts of the sounddevice module yuyin uses."""

    PortAudioError = FakePortAudioError

    def __init__(self, devices: list[dict[str, Any]] | None = None, **stream: Any) -> None:
        self.devices = DEVICES if devices is None else devices
        self.default = SimpleNamespace(device=[0, 1])
        self.stream_options = stream
        self.streams: list[FakeStream] = []

    def query_devices(self) -> list[dict[str, Any]]:
        return self.devices

    def query_hostapis(self) -> list[dict[str, Any]]:
        return [{"name": "ALSA"}]

    def _open(self, **settings: Any) -> FakeStream:
        if settings.get("device") == "broken":
            raise FakePortAudioError("Invalid device [PaErrorCode -9996]")
        stream = FakeStream(settings, **self.stream_options)
        self.streams.append(stream)
        return stream

    InputStream = OutputStream = Stream = _open


DEVICES = [
    {"name": "Mic", "index": 0, "hostapi": 0, "max_input_channels": 2,
     "max_output_channels": 0, "default_samplerate": 48000.0},
    {"name": "Speakers", "index": 1, "hostapi": 0, "max_input_channels": 0,
     "max_output_channels": 2, "default_samplerate": 44100.0},
]  # fmt: skip


def test_list_devices_marks_defaults():
    found = list_devices(backend=FakeSoundDevice())
    assert [d.name for d in found] == ["Mic", "Speakers"]
    assert found[0].is_default_input
    assert not found[0].is_default_output
    assert found[1].is_default_output
    assert found[0].host_api == "ALSA"
    assert found[1].default_sample_rate == 44100.0


def test_record_for_a_duration():
    source = np.tile(np.linspace(-0.5, 0.5, 1000, dtype=np.float32)[:, None], (20, 2))
    backend = FakeSoundDevice(source=source)
    audio = record(duration=1.0, sample_rate=16000, channels=2, backend=backend)
    assert audio.shape == (2, 16000)
    assert np.array_equal(audio[0], source[:16000, 0])
    stream = backend.streams[0]
    assert stream.settings["samplerate"] == 16000
    assert stream.settings["channels"] == 2
    assert stream.started
    assert stream.closed


def test_record_until_ctrl_c_keeps_what_was_captured():
    source = np.ones((100_000, 1), dtype=np.float32) * 0.1
    backend = FakeSoundDevice(source=source, interrupt_after=5)
    audio = record(duration=None, sample_rate=8000, block_ms=50, backend=backend)
    assert audio.shape == (1, 5 * 400)
    assert backend.streams[0].closed


def test_play_writes_every_frame_in_blocks():
    backend = FakeSoundDevice()
    tone = generate_tone("sine", duration=0.3, sample_rate=8000, channels=2)
    play(tone, 8000, block_ms=50, backend=backend)
    written = np.concatenate(backend.streams[0].written)
    assert written.shape == (2400, 2)
    assert np.array_equal(written.T, tone)
    assert backend.streams[0].settings["channels"] == 2


def test_play_and_record_captures_the_device_delay():
    backend = FakeSoundDevice(loopback_delay=77)
    tone = generate_tone("sine", frequency=500, duration=0.2, sample_rate=8000)
    captured = play_and_record(tone, 8000, tail=0.05, backend=backend)
    assert captured.shape == (1, 1600 + 400)
    assert np.allclose(captured[0, 77 : 77 + 1600], 0.5 * tone[0], atol=1e-6)


def test_no_input_device_is_said_clearly():
    only_speakers = FakeSoundDevice(devices=DEVICES[1:])
    with pytest.raises(ConfigurationError, match="no audio input device") as caught:
        record(duration=1.0, backend=only_speakers)
    assert "yuyin audio devices" in caught.value.hint
    with pytest.raises(ConfigurationError, match="no devices at all"):
        play(np.zeros(10), 8000, backend=FakeSoundDevice(devices=[]))


def test_portaudio_errors_become_configuration_errors():
    with pytest.raises(ConfigurationError, match="PaErrorCode"):
        record(duration=0.1, device="broken", backend=FakeSoundDevice(source=np.zeros((10, 1))))


def _fail_import(name: str, error: type[Exception]):
    real_import = builtins.__import__

    def fake_import(module: str, *args: Any, **kwargs: Any) -> Any:
        if module == name:
            raise error("PortAudio library not found")
        return real_import(module, *args, **kwargs)

    return fake_import


def test_missing_portaudio_names_the_system_package(monkeypatch):
    monkeypatch.delitem(__import__("sys").modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", _fail_import("sounddevice", OSError))
    with pytest.raises(ConfigurationError, match="PortAudio") as caught:
        audio_backend()
    assert "apt-get install libportaudio2" in caught.value.hint


def test_missing_sounddevice_names_the_extra(monkeypatch):
    monkeypatch.delitem(__import__("sys").modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", _fail_import("sounddevice", ImportError))
    with pytest.raises(MissingDependencyError) as caught:
        audio_backend()
    assert caught.value.hint == "pip install 'yuyin[audio]'"


@pytest.fixture
def fake_backend(monkeypatch):
    source = np.full((48000, 1), 0.25, dtype=np.float32)
    backend = FakeSoundDevice(source=source)
    monkeypatch.setattr(devices, "audio_backend", lambda: backend)
    return backend


def test_cli_devices_record_and_play_with_the_fake(fake_backend, tmp_path):
    runner = CliRunner()
    listed = runner.invoke(main, ["audio", "devices", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [d["name"] for d in json.loads(listed.stdout)["devices"]] == ["Mic", "Speakers"]
    text = runner.invoke(main, ["audio", "devices"])
    assert "default input" in text.output

    out = tmp_path / "rec.wav"
    recorded = runner.invoke(main, ["audio", "record", str(out), "-d", "0.5", "--json"])
    assert recorded.exit_code == 0, recorded.output
    assert json.loads(recorded.stdout)["duration"] == 0.5
    loaded = load_audio(out)
    assert loaded.samples.shape == (1, 8000)
    assert np.allclose(loaded.samples, 0.25, atol=1e-4)

    played = runner.invoke(main, ["audio", "play", str(out), "--device", "1"])
    assert played.exit_code == 0, played.output
    assert fake_backend.streams[-1].settings["device"] == 1
    assert sum(len(w) for w in fake_backend.streams[-1].written) == 8000


def test_cli_loopback_snr_reports_the_delay(monkeypatch):
    backend = FakeSoundDevice(loopback_delay=480)
    monkeypatch.setattr(devices, "audio_backend", lambda: backend)
    result = CliRunner().invoke(main, ["audio", "snr", "--loopback", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["delay_ms"] == pytest.approx(10.0, abs=0.03)
    assert report["gain_db"] == pytest.approx(-6.02, abs=0.01)
    assert report["fundamental_hz"] == pytest.approx(1000.0, abs=0.01)


def test_cli_without_devices_says_so(monkeypatch):
    monkeypatch.setattr(devices, "audio_backend", lambda: FakeSoundDevice(devices=[]))
    runner = CliRunner()
    listed = runner.invoke(main, ["audio", "devices"])
    assert listed.exit_code == 0
    assert "no audio devices found" in listed.output
    recorded = runner.invoke(main, ["audio", "record", "x.wav", "-d", "1"])
    assert recorded.exit_code == 2
    assert "error: no audio input device found" in recorded.output
