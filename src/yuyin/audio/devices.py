"""Sound cards through sounddevice (PortAudio): list devices, record, play, play and record.

Every function takes `backend`: None imports sounddevice; tests pass a stand-in object with
the same names (`query_devices`, `default`, `InputStream`, `OutputStream`, `Stream`,
`PortAudioError`) whose streams are scripted, so no sound card is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from yuyin.audio.samples import as_channels
from yuyin.errors import ConfigurationError, MissingDependencyError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DeviceInfo",
    "audio_backend",
    "list_devices",
    "play",
    "play_and_record",
    "record",
]

logger = logging.getLogger(__name__)

#: The sounddevice module, or an object with the same names (see the module docstring).
Backend = Any

_DEVICE_HINT = "`yuyin audio devices` lists the devices; choose one with --device"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One PortAudio device.

    Attributes:
        index: PortAudio's device number (what --device takes, as does the name).
        name: the device name.
        host_api: the audio system it belongs to (ALSA, Core Audio, WASAPI...).
        max_input_channels: 0 for an output-only device.
        max_output_channels: 0 for an input-only device.
        default_sample_rate: the device's preferred rate in Hz.
        is_default_input: the device recording uses when none is named.
        is_default_output: the device playback uses when none is named.
    """

    index: int
    name: str
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_sample_rate: float
    is_default_input: bool = False
    is_default_output: bool = False


def audio_backend() -> Backend:
    """Import sounddevice, translating a missing package or PortAudio library into YuyinErrors.

    Raises:
        MissingDependencyError: sounddevice (the `audio` extra) is not installed.
        ConfigurationError: the PortAudio system library is missing, so there are no devices.
    """
    try:
        import sounddevice
    except ImportError as exc:
        raise MissingDependencyError("sounddevice", "audio", "audio devices") from exc
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise ConfigurationError(
            "no audio devices: the PortAudio library is not installed on this machine",
            hint="install it (Debian/Ubuntu: apt-get install libportaudio2; macOS: "
            "brew install portaudio); on a server without a sound card there is nothing "
            "to record from or play to",
        ) from exc
    return sounddevice


def list_devices(*, backend: Backend = None) -> list[DeviceInfo]:
    """List the audio devices PortAudio sees (an empty list when there are none).

    Args:
        backend: sounddevice or a stand-in; None imports sounddevice.

    Raises:
        MissingDependencyError, ConfigurationError: see `audio_backend`.
    """
    sd = backend if backend is not None else audio_backend()
    with _translated(sd):
        found = list(sd.query_devices())
        # sounddevice's pair is indexable, not a list; -1 means "no default".
        default_in, default_out = sd.default.device[0], sd.default.device[1]
        apis = [api["name"] for api in sd.query_hostapis()] if hasattr(sd, "query_hostapis") else []
    devices = []
    for position, device in enumerate(found):
        index = int(device.get("index", position))
        api = int(device.get("hostapi", -1))
        devices.append(
            DeviceInfo(
                index=index,
                name=str(device["name"]),
                host_api=apis[api] if 0 <= api < len(apis) else "",
                max_input_channels=int(device["max_input_channels"]),
                max_output_channels=int(device["max_output_channels"]),
                default_sample_rate=float(device["default_samplerate"]),
                is_default_input=index == default_in,
                is_default_output=index == default_out,
            )
        )
    return devices


def record(
    *,
    duration: float | None,
    sample_rate: int = 16000,
    channels: int = 1,
    device: int | str | None = None,
    block_ms: float = 50.0,
    backend: Backend = None,
) -> NDArray[np.float32]:
    """Record from an input device for `duration` seconds, or until Ctrl-C when None.

    Ctrl-C (KeyboardInterrupt) ends the recording early and keeps what was captured.

    Args:
        duration: seconds to record; None records until Ctrl-C.
        sample_rate: rate in Hz.
        channels: input channels to capture.
        device: device number or (part of) its name; None uses the default input.
        block_ms: size of each read, in milliseconds.
        backend: sounddevice or a stand-in; None imports sounddevice.

    Returns:
        float32 samples shaped (channels, frames).

    Raises:
        ConfigurationError: no input device, PortAudio missing, or settings it refuses.
        MissingDependencyError: sounddevice is not installed.
    """
    sd = backend if backend is not None else audio_backend()
    _require(sd, "input", device)
    block = max(1, round(sample_rate * block_ms / 1000))
    target = None if duration is None else max(0, round(duration * sample_rate))
    chunks: list[NDArray[np.float32]] = []
    got = 0
    with (
        _translated(sd),
        sd.InputStream(
            samplerate=sample_rate,
            channels=channels,
            dtype="float32",
            device=device,
            blocksize=block,
        ) as stream,
    ):
        try:
            while target is None or got < target:
                want = block if target is None else min(block, target - got)
                data, overflowed = stream.read(want)
                if overflowed:
                    logger.warning("input overflow: some samples were lost")
                chunks.append(np.asarray(data, dtype=np.float32).reshape(-1, channels))
                got += want
        except KeyboardInterrupt:
            logger.info("recording stopped by Ctrl-C after %.2f s", got / sample_rate)
    if not chunks:
        return np.zeros((channels, 0), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(chunks).T)


