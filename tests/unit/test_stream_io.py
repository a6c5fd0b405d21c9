"""Around the processor: utterance files, the wire format, reports, the latency monitor, CLI."""

from __future__ import annotations

import dataclasses
import importlib.abc
import importlib.machinery
import sys
import time
import types
import wave

import click
import numpy as np
import pytest

from yuyin.cli.stream import stream_command
from yuyin.cli.stream_server import stream_server_command
from yuyin.errors import InputError, MissingDependencyError, OutputError, StreamProtocolError
from yuyin.stream import (
    EndpointOptions,
    LatencyMonitor,
    LatencyOptions,
    StreamEvent,
    StreamOptions,
    UtteranceWriter,
    commit_latency,
    error_rates,
    format_line,
    microphone_chunks,
    pcm16_to_float,
)
from yuyin.stream.buffer import SampleBuffer
from yuyin.stream.utterances import TABLE_NAME
from yuyin.types import Segment, Word

SR = 16000


def committed(*words: Word, at: float) -> StreamEvent:
    return StreamEvent(
        "committed", words[0].start, words[-1].end, "", tuple(words), emission_time=at
    )


def table(folder) -> list[list[str]]:
    lines = (folder / TABLE_NAME).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "index\tstart\tend\ttext\tfile"
    return [line.split("\t") for line in lines[1:]]


