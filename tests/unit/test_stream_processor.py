"""The online processor over a scripted recogniser: prompts, trimming, finish, long streams."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from yuyin.errors import ConfigurationError
from yuyin.stream import (
    LatencyOptions,
    OnlineProcessor,
    StreamEvent,
    StreamOptions,
    commit_latency,
    replay,
)
from yuyin.stream.latency import LARGER_STEP, UNCOMMITTED_ONLY, LatencyMonitor
from yuyin.types import Segment, Word

SR = 16000
WORD = SR // 2  # every coded word lasts 0.5 s
SUB = 400  # the fake recogniser looks at every 400th sample (25 ms resolution)


def coded(ids: list[int | None]) -> np.ndarray:
    """Audio in which word k is 0.5 s of the constant k/8192 and None is 0.5 s of silence."""
    return np.repeat(np.array([(k or 0) / 8192 for k in ids], np.float32), WORD)


def coded_stream(total_words: int, pause_every: int = 20) -> Iterator[np.ndarray]:
    """An endless-feeling talk: words 1..N with a 2 s pause after every `pause_every`."""
    for k in range(1, total_words + 1):
        yield coded([k])
        if k % pause_every == 0:
            yield coded([None] * 4)


def label(k: int) -> str:
    return f" w{k}" + ("." if k % 5 == 0 else "")


class CodedASR:
    """'Recognises' coded audio. Like Whisper, it is unsure of a word it is still hearing.

    One segment per sentence (every fifth word ends one); records every call.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def transcribe(self, audio, *, prompt, language):
        self.calls.append((audio.size, prompt))
        values = np.rint(audio[::SUB] * 8192).astype(np.int64)
        if values.size == 0:
            return []
        change = np.flatnonzero(np.diff(values)) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [values.size]])
        heard = [(int(values[s]), s, e) for s, e in zip(starts, ends, strict=True) if values[s]]
        segments, current = [], []
        for k, s, e in heard:
            still_heard = e == values.size  # runs into the end of the buffer
            end = min(e * SUB, audio.size) / SR
            word = Word(s * SUB / SR, end, label(k) + ("~" if still_heard else ""))
            current.append(word)
            if word.word.endswith("."):
                segments.append(self._segment(current))
                current = []
        if current:
            segments.append(self._segment(current))
        return segments

    @staticmethod
    def _segment(words):
        return Segment(words[0].start, words[-1].end, "".join(w.word for w in words), tuple(words))


class ScriptedASR:
    """Returns the next scripted list of segments at each call (times relative to buffer)."""

    def __init__(self, script):
        self.script = list(script)
        self.calls: list[tuple[int, str]] = []

    def transcribe(self, audio, *, prompt, language):
        self.calls.append((audio.size, prompt))
        return self.script.pop(0) if self.script else []


def committed_words(events: list[StreamEvent]) -> list[str]:
    """Committed words; `~` (unsure) may only mark the very last one, flushed by finish()."""
    out = [w.word.strip() for e in events if e.type == "committed" for w in e.words]
    if out:
        out[-1] = out[-1].removesuffix("~")
    return out


def run(asr, audio, options: StreamOptions, chunk: float | None = None) -> list[StreamEvent]:
    return list(
        replay(
            audio,
            lambda clock: OnlineProcessor(asr, options, clock=clock),
            mode="comp-unaware",
            chunk_sec=chunk or options.min_chunk_size,
        )
    )


FIXED = StreamOptions(language="en", adaptive=False)


def test_every_word_is_committed_once_in_order():
    audio = coded(list(range(1, 31)))
    events = run(CodedASR(), audio, FIXED)
    assert committed_words(events) == [label(k).strip() for k in range(1, 31)]
    starts = [w.start for e in events if e.type == "committed" for w in e.words]
    assert starts == sorted(starts)
    assert all(e.emission_time >= e.end - 1e-9 for e in events)


