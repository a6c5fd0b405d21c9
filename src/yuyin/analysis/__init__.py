"""Signal analysis on numpy arrays: spectra, spectrograms, alignment, SNR, THD+N and plots.

Needs the `audio` extra (librosa, scipy, soxr, matplotlib); each function says which
package it is missing with a `MissingDependencyError` naming the extra.
"""

from yuyin.analysis.compare import Alignment, SnrReport, align, is_tone, snr, thd_n
from yuyin.analysis.plot import PLOT_KINDS, plot_audio, save_figure
from yuyin.analysis.spectral import (
    WHISPER_MEL_BANDS,
    Spectrogram,
    Spectrum,
    mel,
    mfcc,
    spectrum,
    stft,
    whisper_log_mel,
)

__all__ = [
    "PLOT_KINDS",
    "WHISPER_MEL_BANDS",
    "Alignment",
    "SnrReport",
    "Spectrogram",
    "Spectrum",
    "align",
    "is_tone",
    "mel",
    "mfcc",
    "plot_audio",
    "save_figure",
    "snr",
    "spectrum",
    "stft",
    "thd_n",
    "whisper_log_mel",
]
