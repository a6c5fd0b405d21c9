"""Emotion features: frame matrices, pooled statistics, CNN windows, bad clips (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest

from yuyin.emotion import FeatureOptions, frame_features, pooled_features, windows
from yuyin.errors import ConfigurationError, InputError

RATE = 16000


def tone(freq: float = 200.0, seconds: float = 1.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    # A few harmonics, so it looks like a voiced sound to a pitch tracker.
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 5))
    return (amplitude * wave / np.max(np.abs(wave))).astype(np.float32)


@pytest.mark.parametrize("pitch", ["yin", "pyin"])
def test_frame_matrix_shape_and_pitch(pitch):
    opts = FeatureOptions(pitch=pitch)
    frames = frame_features(tone(200.0, 0.6), opts)
    assert frames.dtype == np.float32
    assert frames.shape[1] == opts.frame_dims == 40 + 3 * 13 + 3
    assert 55 <= frames.shape[0] <= 65  # 10 ms hop over 0.6 s
    voiced = frames[:, -1] > 0.5
    assert voiced.mean() > 0.8
    # 200 Hz is 12 semitones above 100 Hz.
    assert np.median(frames[voiced, -2]) == pytest.approx(12.0, abs=0.3)


def test_louder_audio_has_higher_energy_and_log_mel():
    quiet = frame_features(tone(amplitude=0.05))
    loud = frame_features(tone(amplitude=0.5))
    assert np.median(loud[:, -3]) - np.median(quiet[:, -3]) == pytest.approx(20.0, abs=1.0)
    assert loud[:, :40].mean() > quiet[:, :40].mean() + 15


def test_leading_and_trailing_silence_is_trimmed():
    clip = tone(seconds=0.5)
    padded = np.concatenate([np.zeros(RATE, np.float32), clip, np.zeros(RATE, np.float32)])
    assert abs(frame_features(padded).shape[0] - frame_features(clip).shape[0]) <= 3


def test_digital_silence_inside_a_clip_is_floored():
    clip = tone(seconds=0.4)
    gapped = np.concatenate([clip, np.zeros(RATE // 2, np.float32), clip])
    energy = frame_features(gapped)[:, -3]
    assert energy.max() - energy.min() <= 60.0 + 1e-3


def test_pooled_features_are_a_fixed_length_vector():
    opts = FeatureOptions()
    short = pooled_features(frame_features(tone(seconds=0.4)), opts)
    long = pooled_features(frame_features(tone(seconds=2.0)), opts)
    assert short.shape == long.shape == (2 * (40 + 3 * 13) + 13,)
    assert np.all(np.isfinite(short))


def test_pooled_features_without_voicing_are_finite():
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(RATE)).astype(np.float32)
    frames = frame_features(noise)
    frames[:, -1] = 0.0
    assert np.all(np.isfinite(pooled_features(frames)))


def test_windows_overlap_and_cover_the_clip():
    opts = FeatureOptions(window_s=1.0)
    frames = np.arange(250 * 3, dtype=np.float32).reshape(250, 3)
    w = windows(frames, opts)
    assert w.shape == (4, 100, 3)  # starts 0, 50, 100, then 150 so the last one ends the clip
    assert w[0, 0, 0] == 0
    assert w[-1, -1, 0] == frames[-1, 0]


def test_short_clips_are_repeated_to_fill_a_window():
    frames = np.arange(30 * 2, dtype=np.float32).reshape(30, 2)
    w = windows(frames, FeatureOptions(window_s=1.0))
    assert w.shape == (1, 100, 2)
    np.testing.assert_array_equal(w[0, 30:60], frames)


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (np.zeros(RATE, np.float32), "silent.*every sample is zero"),
        (np.full(RATE, 1e-4, np.float32), "silent.*peak -80 dBFS"),
        (tone(seconds=0.1), "too short.*0.10 s"),
        (np.zeros(0, np.float32), "too short"),
        (np.concatenate([np.zeros(RATE, np.float32), tone(seconds=0.1)]), "only 0.1. s of sound"),
    ],
)
def test_bad_clips(audio, message):
    with pytest.raises(InputError, match=message):
        frame_features(audio, name="clip.wav")


@pytest.mark.parametrize(
    "kwargs",
    [{"pitch": "crepe"}, {"pitch_min_hz": 500, "pitch_max_hz": 400}, {"n_mfcc": 50},
     {"hop_ms": 30}, {"frame_ms": 40}],
)  # fmt: skip
def test_bad_feature_options(kwargs):
    with pytest.raises(ConfigurationError):
        FeatureOptions(**kwargs)


def test_feature_options_round_trip_and_reject_unknown_keys():
    opts = FeatureOptions(n_mels=32, pitch="pyin")
    assert FeatureOptions.from_dict(opts.to_dict()) == opts
    with pytest.raises(ConfigurationError, match=r"unknown feature setting.*wavelets") as info:
        FeatureOptions.from_dict({**opts.to_dict(), "wavelets": 3})
    assert "different version" in info.value.hint


def test_speaking_rate_follows_the_tempo_of_the_same_sentence(data_dir):
    # The generated set says each sentence slowly (sad, -40 % rate), at normal pace
    # (neutral) and fast (angry, +50 %); energy peaks per second is the rate proxy.
    from yuyin.audio import decode_audio

    def rate(path):
        return float(pooled_features(frame_features(decode_audio(path)[0]))[-2])

    folder = data_dir / "emotion"
    for actor in range(1, 9):
        for statement in ("01", "02"):
            stem = f"03-01-{{}}-{{}}-{statement}-01-{actor:02d}.ogg"
            clip = folder / f"Actor_{actor:02d}" / stem
            sad, neutral, angry = (
                rate(str(clip).format(e, i)) for e, i in (("04", "02"), ("01", "01"), ("05", "02"))
            )
            assert sad < neutral < angry, (actor, statement, sad, neutral, angry)


def test_audio_is_resampled_with_an_anti_aliasing_filter(tmp_path):
    # A 12 kHz tone recorded at 48 kHz is above the 8 kHz limit of 16 kHz audio: a filtered
    # resampler removes it, plain decimation (every third sample, as the seed did) folds it
    # down to a loud 4 kHz tone that the model would hear as sound.
    from yuyin.audio import write_audio
    from yuyin.emotion import EmotionSample, extract_features

    rate = 48000
    t = np.arange(rate) / rate
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.05)  # no click at the ends
    high = (0.5 * fade * np.sin(2 * np.pi * 12000 * t)).astype(np.float32)
    low = (0.5 * fade * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    assert 20 * np.log10(np.max(np.abs(high[::3]))) > -10  # decimation keeps it loud
    samples = [
        EmotionSample(name, str(write_audio(tmp_path / f"{name}.wav", wave, rate)), "x")
        for name, wave in (("high", high), ("low", low))
    ]
    fs = extract_features(samples)
    assert [s.id for s in fs.samples] == ["low"]
    assert [s.id for s in fs.skipped] == ["high"]
    assert "silent" in fs.skipped[0].reason
