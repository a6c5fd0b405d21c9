"""Vocal separation before recognition: Demucs when its weights are on disk, else a light one.

The light separator needs no weights. Music repeats (a bar, a chorus, a drum pattern) while
speech does not, so for every short-time spectrum it finds the most similar spectra at least
a second away and takes their median as the background (REPET-SIM, Rafii and Pardo 2012);
a soft (Wiener-style) mask then keeps what the background model does not explain. Splitting
the mixture first by harmonic/percussive separation (HPSS) and modelling each part apart was
measured too (bench/separation.py) and is not used: on speech under loud music (-10 dB) it
removed more speech than music and lost the WER gain. Work is done in overlapping blocks, so
memory stays bounded however long the input is.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from yuyin.audio.encode import extension_for, write_audio
from yuyin.errors import ConfigurationError, MissingDependencyError, ModelNotFoundError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "HTDEMUCS_WEIGHTS",
    "Stems",
    "check_separator",
    "demucs_weights",
    "separate_light",
    "separate_vocals",
    "write_stems",
]

log = logging.getLogger(__name__)

#: The file name of the htdemucs weights, as Demucs stores them in the torch hub cache.
HTDEMUCS_WEIGHTS = "955717e8-8726e21a.th"
_HTDEMUCS_URL = "https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/" + HTDEMUCS_WEIGHTS

# STFT of the light separator at 16 kHz: 64 ms windows, 16 ms hops.
_N_FFT = 1024
_HOP = 256


@dataclass(frozen=True, slots=True)
class Stems:
    """The separated parts of a mixture, each mono float32 at `sample_rate`.

    Attributes:
        vocals: the voice (what recognition runs on).
        accompaniment: everything else (the mixture minus the vocals).
        sample_rate: rate of both, in Hz.
        method: which separator made them (`light` or `demucs`).
    """

    vocals: NDArray[np.float32]
    accompaniment: NDArray[np.float32]
    sample_rate: int
    method: str


def _librosa() -> ModuleType:
    try:
        import librosa
    except ImportError as exc:
        raise MissingDependencyError("librosa", "media", "--separate-vocals") from exc
    return librosa


def _blocks(
    samples: NDArray[np.float32],
    block: int,
    overlap: int,
    process: Callable[[NDArray[np.float32]], NDArray[np.float32]],
) -> NDArray[np.float32]:
    """Run `process` on overlapping blocks and cross-fade the results back together."""
    if samples.size <= block:
        return process(samples)
    out = np.zeros(samples.size, dtype=np.float64)
    weight = np.zeros(samples.size, dtype=np.float64)
    step = block - overlap
    start = 0
    while True:
        piece = samples[start : start + block]
        # A short last block would lack repetitions to learn from: end on a full block.
        if piece.size < block and start > 0:
            start = samples.size - block
            piece = samples[start:]
        done = process(piece)
        ramp = np.ones(piece.size)
        fade = min(overlap, piece.size // 2)
        if fade:
            if start > 0:
                ramp[:fade] = np.linspace(0.0, 1.0, fade)
            if start + piece.size < samples.size:
                ramp[-fade:] = np.linspace(1.0, 0.0, fade)
        out[start : start + piece.size] += done * ramp
        weight[start : start + piece.size] += ramp
        if start + piece.size >= samples.size:
            break
        start += step
    return (out / np.maximum(weight, 1e-9)).astype(np.float32)


def _repeating(magnitude: NDArray[np.float32], min_gap_frames: int) -> NDArray[np.float32]:
    """REPET-SIM: each frame's background is the median of its most similar distant frames."""
    librosa = _librosa()
    if magnitude.shape[1] <= 2 * min_gap_frames + 2:
        return magnitude  # too short to find repetitions: everything may be background
    model = librosa.decompose.nn_filter(
        magnitude, aggregate=np.median, metric="cosine", width=min_gap_frames
    )
    return np.minimum(magnitude, np.asarray(model, dtype=np.float32))


def _separate_block(samples: NDArray[np.float32], sample_rate: int) -> NDArray[np.float32]:
    librosa = _librosa()
    if samples.size < _N_FFT:
        return samples
    spectrum = librosa.stft(samples, n_fft=_N_FFT, hop_length=_HOP)
    magnitude = np.abs(spectrum).astype(np.float32)
    gap = max(1, round(sample_rate / _HOP))  # repetitions at least a second apart
    background = _repeating(magnitude, gap)
    mask = librosa.util.softmask(magnitude - background, background, power=2)
    vocals = librosa.istft(mask * spectrum, hop_length=_HOP, length=samples.size)
    return np.asarray(vocals, dtype=np.float32)


def separate_light(
    samples: NDArray[np.float32], sample_rate: int = 16000, *, block_seconds: float = 30.0
) -> Stems:
    """Separate vocals with no model: a repeating-background model and soft masks.

    Args:
        samples: mono float32 audio.
        sample_rate: its rate in Hz.
        block_seconds: length of the blocks worked on at a time (they overlap by 2 s); the
            background is learnt within a block, so a block should span several bars.
    """
    mono = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
    if mono.size == 0:
        return Stems(mono, mono.copy(), sample_rate, "light")
    block = max(int(block_seconds * sample_rate), 4 * sample_rate)
    vocals = _blocks(mono, block, 2 * sample_rate, lambda b: _separate_block(b, sample_rate))
    return Stems(vocals, (mono - vocals).astype(np.float32), sample_rate, "light")


# --- Demucs ---------------------------------------------------------------------------------