def test_words_are_committed_once_two_hypotheses_agree():
    asr = CodedASR()
    proc = OnlineProcessor(asr, FIXED)
    # One second: w1 w2~ ; nothing agreed yet.
    assert proc.feed(coded([1, 2])) == []
    # Two seconds: w1 w2 w3 w4~ ; w1 agreed (w2 was unsure the first time).
    (event,) = proc.feed(coded([3, 4]))
    assert event.text == "w1"
    assert (event.start, event.end) == (0.0, 0.5)
    assert event.emission_time == 2.0
    (event,) = proc.feed(coded([5, 6]))
    assert event.text == "w2 w3"


def test_prompt_is_the_last_200_characters_committed_before_the_buffer():
    asr = CodedASR()
    opts = StreamOptions(language="en", adaptive=False, buffer_trimming_sec=5.0)
    proc = OnlineProcessor(asr, opts)
    committed: list[Word] = []
    prompts_checked = 0
    for chunk in coded_stream(300, pause_every=1000):
        for event in proc.feed(chunk):
            committed.extend(event.words)
        if asr.calls and asr.calls[-1][1]:
            before = [w.word for w in committed if w.end <= proc.buffer_start + 1e-6]
            expected = ""
            for word in reversed(before):
                if len(expected) + len(word) > 200:
                    break
                expected = word + expected
            # The prompt the next step will get:
            assert proc.prompt() == expected.strip()
            prompts_checked += 1
    assert prompts_checked > 100
    prompts = [p for _, p in asr.calls if p]
    assert max(len(p) for p in prompts) <= 200
    assert prompts[-1].endswith(".")  # segment mode cuts after a sentence (a segment)
    assert 180 <= len(prompts[-1]) <= 200


def test_prompt_is_converted_to_the_requested_chinese_script():
    seg = [Segment(0, 0.6, "我们去", (Word(0, 0.3, "我们"), Word(0.3, 0.6, "去")))]
    asr = ScriptedASR([seg, seg])
    proc = OnlineProcessor(asr, StreamOptions(language="zh-TW", adaptive=False))
    proc.feed(np.zeros(SR, np.float32))
    (event,) = proc.feed(np.zeros(SR, np.float32))
    assert event.text == "我們去"
    assert [w.word for w in event.words] == ["我們", "去"]
    proc.reset(5.0)  # everything committed is now before the buffer: the prompt
    assert proc.prompt() == "我們去"


def test_script_flips_between_steps_still_agree():
    we = Word(0, 0.3, "我")
    step1 = [Segment(0, 0.6, "我们", (we, Word(0.3, 0.6, "们")))]
    step2 = [Segment(0, 0.9, "我們去", (we, Word(0.3, 0.6, "們"), Word(0.6, 0.9, "去")))]
    opts = StreamOptions(language="zh", adaptive=False)
    proc = OnlineProcessor(ScriptedASR([step1, step2]), opts)
    proc.feed(np.zeros(SR, np.float32))
    (event,) = proc.feed(np.zeros(SR, np.float32))
    assert event.text == "我們"


def test_segment_trimming_cuts_after_the_last_committed_complete_segment():
    # Three hypotheses over a 16 s buffer: segments end at 5, 10 and 16 s; words agree to 12 s.
    words = [Word(t, t + 1.0, f" x{t}") for t in range(0, 16)]
    segments = [
        Segment(0, 5, "", tuple(words[0:5])),
        Segment(5, 10, "", tuple(words[5:10])),
        Segment(10, 16, "", (*tuple(words[10:12]), Word(12, 16, " unsure"))),
    ]
    second = [*segments[:2], Segment(10, 16, "", (*tuple(words[10:12]), Word(12, 16, " other")))]
    proc = OnlineProcessor(ScriptedASR([segments, second]), FIXED)
    proc.insert_audio(np.zeros(16 * SR, np.float32))
    proc.process()
    assert proc.buffer_start == 0.0
    proc.process()  # commits x0..x11 (ends 12 s) and trims: 16 s > 15 s
    assert proc.committed_time == 12.0
    assert proc.buffer_start == pytest.approx(10.0)
    assert proc.buffer_duration == pytest.approx(6.0)