def play(
    audio: ArrayLike,
    sample_rate: int,
    *,
    device: int | str | None = None,
    block_ms: float = 50.0,
    backend: Backend = None,
) -> None:
    """Play samples on an output device and return when they have been played.

    Args:
        audio: samples shaped (frames,) or (channels, frames), ±1.0 full scale.
        sample_rate: rate of `audio` in Hz.
        device: device number or (part of) its name; None uses the default output.
        block_ms: size of each write, in milliseconds.
        backend: sounddevice or a stand-in; None imports sounddevice.

    Raises:
        ConfigurationError: no output device, PortAudio missing, or settings it refuses.
        MissingDependencyError: sounddevice is not installed.
    """
    sd = backend if backend is not None else audio_backend()
    _require(sd, "output", device)
    frames = np.ascontiguousarray(as_channels(audio).T)
    block = max(1, round(sample_rate * block_ms / 1000))
    with (
        _translated(sd),
        sd.OutputStream(
            samplerate=sample_rate,
            channels=frames.shape[1],
            dtype="float32",
            device=device,
            blocksize=block,
        ) as stream,
    ):
        for at in range(0, frames.shape[0], block):
            if stream.write(np.ascontiguousarray(frames[at : at + block])):
                logger.warning("output underflow: playback had a gap")


def play_and_record(
    audio: ArrayLike,
    sample_rate: int,
    *,
    input_channels: int = 1,
    device: int | str | None = None,
    tail: float = 0.5,
    block_ms: float = 20.0,
    backend: Backend = None,
) -> NDArray[np.float32]:
    """Play `audio` and record at the same time on one duplex stream (a loopback test).

    Args:
        audio: samples to play, shaped (frames,) or (channels, frames).
        sample_rate: rate in Hz, for both directions.
        input_channels: channels to capture.
        device: device number or name; None uses the default input and output.
        tail: seconds of silence played after `audio`, so the device's delay is captured.
        block_ms: size of each write and read, in milliseconds.
        backend: sounddevice or a stand-in; None imports sounddevice.

    Returns:
        the capture, float32 shaped (input_channels, frames), `tail` longer than `audio`.

    Raises:
        ConfigurationError: no input or output device, PortAudio missing, or bad settings.
        MissingDependencyError: sounddevice is not installed.
    """
    sd = backend if backend is not None else audio_backend()
    _require(sd, "input", device)
    _require(sd, "output", device)
    out = as_channels(audio)
    padding = np.zeros((out.shape[0], max(0, round(tail * sample_rate))), dtype=np.float32)
    frames = np.ascontiguousarray(np.concatenate([out, padding], axis=1).T)
    block = max(1, round(sample_rate * block_ms / 1000))
    captured: list[NDArray[np.float32]] = []
    with (
        _translated(sd),
        sd.Stream(
            samplerate=sample_rate,
            channels=(input_channels, frames.shape[1]),
            dtype="float32",
            device=device,
            blocksize=block,
        ) as stream,
    ):
        for at in range(0, frames.shape[0], block):
            chunk = np.ascontiguousarray(frames[at : at + block])
            stream.write(chunk)
            data, _overflowed = stream.read(chunk.shape[0])
            captured.append(np.asarray(data, dtype=np.float32).reshape(-1, input_channels))
    if not captured:
        return np.zeros((input_channels, 0), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(captured).T)


def _require(sd: Backend, direction: str, device: int | str | None) -> None:
    """Fail clearly when no device can capture (or play) before PortAudio says it cryptically."""
    key = f"max_{direction}_channels"
    with _translated(sd):
        devices = list(sd.query_devices())
    if device is None and not any(int(d[key]) > 0 for d in devices):
        raise ConfigurationError(
            f"no audio {direction} device found"
            + (" (PortAudio sees no devices at all)" if not devices else ""),
            hint="connect a microphone or sound card; " + _DEVICE_HINT,
        )


@contextmanager
def _translated(sd: Backend) -> Iterator[None]:
    """Turn PortAudio's and sounddevice's errors into a ConfigurationError with a hint."""
    errors: tuple[type[BaseException], ...] = (ValueError,)
    portaudio_error = getattr(sd, "PortAudioError", None)
    if isinstance(portaudio_error, type) and issubclass(portaudio_error, Exception):
        errors = (portaudio_error, ValueError)
    try:
        yield
    except errors as exc:
        raise ConfigurationError(f"audio device error: {exc}", hint=_DEVICE_HINT) from exc
