"""Figures: the right panels, axes ranges and colour bars, rendered headless to PNG."""

from __future__ import annotations

import numpy as np
import pytest

from yuyin.analysis import PLOT_KINDS, plot_audio, save_figure
from yuyin.audio import generate_tone, load_audio
from yuyin.errors import ConfigurationError, InputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _panels(figure):
    return [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]


def _colorbars(figure):
    return [ax for ax in figure.axes if ax.get_label() == "<colorbar>"]


def test_mono_gets_one_panel_per_kind_in_order():
    tone = generate_tone("sine", frequency=1000, duration=1.0, sample_rate=16000)
    figure = plot_audio(tone, 16000)
    assert [ax.get_label() for ax in _panels(figure)] == list(PLOT_KINDS)
    assert len(_colorbars(figure)) == 4  # spectrogram, mel, mfcc, whisper


def test_stereo_gets_each_channel_and_one_whisper_panel(data_dir):
    loaded = load_audio(data_dir / "en_stereo_44k.wav")
    figure = plot_audio(loaded.samples, loaded.sample_rate)
    labels = [ax.get_label() for ax in _panels(figure)]
    assert labels == [k for k in PLOT_KINDS for _ in range(1 if k == "whisper" else 2)]
    titles = [ax.get_title(loc="left") for ax in _panels(figure)]
    assert titles[:2] == ["waveform · left", "waveform · right"]
    assert titles[-1] == "whisper"


def test_axes_ranges():
    rate = 16000
    tone = generate_tone("sine", frequency=1000, duration=2.0, sample_rate=rate)
    figure = plot_audio(tone, rate, start=3.0)
    panels = {ax.get_label(): ax for ax in _panels(figure)}
    for kind in ("waveform", "spectrogram", "mel", "mfcc", "whisper"):
        assert panels[kind].get_xlim() == pytest.approx((3.0, 5.0)), kind
    assert panels["waveform"].get_ylim() == (-1.0, 1.0)
    low, high = panels["spectrum"].get_xlim()
    assert high == rate / 2
    assert 0 < low < 10
    assert panels["spectrum"].get_xscale() == "log"
    assert panels["spectrum"].get_ylim() == (-120.0, 5.0)
    assert panels["spectrogram"].get_ylim() == (0.0, rate / 2)
    assert panels["mel"].get_ylim() == (0.0, 128.0)
    assert panels["mfcc"].get_ylim() == (0.0, 20.0)
    assert panels["whisper"].get_ylim() == (0.0, 80.0)


def test_the_spectrum_line_peaks_at_the_tone():
    tone = generate_tone("sine", frequency=1000, duration=0.5, sample_rate=48000)
    figure = plot_audio(tone, 48000, kinds=["spectrum"])
    (line,) = _panels(figure)[0].get_lines()
    x, y = line.get_data()
    assert abs(x[np.argmax(y)] - 1000) <= 48000 / 4096


def test_whisper_panel_with_128_bands():
    figure = plot_audio(np.zeros(1600) + 0.01, 16000, kinds=["whisper"], whisper_mels=128)
    assert _panels(figure)[0].get_ylim() == (0.0, 128.0)


def test_long_waveforms_are_drawn_as_an_envelope():
    noise = generate_tone("white", duration=50.0, sample_rate=16000, level_dbfs=-20)
    figure = plot_audio(noise, 16000, kinds=["waveform", "spectrogram", "whisper"])
    waveform = _panels(figure)[0]
    assert not waveform.get_lines()[:-1]  # only the zero line; the signal is a filled area
    assert waveform.collections
    for panel in _panels(figure)[1:]:
        assert panel.get_images()[0].get_array().shape[-1] <= 4001
        assert panel.get_xlim() == pytest.approx((0.0, 50.0))


def test_one_sample_and_silence_plot_without_warnings():
    plot_audio(np.array([0.5]), 8000)
    plot_audio(np.zeros((2, 4000)), 8000)


def test_save_figure_writes_a_png(tmp_path):
    figure = plot_audio(generate_tone("sine", duration=0.2), 48000, kinds=["waveform"])
    path = save_figure(figure, tmp_path / "sub" / "plot.png", dpi=50)
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in path.parent.iterdir()) == ["plot.png"]


def test_bad_kinds_and_empty_audio():
    with pytest.raises(ConfigurationError, match="unknown plot kind"):
        plot_audio(np.zeros(10), 8000, kinds=["histogram"])
    with pytest.raises(ConfigurationError):
        plot_audio(np.zeros(10), 8000, kinds=[])
    with pytest.raises(InputError, match="no samples"):
        plot_audio(np.zeros((1, 0)), 8000)
