"""Voice-activity control and two-pass decoding: silence costs no decoding, pauses end turns."""

from __future__ import annotations

import numpy as np
import pytest
from faster_whisper.vad import get_vad_model

from yuyin.audio import decode_audio
from yuyin.engines.vad import detect_speech
from yuyin.options import VadOptions
from yuyin.stream import (
    LatencyOptions,
    SileroStream,
    SpeechDetector,
    StreamOptions,
    TwoPassProcessor,
    VacOptions,
    VacProcessor,
    replay,
)
from yuyin.stream.latency import SECOND_PASS_SKIPPED
from yuyin.types import Segment, Word

SR = 16000
WORD = SR // 2
OPTS = StreamOptions(language="en", adaptive=False)


def coded(ids) -> np.ndarray:
    """Word k is 0.5 s of the constant k/8192; None is 0.5 s of silence."""
    return np.repeat(np.array([(k or 0) / 8192 for k in ids], np.float32), WORD)


class CodedASR:
    """Reads coded words back (text `<prefix><k>`), unsure of a word still being heard."""

    def __init__(self, prefix: str = "w", cost: float = 0.0, now: list[float] | None = None):
        self.prefix = prefix
        self.cost = cost
        self.now = now
        self.calls: list[np.ndarray] = []

    def transcribe(self, audio, *, prompt, language):
        self.calls.append(np.array(audio))
        if self.now is not None:
            self.now[0] += self.cost
        values = np.rint(audio[::400] * 8192).astype(np.int64)
        if values.size == 0:
            return []
        change = np.flatnonzero(np.diff(values)) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [values.size]])
        words = []
        for s, e in zip(starts, ends, strict=True):
            k = int(values[s])
            if k:
                unsure = "~" if e == values.size else ""
                stop = "." if k % 5 == 0 else ""
                end = min(e * 400, audio.size) / SR
                words.append(Word(s * 400 / SR, end, f" {self.prefix}{k}{stop}{unsure}"))
        if not words:
            return []
        return [Segment(words[0].start, words[-1].end, "", tuple(words))]


def loudness(windows: np.ndarray) -> np.ndarray:
    """A stand-in VAD for coded audio: any signal is speech."""
    return np.where(np.abs(windows).max(axis=1) > 0, 0.9, 0.05).astype(np.float32)


def scripted(probabilities: list[float]):
    queue = list(probabilities)

    def next_probs(windows: np.ndarray) -> np.ndarray:
        out = [queue.pop(0) if queue else 0.0 for _ in range(len(windows))]
        return np.array(out, np.float32)

    return next_probs


def test_detector_hysteresis_silence_and_padding():
    probs = [0.1] * 10 + [0.6] * 20 + [0.4] * 20 + [0.3] * 10 + [0.7] + [0.2] * 20
    detector = SpeechDetector(VacOptions(), probabilities=scripted(probs))
    audio = np.zeros(len(probs) * 512, np.float32)
    found = []
    for piece in np.array_split(audio, 7):  # odd sizes: windows span feeds
        found += detector.feed(piece)
    pad = 1600  # 100 ms
    # Speech from window 10; 0.4 neither ends it nor counts as silence; the 0.7 at window 60
    # restarts the silence count, so the end is 500 ms of < 0.35 after window 61.
    assert found == [("start", 10 * 512 - pad), ("end", 61 * 512 + pad)]
    assert not detector.speaking


def test_detector_never_starts_before_the_previous_end():
    probs = [0.9] * 5 + [0.1] * 16 + [0.9] * 5 + [0.1] * 16
    detector = SpeechDetector(VacOptions(speech_pad_ms=400), probabilities=scripted(probs))
    found = detector.feed(np.zeros(len(probs) * 512, np.float32))
    kinds = [k for k, _ in found]
    assert kinds == ["start", "end", "start", "end"]
    assert found[2][1] >= found[1][1]


