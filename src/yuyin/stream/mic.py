"""Live audio from the default microphone through sounddevice (PortAudio)."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from yuyin.audio import SAMPLE_RATE
from yuyin.errors import InputError, MissingDependencyError

__all__ = ["microphone_chunks", "open_microphone"]


def _sounddevice() -> Any:
    try:
        import sounddevice
    except ImportError as exc:
        raise MissingDependencyError("sounddevice", "audio", "microphone input") from exc
    except OSError as exc:  # sounddevice imports fine but cannot find libportaudio
        raise InputError(
            f"no audio input available: {exc}",
            hint="install PortAudio (Debian/Ubuntu: sudo apt-get install libportaudio2), "
            "or stream a file instead of --mic",
        ) from exc
    return sounddevice


def open_microphone(chunk_sec: float = 0.1, device: int | str | None = None) -> Any:
    """Open (not yet start) a 16 kHz mono float32 input stream and its queue of chunks.

    Args:
        chunk_sec: seconds per callback block.
        device: a PortAudio device index or name; None is the default input.

    Raises:
        MissingDependencyError: sounddevice is not installed (`pip install 'yuyin[audio]'`).
        InputError: PortAudio is missing, or there is no usable input device.
    """
    sd = _sounddevice()
    try:
        sd.query_devices(device, kind="input")
    except (ValueError, sd.PortAudioError) as exc:
        raise InputError(
            f"no microphone found ({exc})",
            hint="connect a microphone or pick one by number; `python -m sounddevice` lists them",
        ) from exc
    chunks: queue.Queue[NDArray[np.float32]] = queue.Queue()

    def callback(data: Any, _frames: int, _time: Any, _status: Any) -> None:
        chunks.put(np.array(data[:, 0], dtype=np.float32))

    try:
        stream = sd.InputStream(
            samplerate=SAMPLE_RATE,
            channels=1,
            dtype="float32",
            blocksize=max(1, int(chunk_sec * SAMPLE_RATE)),
            device=device,
            callback=callback,
        )
    except sd.PortAudioError as exc:
        raise InputError(
            f"cannot open the microphone at 16 kHz mono: {exc}",
            hint="check the device supports 16 kHz input or choose another one",
        ) from exc
    return stream, chunks


def microphone_chunks(
    chunk_sec: float = 0.1, device: int | str | None = None
) -> Iterator[NDArray[np.float32]]:
    """Open the microphone now; the iterator yields what it recorded since the last chunk.

    Everything queued while the caller was busy decoding comes back as one chunk, so a slow
    step is followed by one larger step rather than a backlog. Recording stops when the
    iterator is closed.

    Args:
        chunk_sec: seconds per callback block.
        device: a PortAudio device index or name; None is the default input.

    Raises:
        MissingDependencyError: sounddevice is not installed.
        InputError: PortAudio is missing, or there is no usable input device.
    """
    stream, chunks = open_microphone(chunk_sec, device)
    return _drain(stream, chunks)


def _drain(stream: Any, chunks: queue.Queue[NDArray[np.float32]]) -> Iterator[NDArray[np.float32]]:
    with stream:
        while True:
            parts = [chunks.get()]
            while True:
                try:
                    parts.append(chunks.get_nowait())
                except queue.Empty:
                    break
            yield np.concatenate(parts)