def test_segment_trimming_falls_back_to_the_start_of_the_last_two_committed_words():
    words = tuple(Word(t, t + 1.0, f" x{t}") for t in range(0, 16))
    single = [Segment(0, 16, "", (*words[:7], Word(7, 16, " long")))]
    other = [Segment(0, 16, "", (*words[:7], Word(7, 16, " longer")))]
    # After the cut the buffer starts at x5 (5 s): the decoder re-reads x5 x6, its timings
    # shifted so that "next" starts before the committed point (7 s) - it is kept anyway.
    reread = [
        Segment(0, 11, "", (Word(0, 1, " x5"), Word(1, 1.7, " x6"), Word(1.7, 3, " next"),
                            Word(3, 11, " z")))
    ]  # fmt: skip
    proc = OnlineProcessor(ScriptedASR([single, other, reread, reread]), FIXED)
    proc.insert_audio(np.zeros(16 * SR, np.float32))
    proc.process()
    proc.process()
    assert proc.committed_time == 7.0
    assert proc.buffer_start == pytest.approx(5.0)  # not 7.0: no onset after x6 is clipped
    assert proc.prompt().endswith("x4")  # the kept words are audio, not prompt
    proc.insert_audio(np.zeros(SR, np.float32))
    proc.process()
    proc.insert_audio(np.zeros(SR, np.float32))
    (event,) = proc.process()
    assert event.text == "next z"


class SpeechASR(ScriptedASR):
    """Also offers the one-pass decode for continuous speech; records which one ran."""

    def __init__(self, script):
        super().__init__(script)
        self.kinds: list[str] = []

    def transcribe(self, audio, *, prompt, language):
        self.kinds.append("timestamps")
        return super().transcribe(audio, prompt=prompt, language=language)

    def transcribe_speech(self, audio, *, prompt, language):
        self.kinds.append("speech")
        return super().transcribe(audio, prompt=prompt, language=language)


@pytest.mark.parametrize("trimming", ["segment", "sentence"])
def test_speech_only_buffers_use_the_one_pass_decode_until_segments_are_needed(trimming):
    opts = StreamOptions(language="en", adaptive=False, buffer_trimming=trimming)
    plain = SpeechASR([])
    proc = OnlineProcessor(plain, opts)
    proc.feed(np.zeros(SR, np.float32))
    assert plain.kinds == ["timestamps"]  # the buffer may span pauses
    asr = SpeechASR([])
    proc = OnlineProcessor(asr, opts)
    proc.speech_only = True
    for seconds in (1, 14, 1, 15):  # 1, 15, 16, 31 s in the buffer (nothing committed)
        proc.feed(np.zeros(seconds * SR, np.float32))
    # Past --buffer-trimming-sec the segment rule may cut (sentence mode: past 30 s).
    expected = {"segment": ["speech", "speech", "timestamps", "timestamps"],
                "sentence": ["speech", "speech", "speech", "timestamps"]}  # fmt: skip
    assert asr.kinds == expected[trimming]


def test_buffer_is_not_trimmed_below_the_limit():
    words = tuple(Word(t, t + 1.0, f" x{t}.") for t in range(0, 10))
    segments = [Segment(t, t + 1.0, "", (w,)) for t, w in enumerate(words)]
    proc = OnlineProcessor(ScriptedASR([segments, segments]), FIXED)
    proc.insert_audio(np.zeros(14 * SR, np.float32))
    proc.process()
    proc.process()
    assert proc.committed_time == 10.0
    assert proc.buffer_start == 0.0