def test_silero_state_carries_across_calls():
    audio, _ = decode_audio("tests/data/en_long.wav")
    audio = audio[: (audio.size // 512) * 512]
    whole = get_vad_model()(audio).reshape(-1)
    stream = SileroStream()
    pieces = []
    position = 0
    for size in (512 * 3, 512, 512 * 40, 512 * 7, audio.size):
        block = audio[position : position + size]
        position += block.size
        if block.size:
            pieces.append(stream(block.reshape(-1, 512)))
    assert np.allclose(np.concatenate(pieces), whole, atol=1e-5)


def test_silence_runs_no_decoding_at_all(data_dir):
    asr = CodedASR()
    silence, _ = decode_audio(data_dir / "silence.wav")
    noise_floor = np.zeros(5 * SR, np.float32)
    vac = VacProcessor(asr, OPTS)
    events = []
    for chunk in np.array_split(np.concatenate([noise_floor, silence]), 200):
        events += vac.feed(chunk)
    events += vac.finish()
    assert asr.calls == []
    assert events == []


def speech_with_pause(data_dir) -> tuple[np.ndarray, float]:
    speech, _ = decode_audio(data_dir / "en.wav")
    pause = np.zeros(2 * SR, np.float32)
    return np.concatenate([speech, pause, speech, pause]), speech.size / SR


def test_speech_fixture_gives_utterances_at_the_pause(data_dir):
    audio, speech_sec = speech_with_pause(data_dir)
    asr = CodedASR()
    vac = VacProcessor(asr, OPTS)
    events = list(replay(audio, lambda _clock: vac, mode="comp-unaware", chunk_sec=0.04))
    finals = [e for e in events if e.type == "final"]
    assert [e.utterance for e in finals] == [0, 1]
    offline = detect_speech(
        audio, VadOptions(min_silence_duration_ms=500, speech_pad_ms=100, threshold=0.5)
    )
    assert len(offline) == 2
    for final, (start, end) in zip(finals, offline, strict=True):
        assert final.start == pytest.approx(start, abs=0.1)
        assert final.end == pytest.approx(end, abs=0.15)
    # Utterance ends are emitted at most 500 ms of silence + a window after the speech.
    assert finals[0].emission_time - finals[0].end <= 0.5 + 0.1
    # Decoding saw speech only: every buffer has sound, and no more steps than its seconds.
    assert all(np.abs(call).max() > 0.01 for call in asr.calls)
    assert len(asr.calls) <= 2 * (int(speech_sec) + 2)
    assert finals[1].start > speech_sec + 1.5


@pytest.mark.parametrize("chunk_sec", [0.04, 1.0, 100.0])
def test_utterance_boundaries_do_not_depend_on_feed_sizes(data_dir, chunk_sec):
    audio, _ = speech_with_pause(data_dir)
    vac = VacProcessor(CodedASR(), OPTS)
    events = list(replay(audio, lambda _clock: vac, mode="comp-unaware", chunk_sec=chunk_sec))
    bounds = [(round(e.start, 3), round(e.end, 3)) for e in events if e.type == "final"]
    reference = VacProcessor(CodedASR(), OPTS)
    expected = [
        (round(e.start, 3), round(e.end, 3))
        for e in replay(audio, lambda _clock: reference, mode="comp-unaware", chunk_sec=0.5)
        if e.type == "final"
    ]
    assert bounds == expected


def test_long_speech_is_split_at_the_maximum_utterance_length(data_dir):
    speech, _ = decode_audio(data_dir / "en_long.wav")
    vac = VacProcessor(CodedASR(), OPTS, VacOptions(max_utterance_sec=3.0))
    events = list(replay(speech, lambda _clock: vac, mode="comp-unaware", chunk_sec=0.04))
    finals = [e for e in events if e.type == "final"]
    assert len(finals) >= 6
    assert all(e.end - e.start <= 3.0 + 1e-6 for e in finals)
    assert [e.utterance for e in finals] == list(range(len(finals)))


def test_utterances_commit_their_words_and_finals_collect_them():
    ids = [*range(1, 11), None, None, None, None, *range(11, 21), None, None]
    asr = CodedASR()
    detector = SpeechDetector(VacOptions(), probabilities=loudness)
    vac = VacProcessor(asr, OPTS, detector=detector)
    events = list(replay(coded(ids), lambda _clock: vac, mode="comp-unaware", chunk_sec=0.04))
    committed = [w.word.strip() for e in events if e.type == "committed" for w in e.words]
    expected = [f"w{k}" + ("." if k % 5 == 0 else "") for k in range(1, 21)]
    assert committed == expected
    finals = [e for e in events if e.type == "final"]
    assert [e.text for e in finals] == [" ".join(expected[:10]), " ".join(expected[10:])]
    assert finals[0].start == pytest.approx(0.0)
    assert finals[0].end == pytest.approx(5.1, abs=0.033)  # 100 ms of padding (± a window)
    assert finals[1].start == pytest.approx(7.0 - 0.1, abs=0.033)
    assert all(e.utterance == 0 for e in events[: events.index(finals[0])])


def two_pass(now, *, accurate_cost=0.0, latency=None):
    fast = CodedASR("f")
    accurate = CodedASR("a", cost=accurate_cost, now=now)
    detector = SpeechDetector(VacOptions(), probabilities=loudness)
    options = StreamOptions(language="en", adaptive=latency is not None)
    processor = TwoPassProcessor(
        fast, accurate, options, detector=detector, timer=lambda: now[0], latency=latency
    )
    return processor, fast, accurate


def test_two_pass_partials_are_replaced_by_accurate_finals():
    ids = [*range(1, 11), *[None] * 4, *range(11, 16), *[None] * 4]
    processor, _, accurate = two_pass([0.0])
    events = list(replay(coded(ids), lambda _c: processor, mode="comp-unaware", chunk_sec=0.04))
    partials = [e for e in events if e.type == "partial"]
    finals = [e for e in events if e.type == "final"]
    assert partials
    assert all(e.text.startswith("f1") for e in partials if e.utterance == 0)
    assert [e.utterance for e in finals] == [0, 1]
    assert finals[0].text == "a1 a2 a3 a4 a5. a6 a7 a8 a9 a10."
    assert finals[1].text == "a11 a12 a13 a14 a15."
    assert finals[1].words[0].start == pytest.approx(7.0, abs=0.05)  # absolute times
    assert len(accurate.calls) == 2
    # Partials grow within an utterance and come before its final.
    last_partial = max(i for i, e in enumerate(events) if e.type == "partial" and e.utterance == 0)
    assert last_partial < events.index(finals[0])
    assert processor.second_passes == 2


def test_two_pass_skips_the_second_pass_when_behind_and_recovers():
    now = [0.0]
    ids = []
    for start in range(1, 200, 5):
        ids += [*range(start, start + 5), None, None]
    latency = LatencyOptions(window_sec=10.0, settle_sec=3.0)
    processor, _, accurate = two_pass(now, accurate_cost=30.0, latency=latency)
    events = []
    for i, chunk in enumerate(np.array_split(coded(ids), 500)):
        if i == 200:
            accurate.cost = 0.0  # the machine got faster
        events += processor.feed(chunk)
    statuses = [e for e in events if e.type == "status"]
    assert statuses[0].degradation.actions[0] == SECOND_PASS_SKIPPED
    finals = [e for e in events if e.type == "final"]
    skipped = [e for e in finals if SECOND_PASS_SKIPPED in e.degradation.actions]
    assert skipped
    assert all(e.text.startswith("f") for e in skipped)
    assert statuses[-1].degradation.level == 0
    assert finals[-1].text.startswith("a")
    assert processor.second_passes < len(finals)


def test_a_backlog_is_decoded_in_one_step_not_many_small_ones():
    asr = CodedASR()
    detector = SpeechDetector(VacOptions(), probabilities=loudness)
    vac = VacProcessor(asr, OPTS, detector=detector)
    vac.feed(coded(list(range(1, 5))))  # 2 s: one step
    assert len(asr.calls) == 1
    vac.feed(coded(list(range(5, 25))))  # 10 s arrived while decoding: one larger step
    assert len(asr.calls) == 2
    assert asr.calls[-1].size >= 11 * SR
