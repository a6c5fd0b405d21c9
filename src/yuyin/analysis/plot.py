"""Figures of a signal: waveform, spectrum, spectrogram, mel, MFCC and Whisper's log-mel.

Built on matplotlib's object API with the Agg canvas (no pyplot, no display, no global
state), so plotting works headless and from several threads.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from yuyin.analysis.spectral import mel, mfcc, spectrum, stft, whisper_log_mel
from yuyin.audio.samples import as_channels, to_mono
from yuyin.errors import ConfigurationError, InputError, MissingDependencyError
from yuyin.fileio import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike, NDArray

__all__ = ["PLOT_KINDS", "plot_audio", "save_figure"]

#: Panels `plot_audio` can draw, in the order they are stacked.
PLOT_KINDS: tuple[str, ...] = ("waveform", "spectrum", "spectrogram", "mel", "mfcc", "whisper")

# Columns drawn per time panel at most; longer inputs use a larger hop or an envelope.
_MAX_COLUMNS = 4000
_SPECTRUM_FFT = 4096
_SPECTRUM_RANGE_DB = 120.0
_MEL_BANDS = 128
_MEL_FMAX = 8000.0


def plot_audio(
    audio: ArrayLike,
    sample_rate: int,
    *,
    kinds: Sequence[str] = PLOT_KINDS,
    start: float = 0.0,
    title: str = "",
    whisper_mels: int = 80,
    width: float = 11.0,
) -> Figure:
    """Draw the chosen panels stacked in one figure: one per channel, Whisper's once (mono mix).

    Every panel is an Axes labelled with its kind (`ax.get_label()`); colour bars are extra
    Axes labelled `<colorbar>`. Time axes run from `start` to `start` + duration.

    Args:
        audio: samples shaped (frames,) or (channels, frames), ±1.0 full scale.
        sample_rate: rate in Hz.
        kinds: panels from `PLOT_KINDS`, drawn in the order given.
        start: time of the first sample in the file, in seconds (for --start zooms).
        title: figure title, e.g. the file name.
        whisper_mels: Whisper's mel bands for the `whisper` panel, 80 or 128.
        width: figure width in inches (each panel is 2.2 inches high).

    Raises:
        ConfigurationError: an unknown kind or no kinds.
        InputError: the audio has no samples.
        MissingDependencyError: matplotlib or librosa (the `audio` extra) is missing.
    """
    unknown = [k for k in kinds if k not in PLOT_KINDS]
    if unknown or not kinds:
        raise ConfigurationError(
            f"unknown plot kind(s): {', '.join(unknown) or '(none given)'}",
            hint="choose from " + ", ".join(PLOT_KINDS),
        )
    channels = as_channels(audio)
    if channels.shape[1] == 0:
        raise InputError("there are no samples to plot", hint="check the file and --start/--end")
    figure_class = _matplotlib_figure()
    panels = [(k, c) for k in kinds for c in ([None] if k == "whisper" else range(len(channels)))]
    figure = figure_class(figsize=(width, 2.2 * len(panels)), layout="constrained")
    if title:
        figure.suptitle(title)
    duration = channels.shape[1] / sample_rate
    axes = figure.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (kind, channel) in zip(axes, panels, strict=True):
        ax.set_label(kind)
        signal = to_mono(channels) if channel is None else channels[channel]
        name = (
            kind
            if channel is None or len(channels) == 1
            else f"{kind} · {_channel_name(channel, len(channels))}"
        )
        if kind == "waveform":
            _waveform(ax, signal, sample_rate, start)
        elif kind == "spectrum":
            _spectrum(ax, signal, sample_rate)
        else:
            _image(figure, ax, kind, signal, sample_rate, start, whisper_mels)
        if kind != "spectrum":
            ax.set_xlim(start, start + duration)
            ax.set_xlabel("time (s)")
        ax.set_title(name, loc="left", fontsize="medium")
    return figure


def save_figure(figure: Figure, path: str | os.PathLike[str], *, dpi: int = 100) -> Path:
    """Render a figure to PNG and write it atomically.

    Args:
        figure: a figure from `plot_audio`.
        path: output file (.png).
        dpi: resolution in dots per inch.

    Raises:
        OutputError: the file cannot be written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)  # render with Agg whatever backend pyplot would pick
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return atomic_write_bytes(path, buffer.getvalue())


def _matplotlib_figure() -> type[Figure]:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError("matplotlib", "audio", "plots") from exc
    return Figure