def test_sentence_trimming_keeps_the_last_committed_sentence():
    texts = [" One", " two.", " Three", " four.", " Five", " six.", " seven"]
    words = tuple(Word(2.0 * i, 2.0 * i + 2.0, t) for i, t in enumerate(texts))
    one_segment = [Segment(0, 16, "", (*words, Word(14, 16, " eight")))]
    changed = [Segment(0, 16, "", (*words, Word(14, 16, " ate")))]
    opts = StreamOptions(language="en", adaptive=False, buffer_trimming="sentence")
    proc = OnlineProcessor(ScriptedASR([one_segment, changed]), opts)
    proc.insert_audio(np.zeros(16 * SR, np.float32))
    proc.process()
    proc.process()  # commits One .. seven (ends 14 s); sentences end at 4, 8 and 12 s
    assert proc.committed_time == 14.0
    assert proc.buffer_start == pytest.approx(8.0)  # keeps "Five six." and "seven"


def test_sentence_trimming_waits_for_sentences_before_30_seconds():
    words = tuple(Word(t, t + 1.0, f" x{t}") for t in range(0, 16))
    no_punctuation = [Segment(0, 8, "", words[:8]), Segment(8, 16, "", words[8:])]
    opts = StreamOptions(language="en", adaptive=False, buffer_trimming="sentence")
    proc = OnlineProcessor(ScriptedASR([no_punctuation, no_punctuation]), opts)
    # (both hypotheses agree on every word: everything up to 16 s is committed)
    proc.insert_audio(np.zeros(16 * SR, np.float32))
    proc.process()
    proc.process()
    assert proc.buffer_start == 0.0  # no sentence yet, and 16 s < 30 s
    later = [Segment(0, 8, "", words[:8]), Segment(8, 31, "", (*words[8:], Word(16, 31, " y")))]
    proc._asr = ScriptedASR([later])
    proc.insert_audio(np.zeros(15 * SR, np.float32))
    proc.process()  # 31 s: the segment rule applies
    assert proc.buffer_start == pytest.approx(8.0)


def test_nothing_agreed_for_over_30_seconds_drops_half_the_buffer():
    asr = ScriptedASR([[Segment(0, 1, "", (Word(0, 1, f" noise{i}"),))] for i in range(100)])
    events = run(asr, np.zeros(45 * SR, np.float32), FIXED)
    assert committed_words(events) == ["noise44"]  # only finish() commits the last guess
    sizes = [size for size, _ in asr.calls]
    assert max(sizes) <= 31 * SR
    assert min(sizes[31:]) >= 15 * SR  # after a cut half of the 31 s stays


def test_finish_decodes_the_unprocessed_tail_and_commits_everything():
    asr = CodedASR()
    proc = OnlineProcessor(asr, FIXED)
    events = proc.feed(coded([1, 2, 3, 4]))
    events += proc.feed(coded([5]))  # 0.5 s: below the 1 s step, not decoded yet
    assert len(asr.calls) == 1
    events += proc.finish()
    assert len(asr.calls) == 2
    assert committed_words(events) == ["w1", "w2", "w3", "w4", "w5."]
    assert proc.finish() == []


def test_offline_mode_decodes_once():
    asr = CodedASR()
    events = list(
        replay(
            coded(list(range(1, 21))),
            lambda clock: OnlineProcessor(asr, FIXED, clock=clock),
            mode="offline",
        )
    )
    assert len(asr.calls) == 1
    assert len(committed_words(events)) == 20
    assert {e.emission_time for e in events} == {10.0}


def test_start_at_keeps_the_source_timeline():
    audio = coded(list(range(1, 21)))
    events = list(
        replay(
            audio,
            lambda clock: OnlineProcessor(CodedASR(), FIXED, offset=4.0, clock=clock),
            mode="comp-unaware",
            start_at=4.0,
        )
    )
    words = [w for e in events if e.type == "committed" for w in e.words]
    assert words[0].word.strip() == "w9"  # 4 s = 8 words skipped
    assert words[0].start == pytest.approx(4.0)


