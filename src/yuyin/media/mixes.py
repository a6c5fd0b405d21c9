"""Synthetic music beds and speech + music mixes at a known SNR, for measuring separation.

The music is made of what separation has to remove in real songs: sustained chords with
harmonics, a bass line, and drum-like hits (kick, snare, hi-hat) on a repeating bar.
Everything is generated from a seed, so the same arguments always give the same samples.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from yuyin.errors import ConfigurationError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["make_music", "mix_at_snr", "rms"]

# I–vi–IV–V in C: MIDI notes of each chord (root position, around middle C).
_PROGRESSION: tuple[tuple[int, ...], ...] = ((60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62))


def _hz(note: int) -> float:
    return 440.0 * math.pow(2.0, (note - 69) / 12)


def rms(signal: NDArray[np.float32]) -> float:
    """Root-mean-square level of a signal (0.0 for an empty one)."""
    if signal.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))


def _tone(freq: float, t: NDArray[np.float64], harmonics: int) -> NDArray[np.float64]:
    # A bright, organ-like tone: harmonics with 1/k amplitude, cut below Nyquist by the caller.
    out = np.zeros_like(t)
    for k in range(1, harmonics + 1):
        out += np.sin(2 * math.pi * k * freq * t) / k
    return out


def make_music(
    duration: float, *, sample_rate: int = 16000, tempo_bpm: float = 100.0, seed: int = 0
) -> NDArray[np.float32]:
    """Generate a mono music bed: chords, bass and drums on a repeating 4/4 bar.

    Args:
        duration: length in seconds.
        sample_rate: rate in Hz.
        tempo_bpm: beats per minute; one chord lasts one bar of four beats.
        seed: random seed for the noise in the snare and hi-hat.

    Returns:
        float32 samples peaking at 0.5 full scale.

    Raises:
        ConfigurationError: a non-positive duration, rate or tempo.
    """
    frames = round(duration * sample_rate)
    if frames < 1 or sample_rate <= 0 or tempo_bpm <= 0:
        raise ConfigurationError(
            "duration, sample rate and tempo must be positive",
            hint="e.g. make_music(10.0, sample_rate=16000, tempo_bpm=100)",
        )
    rng = np.random.default_rng(seed)
    beat = 60.0 / tempo_bpm
    bar = 4 * beat
    out = np.zeros(frames, dtype=np.float64)

    # Chords and bass: one chord per bar, a soft attack and a slow decay.
    bar_frames = round(bar * sample_rate)
    t_bar = np.arange(bar_frames) / sample_rate
    envelope = np.minimum(1.0, t_bar / 0.03) * np.exp(-t_bar / (2.5 * bar))
    for index, start in enumerate(range(0, frames, bar_frames)):
        chord = _PROGRESSION[index % len(_PROGRESSION)]
        length = min(bar_frames, frames - start)
        t = t_bar[:length]
        piece = np.zeros(length)
        for note in chord:
            freq = _hz(note)
            piece += _tone(freq, t, max(1, min(8, int(sample_rate / 2 / freq) - 1)))
        bass = _hz(chord[0] - 24)
        piece += 1.5 * _tone(bass, t, 4)
        out[start : start + length] += 0.12 * piece * envelope[:length]

    # Drums: kick on beats 1 and 3, snare on 2 and 4, hi-hat on every eighth note.
    def hit(at: float, sound: NDArray[np.float64]) -> None:
        begin = round(at * sample_rate)
        if begin < frames:
            end = min(frames, begin + sound.size)
            out[begin:end] += sound[: end - begin]

    t_kick = np.arange(round(0.25 * sample_rate)) / sample_rate
    sweep = 50.0 + 100.0 * np.exp(-t_kick / 0.03)
    kick = np.sin(2 * math.pi * np.cumsum(sweep) / sample_rate) * np.exp(-t_kick / 0.08)
    t_snare = np.arange(round(0.18 * sample_rate)) / sample_rate
    t_hat = np.arange(round(0.05 * sample_rate)) / sample_rate
    eighth = beat / 2
    for n in range(math.ceil(duration / eighth)):
        at = n * eighth
        if n % 4 == 0:
            hit(at, 0.9 * kick)
        if n % 4 == 2:
            noise = rng.standard_normal(t_snare.size)
            body = np.sin(2 * math.pi * 190.0 * t_snare)
            hit(at, (0.35 * noise + 0.4 * body) * np.exp(-t_snare / 0.05))
        hat = np.diff(rng.standard_normal(t_hat.size + 1))  # differenced noise: treble only
        hit(at, 0.12 * hat * np.exp(-t_hat / 0.015))

    peak = float(np.max(np.abs(out))) or 1.0
    return (0.5 * out / peak).astype(np.float32)


def mix_at_snr(
    speech: NDArray[np.float32], music: NDArray[np.float32], snr_db: float
) -> NDArray[np.float32]:
    """Add `music` under `speech` so speech RMS / music RMS equals `snr_db` decibels.

    Both are measured over the speech's length; the music is looped or cut to fit. The
    mix is scaled down only if it would clip.

    Raises:
        ConfigurationError: empty or silent inputs.
    """
    if rms(speech) == 0.0 or rms(music) == 0.0:
        raise ConfigurationError(
            "speech and music must both be non-silent", hint="check the inputs"
        )
    bed = np.resize(music, speech.shape).astype(np.float64)
    gain = rms(speech) / (rms(bed.astype(np.float32)) * 10 ** (snr_db / 20))
    mix = speech.astype(np.float64) + gain * bed
    peak = float(np.max(np.abs(mix)))
    if peak > 0.99:
        mix *= 0.99 / peak
    return mix.astype(np.float32)