def _hub_checkpoints() -> Path | None:
    try:
        import torch
    except ImportError:
        return None
    return Path(torch.hub.get_dir()) / "checkpoints"


def demucs_weights(demucs_model: str | os.PathLike[str] | None = None) -> Path:
    """Find the htdemucs weights: the given file or folder, else the torch hub cache.

    Raises:
        ModelNotFoundError: no weights there; the hint says where to put them.
    """
    if demucs_model is not None:
        path = Path(demucs_model).expanduser()
        candidate: Path | None = path / HTDEMUCS_WEIGHTS if path.is_dir() else path
        where = str(candidate)
    else:
        hub = _hub_checkpoints()
        candidate = hub / HTDEMUCS_WEIGHTS if hub is not None else None
        where = str(candidate) if candidate else f"<torch hub>/checkpoints/{HTDEMUCS_WEIGHTS}"
    if candidate is None or not candidate.is_file():
        raise ModelNotFoundError(
            f"the Demucs htdemucs weights are not at {where}",
            hint=f"download {_HTDEMUCS_URL} to that path (or pass --demucs-model FILE), or "
            "use --separator light, which needs no weights",
        )
    return candidate


def _demucs_installed() -> bool:
    try:
        import demucs  # noqa: F401
    except ImportError:
        return False
    return True


def _separate_demucs(
    samples: NDArray[np.float32], sample_rate: int, weights: Path, block_seconds: float
) -> Stems:
    import soxr  # the `audio` extra; demucs users have it through yuyin[media]
    import torch
    from demucs.apply import apply_model
    from demucs.states import load_model

    model = load_model(str(weights))
    model.eval()
    rate = int(model.samplerate)
    vocals_index = list(model.sources).index("vocals")

    def run(block: NDArray[np.float32]) -> NDArray[np.float32]:
        wide = soxr.resample(block, sample_rate, rate).astype(np.float32)
        stereo = torch.from_numpy(np.stack([wide] * int(model.audio_channels)))
        with torch.no_grad():
            sources = apply_model(model, stereo[None], device="cpu", split=True, progress=False)
        voice = sources[0, vocals_index].mean(dim=0).numpy()
        back = soxr.resample(voice, rate, sample_rate).astype(np.float32)
        return np.resize(back, block.shape)

    mono = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
    block = max(int(block_seconds * sample_rate), 10 * sample_rate)
    vocals = _blocks(mono, block, 2 * sample_rate, run)
    return Stems(vocals, (mono - vocals).astype(np.float32), sample_rate, "demucs")


def check_separator(separator: str, demucs_model: str | os.PathLike[str] | None = None) -> None:
    """Fail now, before any decoding, if `separator` cannot run here.

    Raises:
        ConfigurationError: an unknown separator.
        MissingDependencyError: `demucs` was asked for and is not installed.
        ModelNotFoundError: `demucs` was asked for and its weights are not found.
    """
    if separator not in ("auto", "light", "demucs"):
        raise ConfigurationError(
            f"unknown separator {separator!r}", hint="use --separator auto, light or demucs"
        )
    if separator != "demucs":
        return  # light needs no weights; auto falls back to it
    if not _demucs_installed():
        error = MissingDependencyError("demucs", "media", "--separator demucs")
        error.hint = (
            "pip install demucs (it brings PyTorch), then put the htdemucs weights "
            f"({HTDEMUCS_WEIGHTS}) in the torch hub cache or pass --demucs-model; "
            "or use --separator light, which needs no weights"
        )
        raise error
    demucs_weights(demucs_model)


def separate_vocals(
    samples: NDArray[np.float32],
    sample_rate: int = 16000,
    *,
    separator: str = "auto",
    demucs_model: str | os.PathLike[str] | None = None,
    block_seconds: float = 30.0,
) -> Stems:
    """Split a mixture into vocals and accompaniment.

    Args:
        samples: mono float32 audio.
        sample_rate: its rate in Hz.
        separator: `auto` (Demucs when installed and its weights are found, else light),
            `light` or `demucs`.
        demucs_model: htdemucs weights file or folder; None looks in the torch hub cache.
        block_seconds: the length of the blocks worked on at a time.

    Raises:
        ConfigurationError: an unknown separator.
        MissingDependencyError: librosa (light) or demucs is not installed.
        ModelNotFoundError: `demucs` was asked for and its weights are not found.
    """
    check_separator(separator, demucs_model)
    if separator == "demucs" or (separator == "auto" and _demucs_installed()):
        try:
            weights = demucs_weights(demucs_model)
        except ModelNotFoundError:
            if separator == "demucs":
                raise
            log.info("Demucs weights not found; using the light separator")
        else:
            return _separate_demucs(samples, sample_rate, weights, block_seconds)
    return separate_light(samples, sample_rate, block_seconds=block_seconds)


def write_stems(
    stems: Stems, folder: str | os.PathLike[str], name: str, audio_format: str = "wav"
) -> dict[str, str]:
    """Write `<folder>/<name>.vocals.<ext>` and `.accompaniment.<ext>` atomically.

    Returns:
        stem name (`vocals`, `accompaniment`) → path written.

    Raises:
        ConfigurationError: an unknown format.
        OutputError: a file cannot be written.
    """
    extension = extension_for(audio_format)
    written: dict[str, str] = {}
    for part, audio in (("vocals", stems.vocals), ("accompaniment", stems.accompaniment)):
        path = Path(folder) / f"{name}.{part}{extension}"
        written[part] = str(write_audio(path, audio, stems.sample_rate, audio_format=audio_format))
    return written