def test_realtime_replay_releases_audio_by_the_clock():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    asr = CodedASR()
    events = list(
        replay(
            coded(list(range(1, 11))),
            lambda clock: OnlineProcessor(asr, FIXED, clock=clock),
            mode="realtime",
            timer=lambda: now[0],
            sleep=sleep,
        )
    )
    assert len(committed_words(events)) == 10
    assert [size for size, _ in asr.calls][:3] == [SR, 2 * SR, 3 * SR]
    assert all(e.emission_time >= e.end for e in events)


def test_one_hour_stream_keeps_buffer_memory_and_latency_bounded():
    asr = CodedASR()
    opts = StreamOptions(language="en", adaptive=False, min_chunk_size=2.0)
    processors: list[OnlineProcessor] = []

    def make(clock):
        processors.append(OnlineProcessor(asr, opts, clock=clock))
        return processors[-1]

    total = 6545  # words; with the pauses: just over 3600 s of audio
    events = list(replay(coded_stream(total), make, mode="comp-unaware", chunk_sec=2.0))
    proc = processors[0]
    assert proc.audio_time > 3600
    assert committed_words(events) == [label(k).strip() for k in range(1, total + 1)]
    sizes = [size for size, _ in asr.calls]
    assert max(sizes) <= (15 + 2) * SR
    assert proc.buffer_capacity == int((30 + 10) * SR)  # never had to grow
    assert len(proc._committed) < 40
    assert len(proc.prompt()) <= 200
    latency = commit_latency(events)
    assert latency.words == total
    assert latency.max <= 6.0
    # Last ten minutes as slow as the first ten: nothing accumulates.
    first = [e.emission_time - e.end for e in events if e.end < 600]
    last = [e.emission_time - e.end for e in events if e.end > 3000]
    assert max(last) <= max(first) + 1e-6


def test_degrades_when_falling_behind_and_recovers():
    compute = {"seconds": 2.5}
    now = [0.0]

    class SlowASR(CodedASR):
        def transcribe(self, audio, *, prompt, language):
            now[0] += compute["seconds"]
            return super().transcribe(audio, prompt=prompt, language=language)

    opts = StreamOptions(language="en", adaptive=True)
    monitor = LatencyMonitor(options=LatencyOptions(window_sec=6.0, settle_sec=4.0))
    proc = OnlineProcessor(SlowASR(), opts, timer=lambda: now[0], monitor=monitor)
    statuses = []
    for k in range(1, 200, 2):
        if k > 60:
            compute["seconds"] = 0.1
        statuses += [e for e in proc.feed(coded([k, k + 1])) if e.type == "status"]
    levels = [e.degradation.level for e in statuses]
    assert levels == [1, 2, 1, 0]
    assert statuses[0].degradation.actions == (UNCOMMITTED_ONLY,)
    assert statuses[1].degradation.actions == (UNCOMMITTED_ONLY, LARGER_STEP)
    assert statuses[0].degradation.compute_ratio > 0.9
    assert levels[-1] == 0
    assert proc.step_sec == opts.min_chunk_size


def test_larger_step_decodes_every_other_chunk():
    monitor = LatencyMonitor(options=LatencyOptions(enabled=False))
    monitor.level = 2  # (uncommitted-only, larger-step)
    asr = CodedASR()
    proc = OnlineProcessor(asr, StreamOptions(language="en"), monitor=monitor)
    for k in range(1, 9, 2):
        proc.feed(coded([k, k + 1]))
    assert [size // SR for size, _ in asr.calls] == [2, 4]


def test_uncommitted_only_keeps_the_buffer_to_what_is_not_agreed():
    monitor = LatencyMonitor(options=LatencyOptions(enabled=False))
    monitor.level = 1
    asr = CodedASR()
    proc = OnlineProcessor(asr, StreamOptions(language="en"), monitor=monitor)
    for k in range(1, 41, 4):
        proc.feed(coded([k, k + 1, k + 2, k + 3]))
    # The unagreed tail and the last two committed words (kept so their re-read anchors
    # the seam), never the committed audio before them.
    assert max(size for size, _ in asr.calls) <= 6 * SR
    assert proc.committed_time > 15


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"min_chunk_size": 0}, "min-chunk-size"),
        ({"buffer_trimming": "words"}, "buffer trimming"),
        ({"buffer_trimming_sec": 0.5}, "buffer-trimming-sec"),
        ({"task": "summarise"}, "task"),
        ({"beam_size": 0}, "beam-size"),
        ({"language": "klingon"}, "unknown language"),
    ],
)
def test_bad_options_are_rejected(overrides, match):
    with pytest.raises(ConfigurationError, match=match) as info:
        OnlineProcessor(CodedASR(), StreamOptions(**overrides))
    assert info.value.hint