def _channel_name(channel: int, count: int) -> str:
    return ("left", "right")[channel] if count == 2 else f"channel {channel + 1}"


def _waveform(ax: Axes, signal: NDArray[np.float32], sample_rate: int, start: float) -> None:
    """Samples as a line, or as a min/max envelope when there are more than the pixels."""
    count = signal.size
    if count <= 2 * _MAX_COLUMNS:
        times = start + np.arange(count) / sample_rate
        ax.plot(times, signal, linewidth=0.6, marker="." if count < 50 else None)
    else:
        edges = np.linspace(0, count, _MAX_COLUMNS + 1).astype(int)[:-1]
        lows = np.minimum.reduceat(signal, edges)
        highs = np.maximum.reduceat(signal, edges)
        ax.fill_between(start + edges / sample_rate, lows, highs, linewidth=0.3)
    ax.set_ylim(-1.0, 1.0)
    ax.set_ylabel("amplitude")
    ax.axhline(0.0, color="grey", linewidth=0.4)


def _spectrum(ax: Axes, signal: NDArray[np.float32], sample_rate: int) -> None:
    """The first 4096 samples, Hann window, dB re max, on a log frequency axis."""
    result = spectrum(signal, sample_rate, n_fft=_SPECTRUM_FFT, top_db=_SPECTRUM_RANGE_DB)
    ax.plot(result.frequencies[1:], result.magnitude_db[1:], linewidth=0.7)
    ax.set_xscale("log")
    ax.set_xlim(result.frequencies[1], sample_rate / 2)
    ax.set_ylim(-_SPECTRUM_RANGE_DB, 5.0)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("dB re max")
    ax.grid(True, which="both", linewidth=0.3, alpha=0.5)


def _image(
    figure: Figure,
    ax: Axes,
    kind: str,
    signal: NDArray[np.float32],
    sample_rate: int,
    start: float,
    whisper_mels: int,
) -> None:
    """A time-frequency panel with its colour bar."""
    # Long inputs: a larger hop keeps the image near the figure's resolution.
    hop = None if signal.size <= _MAX_COLUMNS * 128 else -(-signal.size // _MAX_COLUMNS)
    if kind == "spectrogram":
        result = stft(signal, sample_rate, hop_length=hop)
        top, ylabel, low, high = sample_rate / 2, "frequency (Hz)", -_SPECTRUM_RANGE_DB, 0.0
    elif kind == "mel":
        result = mel(signal, sample_rate, n_mels=_MEL_BANDS, fmax=_MEL_FMAX, hop_length=hop)
        top, ylabel = float(_MEL_BANDS), f"mel band (to {min(_MEL_FMAX, sample_rate / 2):g} Hz)"
        low, high = -80.0, 0.0
    elif kind == "mfcc":
        result = mfcc(signal, sample_rate, n_mels=_MEL_BANDS, fmax=_MEL_FMAX, hop_length=hop)
        top, ylabel = float(result.bins.size), "coefficient"
        # Coefficient 0 (overall loudness) dwarfs the rest; scale the colours to the others.
        rest = np.abs(result.values[..., 1:, :]) if result.bins.size > 1 else result.values
        high = max(float(np.percentile(np.abs(rest), 99)), 1e-6)
        low = -high
    else:
        result = whisper_log_mel(signal, sample_rate, n_mels=whisper_mels)
        top, ylabel = float(whisper_mels), f"Whisper mel band ({whisper_mels}, 16 kHz)"
        high = float(result.values.max())
        low = high - 2.0  # Whisper clamps log10 power to 8 below the max, scaled by 1/4
    # Whisper's hop is fixed at 10 ms: thin its columns instead.
    every = max(1, -(-result.times.size // _MAX_COLUMNS))
    times, values = result.times[::every], result.values[..., ::every]
    step = float(times[1] - times[0]) if times.size > 1 else 1 / sample_rate
    extent = (
        start + float(times[0]) - step / 2,
        start + float(times[-1]) + step / 2,
        0.0,
        top,
    )
    image = ax.imshow(
        values,
        origin="lower",
        aspect="auto",
        extent=extent,
        cmap="coolwarm" if kind == "mfcc" else "magma",
        vmin=low,
        vmax=high if high > low else low + 1.0,
        interpolation="nearest",
    )
    ax.set_ylim(0.0, top)
    ax.set_ylabel(ylabel)
    figure.colorbar(image, ax=ax, label=result.unit, pad=0.01)