def read_wav(path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (SR, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32767


def ramp(seconds: float) -> np.ndarray:
    return (np.arange(int(seconds * SR)) % 1000 / 2000).astype(np.float32)


def test_sentence_ends_cut_utterances_and_the_tail_is_flushed(tmp_path):
    audio = ramp(6.0)
    writer = UtteranceWriter(tmp_path, EndpointOptions(stall_sec=0))
    writer.add_audio(audio[: 3 * SR])
    writer.add_events([committed(Word(0.2, 0.8, " Hello"), Word(0.8, 1.5, " there."), at=3.0)])
    writer.add_audio(audio[3 * SR :])
    writer.add_events([committed(Word(1.6, 2.4, " 你好"), Word(2.4, 3.0, "嗎？"), at=6.0)])
    writer.add_events([committed(Word(3.2, 4.0, " And"), at=6.0)])
    writer.close()
    rows = table(tmp_path)
    assert [r[3] for r in rows] == ["Hello there.", "你好嗎？", "And"]
    assert [(float(r[1]), float(r[2])) for r in rows] == [(0.0, 1.5), (1.5, 3.0), (3.0, 6.0)]
    written = np.concatenate([read_wav(tmp_path / r[4]) for r in rows])
    assert written.size == audio.size  # no gaps, no overlaps, nothing repeated
    assert np.allclose(written, audio, atol=1e-4)


def test_vad_end_cuts_and_drops_the_silence_before_an_utterance(tmp_path):
    writer = UtteranceWriter(tmp_path, EndpointOptions(sentence_end=False, stall_sec=0))
    writer.add_audio(ramp(10.0))
    writer.add_events([committed(Word(2.0, 3.0, " one"), at=4.0)])
    writer.add_events([StreamEvent("final", 1.9, 3.2, "one", (), 4.0, 0)])
    writer.add_events([committed(Word(6.0, 7.0, " two"), at=8.0)])
    writer.add_events([StreamEvent("final", 5.9, 7.1, "two", (), 8.0, 1)])
    writer.close()
    rows = table(tmp_path)
    spans = [(float(r[1]), float(r[2]), r[3]) for r in rows]
    # The silence after the last utterance is dropped like the silence before each one.
    assert spans == [(1.9, 3.2, "one"), (5.9, 7.1, "two")]
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == ["0000.wav", "0001.wav"]


def test_a_voice_activity_cut_without_words_writes_no_utterance(tmp_path):
    writer = UtteranceWriter(tmp_path, EndpointOptions(stall_sec=0))
    writer.add_audio(ramp(6.0))
    writer.add_events([committed(Word(0.5, 2.0, " Done."), at=3.0)])  # a sentence cut at 2 s
    writer.add_events([StreamEvent("final", 0.4, 2.6, "Done.", (), 3.0, 0)])  # 2.0-2.6: a breath
    writer.close()
    assert [(r[1], r[2], r[3], r[4]) for r in table(tmp_path)] == [
        ("0.000", "2.000", "Done.", "0000.wav")
    ]
    assert [p.name for p in tmp_path.glob("*.wav")] == ["0000.wav"]


def test_two_pass_finals_carry_the_text(tmp_path):
    writer = UtteranceWriter(tmp_path, EndpointOptions(stall_sec=0))
    writer.add_audio(ramp(6.0))
    words = (Word(0.5, 1.0, " One."), Word(1.2, 2.0, " Two"))
    writer.add_events([StreamEvent("partial", 0.5, 1.0, "One", words[:1], 1.5, 0)])
    writer.add_events([StreamEvent("final", 0.4, 2.1, "One. Two", words, 2.6, 0)])
    writer.close()
    spans = [(float(r[1]), float(r[2]), r[3]) for r in table(tmp_path)]
    assert spans == [(0.4, 1.0, "One."), (1.0, 2.1, "Two")]


def test_stall_and_maximum_length_cut_at_the_last_committed_word(tmp_path):
    writer = UtteranceWriter(
        tmp_path, EndpointOptions(sentence_end=False, stall_sec=2.0, max_utterance_sec=5.0)
    )
    writer.add_audio(ramp(1.0))
    writer.add_events([committed(Word(0.1, 0.9, " slow"), at=1.0)])
    for _ in range(3):
        writer.add_audio(ramp(1.0))  # no new words: a stall from 1 s on
    writer.add_events([committed(Word(3.0, 4.0, " a"), Word(4.0, 4.5, " b"), at=5.0)])
    for _ in range(5):
        writer.add_audio(ramp(0.5))
    writer.close()
    rows = table(tmp_path)
    assert (rows[0][1], rows[0][2], rows[0][3]) == ("0.000", "0.900", "slow")
    assert rows[1][3] == "a b"
    assert float(rows[1][2]) == 4.5


def test_unwritable_folder_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write utterances") as info:
        UtteranceWriter(blocker / "sub")
    assert info.value.hint


def test_pcm_and_protocol_lines():
    samples = pcm16_to_float(np.array([0, 16384, -32768, 32767], "<i2").tobytes())
    assert samples.dtype == np.float32
    assert samples.tolist() == [0.0, 0.5, -1.0, pytest.approx(1.0, abs=1e-4)]
    with pytest.raises(StreamProtocolError, match="16-bit") as info:
        pcm16_to_float(b"\x00\x01\x02")
    assert "s16le" in info.value.hint
    assert format_line(1.2344, 2.5, "你好 there") == "1234 2500 你好 there\n"


def test_commit_latency_per_word():
    events = [
        StreamEvent("committed", 0, 1, "a b", (Word(0, 0.5, "a"), Word(0.5, 1.0, "b")), 2.0),
        StreamEvent("partial", 1, 2, "c", (Word(1, 2, "c"),), 2.0),
        StreamEvent("committed", 1, 2, "c", (Word(1, 2, "c"),), 3.0),
    ]
    stats = commit_latency(events)
    assert stats.words == 3
    assert stats.median == 1.0
    assert stats.max == 1.5
    assert commit_latency([]).words == 0


def test_error_rates_normalise_case_punctuation_and_script():
    assert error_rates("The sun, is WARM!", "the sun is warm").wer == 0.0
    rates = error_rates("我们一起去纲园。", "我們一起去公園。")
    assert rates.cer == pytest.approx(1 / 7)
    assert error_rates("", "hello world").wer == 1.0
    assert error_rates("", "").wer == 0.0


def test_latency_monitor_hysteresis():
    monitor = LatencyMonitor(options=LatencyOptions(window_sec=4.0, settle_sec=2.0))
    assert monitor.record(3.0, 1.0) is None  # not settled yet
    state = monitor.record(3.0, 1.0)
    assert state is not None
    assert (state.level, state.compute_ratio) == (1, 3.0)
    for _ in range(4):
        assert monitor.record(0.6, 1.0) is None  # 0.6: between the thresholds, stay
    assert monitor.level == 1
    monitor.record(0.1, 1.0)
    state = monitor.record(0.1, 1.0)
    assert state is not None
    assert state.level == 0
    assert state.actions == ()


def test_latency_monitor_disabled_measures_only():
    monitor = LatencyMonitor(options=LatencyOptions(enabled=False, settle_sec=0))
    for _ in range(10):
        assert monitor.record(5.0, 1.0) is None
    assert monitor.ratio == 5.0
    assert monitor.level == 0


def test_sample_buffer_cuts_from_the_front_without_growing():
    buffer = SampleBuffer(10, start=100)
    buffer.append(np.arange(6, dtype=np.float32))
    buffer.drop_until(104)
    assert buffer.view().tolist() == [4, 5]
    buffer.append(np.arange(6, 12, dtype=np.float32))  # compacts instead of growing
    assert buffer.capacity == 10
    assert (buffer.start, buffer.end) == (104, 112)
    assert buffer.view(105, 108).tolist() == [5, 6, 7]
    assert buffer.view(0, 1000).tolist() == list(range(4, 12))
    buffer.append(np.zeros(20, np.float32))
    assert buffer.capacity >= 28
    buffer.clear(0)
    assert buffer.size == 0


class _Failing(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise OSError("PortAudio library not found")


def test_microphone_without_portaudio_is_a_clear_input_error(monkeypatch):
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Failing(), *sys.meta_path])
    with pytest.raises(InputError, match="PortAudio") as info:
        microphone_chunks()
    assert "libportaudio2" in info.value.hint


def test_microphone_without_sounddevice_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(MissingDependencyError) as info:
        microphone_chunks()
    assert info.value.hint == "pip install 'yuyin[audio]'"


def test_microphone_without_an_input_device(monkeypatch):
    fake = types.ModuleType("sounddevice")

    class PortAudioError(Exception):
        pass

    def query_devices(device=None, kind=None):
        raise PortAudioError("No Default Input Device Available")

    fake.PortAudioError = PortAudioError  # type: ignore[attr-defined]
    fake.query_devices = query_devices  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    with pytest.raises(InputError, match="no microphone found"):
        microphone_chunks()


STREAM_FIELDS = {"language", "zh_script", "task", "min_chunk_size", "buffer_trimming"}
STREAM_FIELDS |= {"buffer_trimming_sec", "beam_size", "vad"}


@pytest.mark.parametrize("command", [stream_command, stream_server_command])
def test_stream_flags_match_stream_option_fields_and_defaults(command):
    params = {p.name: p for p in command.params if isinstance(p, click.Option)}
    defaults = {f.name: f.default for f in dataclasses.fields(StreamOptions)}
    for name in STREAM_FIELDS:
        assert name in params, name
        assert params[name].opts[-1].lstrip("-").split("/")[0] == name.replace("_", "-")
        if defaults[name] is not None:
            assert params[name].default == defaults[name], name
    for flag in ("model", "model_dir", "vac", "vac_chunk_size", "log_level", "final_model"):
        assert flag in params
    if command is stream_command:
        assert {"mode", "start_at", "report", "reference", "save_utterances", "mic"} <= set(params)
    else:
        assert params["host"].default == "127.0.0.1"


def test_recovery_expects_the_undone_rung_to_cost_more():
    opts = LatencyOptions(window_sec=2.0, settle_sec=1.0)
    monitor = LatencyMonitor(ladder=("uncommitted-only", "larger-step"), options=opts)
    monitor.level = 2
    # At 0.4 with every other step skipped, decoding every step would cost 0.8: stay.
    assert monitor.record(0.4, 1.0) is None
    assert monitor.level == 2
    state = monitor.record(0.3, 1.0)  # 0.35 x 2 = 0.7: still not below 0.7
    assert state is None
    state = monitor.record(0.2, 1.0)  # 0.25 x 2 = 0.5
    assert state is not None
    assert state.actions == ("uncommitted-only",)
    # Re-decoding committed audio costs x1.5: 0.5 -> 0.75 stays, 0.4 -> 0.6 recovers.
    monitor.record(0.5, 1.0)
    assert monitor.record(0.5, 1.0) is None
    state = monitor.record(0.3, 1.0)
    assert state is not None
    assert state.level == 0


class FeedRecorder:
    """A processor that records the size of every `feed` and commits nothing."""

    def __init__(self, sizes: list[int]) -> None:
        self.sizes = sizes

    def feed(self, samples):
        self.sizes.append(samples.size)
        return []

    def finish(self):
        return []


@pytest.mark.parametrize(("chunk_sec", "smallest"), [(0.25, 4000), (0.0, 1)])
def test_server_hands_audio_over_in_vac_chunk_sized_pieces(chunk_sec, smallest):
    import socket

    from yuyin.stream import StreamServer

    sizes: list[int] = []
    server = StreamServer(lambda _clock: FeedRecorder(sizes), port=0, chunk_sec=chunk_sec)
    with server, socket.create_connection(server.address, timeout=10) as conn:
        for _ in range(50):  # 50 reads of 100 samples (6.25 ms each), then a half chunk
            conn.sendall(b"\x00\x01" * 100)
            time.sleep(0.002)
        conn.sendall(b"\x00\x01" * 2000)
        conn.shutdown(socket.SHUT_WR)
        assert conn.recv(10) == b""  # the server finished with this client
    assert sum(sizes) == 7000  # every sample, nothing twice
    assert all(size >= smallest for size in sizes[:-1])
    if chunk_sec:
        assert len(sizes) <= 7000 // 4000 + 1


def test_server_rejects_a_negative_chunk():
    from yuyin.errors import ConfigurationError
    from yuyin.stream import StreamServer

    with pytest.raises(ConfigurationError, match="vac-chunk-size"):
        StreamServer(lambda _clock: FeedRecorder([]), chunk_sec=-1)


@pytest.mark.parametrize(("flags", "expected"), [(["--vac"], 0.2), ([], 0.0)])
def test_stream_server_passes_vac_chunk_size_with_vac_only(monkeypatch, flags, expected):
    from click.testing import CliRunner

    import yuyin.cli.stream_server as cli

    seen: dict[str, float] = {}

    class Server:
        def __init__(self, factory, **kwargs):
            seen["chunk_sec"] = kwargs["chunk_sec"]

        def start(self):
            return ("127.0.0.1", 1)

        def serve_forever(self):
            pass

        def shutdown(self, timeout_sec=10.0):
            pass

    monkeypatch.setattr(cli, "build_stream", lambda params, adaptive: (None, None, None))
    monkeypatch.setattr(cli, "StreamServer", Server)
    monkeypatch.setattr(cli.signal, "signal", lambda *args: None)
    result = CliRunner().invoke(stream_server_command, [*flags, "--vac-chunk-size", "0.2"])
    assert result.exit_code == 0, result.output
    assert seen["chunk_sec"] == expected


def test_encoder_trimming_keeps_the_content_and_a_margin():
    from yuyin.stream.asr import _trailing_padding_trimmer

    seen: list[int] = []
    trim = _trailing_padding_trimmer(lambda f: seen.append(f.shape[-1]), 500, 1500)
    features = np.zeros((1, 80, 3000), np.float32)
    features[..., :2000] = -1.5  # 20 s of (silent) audio, then faster-whisper's zero padding
    trim(features)
    features[..., 2000:] = 0.0
    features[..., :100] = 0.3  # 1 s: the 15 s minimum applies
    features[..., 100:] = 0.0
    trim(features)
    trim(np.full((1, 80, 3000), 0.1, np.float32))  # a full window stays full
    assert seen == [2500, 1500, 3000]


def test_stream_steps_decode_greedily_once_and_english_only_models_need_no_detection():
    from yuyin.engines.base import EngineRun
    from yuyin.stream import EngineASR

    class Engine:
        name = "fake"
        model_name = "fake.en"
        multilingual = False

        def __init__(self) -> None:
            self.options: list = []

        def run(self, audio, *, language, options, vad_filter):
            self.options.append(options)
            return EngineRun(iter(()), "en", 1.0, audio.size / SR)

    engine = Engine()
    asr = EngineASR(engine, StreamOptions(language="en"))
    assert asr.transcribe(np.zeros(SR, np.float32), prompt=" hello ", language="en") == []
    (used,) = engine.options
    assert used.temperature == (0.0,)
    assert used.word_timestamps
    assert not used.condition_on_previous_text
    assert used.initial_prompt == "hello"
    assert asr.detect_language(np.zeros(SR, np.float32)) == ("en", 1.0)


def test_a_step_ends_before_the_first_segment_that_fails_whispers_checks():
    from yuyin.engines.base import EngineRun
    from yuyin.options import DEFAULT_TEMPERATURES
    from yuyin.stream import EngineASR

    def seg(start: float, text: str, **quality: float) -> Segment:
        word = Word(start, start + 0.5, f" {text}", 0.9)
        return Segment(start, start + 0.5, text, (word,), **quality)  # type: ignore[arg-type]

    good, late = seg(0.0, "hello"), seg(2.0, "later")
    looping = seg(1.0, "thank you thank you", compression_ratio=29.0)
    guessed = seg(1.0, "and then", avg_logprob=-1.6)

    class Engine:
        name = "fake"
        model_name = "fake.en"
        multilingual = False
        segments: tuple[Segment, ...] = ()

        def run(self, audio, *, language, options, vad_filter):
            return EngineRun(iter(self.segments), "en", 1.0, audio.size / SR)

    engine = Engine()
    asr = EngineASR(engine, StreamOptions(language="en"))
    for bad in (looping, guessed):
        engine.segments = (good, bad, late)
        assert asr.transcribe(np.zeros(SR, np.float32), prompt="", language="en") == [good]
    engine.segments = (good, late)
    assert asr.transcribe(np.zeros(SR, np.float32), prompt="", language="en") == [good, late]
    # With Whisper's fallback (a second pass), what comes back is already its best attempt.
    final = EngineASR(engine, StreamOptions(language="en"), temperature=DEFAULT_TEMPERATURES)
    engine.segments = (good, guessed, late)
    assert final.transcribe(np.zeros(SR, np.float32), prompt="", language="en") == [
        good, guessed, late
    ]  # fmt: skip