def test_decoding_steps_read_the_buffer_in_place():
    seen = []

    class Peek(CodedASR):
        def transcribe(self, audio, *, prompt, language):
            seen.append(audio.flags.owndata)
            return super().transcribe(audio, prompt=prompt, language=language)

    proc = OnlineProcessor(Peek(), FIXED)
    for k in range(1, 40, 2):
        proc.feed(coded([k, k + 1]))
    assert seen
    assert not any(seen)  # a view of the rolling buffer, never a copy per step


class DetectingASR(CodedASR):
    """A coded recogniser that also detects a language, counting its detections."""

    def __init__(self, language: str = "zh") -> None:
        super().__init__()
        self.detected_language = language
        self.languages: list[str | None] = []
        self.detections: list[int] = []

    def transcribe(self, audio, *, prompt, language):
        self.languages.append(language)
        return super().transcribe(audio, prompt=prompt, language=language)

    def detect_language(self, audio):
        self.detections.append(audio.size)
        return self.detected_language, 0.9


def test_language_is_detected_once_on_speech_then_kept():
    asr = DetectingASR("zh")
    proc = OnlineProcessor(asr, StreamOptions(adaptive=False))
    proc.feed(coded([None, None]))  # 1 s of silence: nothing heard, nothing locked
    proc.feed(coded([1, 2]))  # 2 s in the buffer, words heard: detect now
    assert asr.detections == [2 * SR]
    assert proc.language == "zh"
    for k in range(3, 40, 2):
        proc.feed(coded([k, k + 1]))
    proc.reset(proc.audio_time + 5.0)  # a new utterance keeps the language
    proc.feed(coded([50, 51]))
    proc.finish()
    assert asr.detections == [2 * SR]  # never again
    assert asr.languages[:2] == [None, None]
    assert set(asr.languages[2:]) == {"zh"}


def test_silence_alone_does_not_lock_a_language():
    asr = DetectingASR("en")
    proc = OnlineProcessor(asr, StreamOptions(adaptive=False))
    for _ in range(6):
        proc.feed(coded([None, None]))
    assert asr.detections == []
    assert proc.language is None
    assert set(asr.languages) == {None}


def test_a_given_language_is_never_detected():
    asr = DetectingASR("zh")
    proc = OnlineProcessor(asr, StreamOptions(language="en", adaptive=False))
    for k in range(1, 20, 2):
        proc.feed(coded([k, k + 1]))
    assert asr.detections == []
    assert set(asr.languages) == {"en"}


def test_a_detected_chinese_stream_agrees_across_scripts():
    class FlipASR(DetectingASR):
        def transcribe(self, audio, *, prompt, language):
            self.languages.append(language)
            n = len(self.languages)
            # Whisper may write 们 in one step and 們 in the next; both must agree.
            first = "我们" if n % 2 else "我們"
            return [Segment(0.0, 1.0, first, (Word(0.0, 0.5, first), Word(0.5, 1.0, "好")))]

    proc = OnlineProcessor(FlipASR("zh"), StreamOptions(adaptive=False))
    events = [e for k in range(4) for e in proc.feed(coded([k + 1, k + 2]))]
    assert proc.language == "zh"
    assert [w.word for e in events if e.type == "committed" for w in e.words][:1] in (
        ["我们"],
        ["我們"],
    )
