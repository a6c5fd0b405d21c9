"""Streaming with the real models: accuracy bounds, invariants, the TCP server, the CLI."""

from __future__ import annotations

import itertools
import logging
import re
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from yuyin.audio import decode_audio
from yuyin.engines import load_engine
from yuyin.options import DEFAULT_TEMPERATURES, ModelOptions
from yuyin.stream import (
    EngineASR,
    OnlineProcessor,
    StreamEvent,
    StreamOptions,
    StreamServer,
    VacOptions,
    error_rates,
    processor_factory,
    replay,
)
from yuyin.text import convert_script
from yuyin.types import join_segment_texts

EN_MAX_WER = 0.15
ZH_MAX_CER = 0.30
LINE = re.compile(r"^(\d+) (\d+) (.+)$")


@pytest.fixture(scope="module")
def fast() -> StreamOptions:
    # Two-second steps keep the suite quick; the benchmark measures 1 s steps.
    return StreamOptions(language="en", beam_size=1, min_chunk_size=2.0, adaptive=False)


@pytest.fixture(scope="module")
def tiny_asr(fast) -> EngineASR:
    return EngineASR(load_engine(ModelOptions(model="tiny.en")), fast)


def stream(asr, audio, options, *, vac=None, chunk=None) -> list[StreamEvent]:
    make = processor_factory(asr, options, vac=vac)
    return list(replay(audio, make, mode="comp-unaware", chunk_sec=chunk or options.min_chunk_size))


def check_invariants(events: list[StreamEvent]) -> list[str]:
    committed = [e for e in events if e.type == "committed"]
    words = [w for e in committed for w in e.words]
    assert words
    for before, after in itertools.pairwise(words):
        assert after.start >= before.start
        assert after.start >= before.end - 0.2  # committed text never goes back in time
    for event in committed:
        assert event.emission_time >= event.end - 1e-6
    # Never the same words again across a commit boundary (the seam check's job).
    for prev, nxt in itertools.pairwise(committed):
        for n in (2, 3):
            tail = [w.word.strip().lower() for w in prev.words[-n:]]
            head = [w.word.strip().lower() for w in nxt.words[:n]]
            assert len(tail) < n or tail != head, (prev.text, nxt.text)
    return [e.text for e in committed]


def test_english_stream_matches_the_reference(tiny_asr, fast, data_dir, fixtures):
    audio, _ = decode_audio(data_dir / "en_long.wav")
    events = stream(tiny_asr, audio, fast)
    text = join_segment_texts(check_invariants(events))
    rates = error_rates(text, fixtures["en_long.wav"]["text"])
    assert rates.wer <= EN_MAX_WER, text
    assert events[-1].end <= audio.size / 16000 + 0.1


def test_one_pass_speech_decode_reads_the_buffer_with_one_encoder_pass(
    tiny_asr, data_dir, fixtures, monkeypatch
):
    audio, _ = decode_audio(data_dir / "en.wav")
    model = tiny_asr._single.model
    encodes: list[int] = []
    encode = model.encode

    def counted(features):
        encodes.append(features.shape[-1])
        return encode(features)

    monkeypatch.setattr(model, "encode", counted)
    cut = audio[: int(3.2 * 16000)]  # ends mid-sentence, as every step's buffer does
    (segment,) = tiny_asr.transcribe_speech(cut, prompt="", language="en")
    assert len(encodes) == 1
    assert segment.words[0].start < 0.5
    assert segment.words[-1].end <= 3.2 + 0.05
    assert "read a good book" in segment.text.lower()
    encodes.clear()
    timestamped = tiny_asr.transcribe(cut, prompt="", language="en")
    assert encodes
    assert join_segment_texts([s.text for s in timestamped])
    whole = tiny_asr.transcribe_speech(audio, prompt="", language="en")
    rates = error_rates(whole[0].text, fixtures["en.wav"]["text"])
    assert rates.wer <= EN_MAX_WER, whole[0].text


def test_chinese_stream_in_traditional_script(data_dir, fixtures):
    options = StreamOptions(language="zh-TW", beam_size=1, min_chunk_size=1.0, adaptive=False)
    asr = EngineASR(load_engine(ModelOptions(model="base")), options)
    audio, _ = decode_audio(data_dir / "zh.wav")
    events = stream(asr, audio, options)
    text = "".join(check_invariants(events))
    assert convert_script(text, "traditional") == text
    assert error_rates(text, fixtures["zh.wav"]["text"]).cer <= ZH_MAX_CER, text


def test_vac_stream_finalises_each_pause(tiny_asr, fast, data_dir, fixtures):
    speech, _ = decode_audio(data_dir / "en.wav")
    pause = np.zeros(32000, np.float32)
    audio = np.concatenate([pause, speech, pause, speech, pause])
    events = stream(tiny_asr, audio, fast, vac=VacOptions(), chunk=0.04)
    check_invariants(events)
    finals = [e for e in events if e.type == "final"]
    assert len(finals) == 2
    for final in finals:
        assert error_rates(final.text, fixtures["en.wav"]["text"]).wer <= EN_MAX_WER


def test_two_pass_finals_replace_partials_and_are_at_least_as_good(tiny_asr, data_dir, fixtures):
    options = StreamOptions(language="en", beam_size=1, min_chunk_size=1.0, adaptive=False)
    accurate = EngineASR(
        load_engine(ModelOptions(model="base")),
        options,
        encoder_margin_sec=None,
        temperature=DEFAULT_TEMPERATURES,
    )
    speech, _ = decode_audio(data_dir / "en.wav")
    long_speech, _ = decode_audio(data_dir / "en_long.wav")
    pause = np.zeros(24000, np.float32)
    texts = [fixtures["en.wav"]["text"], fixtures["en_long.wav"]["text"].split(". ")[0]]
    first_sentence = long_speech[: int(1.9 * 16000)]  # "The sun is warm today."
    audio = np.concatenate([pause, speech, pause, first_sentence, pause])
    make = processor_factory(tiny_asr, options, vac=VacOptions(), accurate=accurate)
    events = list(replay(audio, make, mode="comp-unaware", chunk_sec=0.04))
    finals = [e for e in events if e.type == "final"]
    assert [e.utterance for e in finals] == [0, 1]
    for final, text in zip(finals, texts, strict=True):
        partials = [e for e in events if e.type == "partial" and e.utterance == final.utterance]
        assert partials  # tiny.en's text came first...
        assert events.index(partials[-1]) < events.index(final)  # ...and the final replaced it
        assert all(final.start - 0.2 <= w.start <= w.end <= final.end + 0.2 for w in final.words)
        partial_wer = error_rates(partials[-1].text, text).wer
        final_wer = error_rates(final.text, text).wer
        assert final_wer <= partial_wer, (final.text, partials[-1].text)
        assert final_wer <= EN_MAX_WER, final.text
    assert not [e for e in events if e.type == "committed"]  # two-pass shows partials only


def test_language_is_detected_once_and_kept(data_dir, fixtures):
    detections = []

    class Counting(EngineASR):
        def detect_language(self, audio):
            detections.append(audio.size)
            return super().detect_language(audio)

    options = StreamOptions(beam_size=1, min_chunk_size=1.0, adaptive=False)  # no language
    asr = Counting(load_engine(ModelOptions(model="base")), options)
    audio, _ = decode_audio(data_dir / "zh.wav")
    processors: list[OnlineProcessor] = []

    def make(clock):
        processors.append(OnlineProcessor(asr, options, clock=clock))
        return processors[-1]

    events = list(replay(audio, make, mode="comp-unaware", chunk_sec=1.0))
    assert len(detections) == 1
    assert processors[0].language == "zh"
    text = "".join(e.text for e in events if e.type == "committed")
    assert error_rates(text, fixtures["zh.wav"]["text"]).cer <= ZH_MAX_CER, text


# --- the TCP server -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tiny_asr):
    options = StreamOptions(language="en", beam_size=1, min_chunk_size=1.0)
    srv = StreamServer(
        processor_factory(tiny_asr, options),
        host="127.0.0.1",
        port=0,
        warmup=lambda: tiny_asr.transcribe(np.zeros(16000, np.float32), prompt="", language="en"),
        idle_timeout_sec=2.0,
    )
    srv.start()
    yield srv
    srv.shutdown()


def pcm(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def talk(address, payload: bytes, *, chunk: int = 32000, pause: float = 0.05) -> list[str]:
    """Send like a live client (in pieces), close the sending side, read every line."""
    with socket.create_connection(address, timeout=60) as conn:
        for i in range(0, len(payload), chunk):
            conn.sendall(payload[i : i + chunk])
            time.sleep(pause)
        conn.shutdown(socket.SHUT_WR)
        received = b""
        while data := conn.recv(4096):
            received += data
    return received.decode("utf-8").splitlines()


def check_lines(lines: list[str]) -> str:
    last_end = 0
    texts = []
    for line in lines:
        match = LINE.match(line)
        assert match, line
        start, end = int(match[1]), int(match[2])
        assert last_end <= start <= end  # non-overlapping, in order
        last_end = end
        texts.append(match[3])
    assert len(set(lines)) == len(lines)  # no repeated line
    return " ".join(texts)


def test_two_clients_at_once_get_their_own_transcripts(server, data_dir, fixtures):
    speech, _ = decode_audio(data_dir / "en.wav")
    long_speech, _ = decode_audio(data_dir / "en_long.wav")
    results: dict[str, list[str]] = {}

    def client(name, audio):
        results[name] = talk(server.address, pcm(audio))

    threads = [
        threading.Thread(target=client, args=("short", speech)),
        threading.Thread(target=client, args=("long", long_speech[: 10 * 16000])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    short = check_lines(results["short"])
    assert error_rates(short, fixtures["en.wav"]["text"]).wer <= EN_MAX_WER, short
    long_text = check_lines(results["long"])
    assert "sun is warm" in long_text.lower()
    assert "morning" not in long_text.lower()  # nothing from the other client's stream


def test_bad_clients_do_not_affect_others(server, data_dir, fixtures, caplog):
    caplog.set_level(logging.INFO, logger="yuyin.stream.tcp")
    speech, _ = decode_audio(data_dir / "en.wav")
    # 1. An odd byte count: whole samples are decoded, the dangling byte is reported.
    odd = talk(server.address, pcm(speech) + b"\x01")
    assert error_rates(check_lines(odd), fixtures["en.wav"]["text"]).wer <= EN_MAX_WER
    # 2. A client that disconnects abruptly mid-word, and 3. one that sends nothing.
    with socket.create_connection(server.address) as rude:
        rude.sendall(pcm(speech[:20000]) + b"\x07")
        rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with socket.create_connection(server.address, timeout=30) as silent:
        started = time.monotonic()
        assert silent.recv(100) == b""  # the server hangs up after its idle timeout
        assert time.monotonic() - started < 20
    # The server still serves everyone else.
    again = talk(server.address, pcm(speech))
    assert error_rates(check_lines(again), fixtures["en.wav"]["text"]).wer <= EN_MAX_WER
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "middle of a sample" in messages
    assert "nothing received" in messages


# --- the command line ---------------------------------------------------------------------


def yuyin(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yuyin", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_cli_comp_unaware_lines_report_and_utterances(data_dir, fixtures, tmp_path):
    reference = fixtures["en.wav"]["text"]
    result = yuyin(
        "stream", str(data_dir / "en.wav"), "-m", "tiny.en", "--comp-unaware",
        "--min-chunk-size", "1", "--beam-size", "1", "--vac",
        "--report", "--reference", reference, "--save-utterances", str(tmp_path / "cuts"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines
    texts = []
    for line in lines:
        emission, start, end, text = line.split(" ", 3)
        assert int(emission) >= int(end) >= int(start) >= 0
        assert int(emission) <= 5600  # emission time = audio time in this mode
        texts.append(text)
    assert error_rates(" ".join(texts), reference).wer <= EN_MAX_WER
    assert re.search(r"report: \d+ words committed; latency median [\d.]+ s", result.stderr)
    found = re.search(r"report: WER ([\d.]+)", result.stderr)
    assert found
    wer = float(found[1])
    assert wer <= EN_MAX_WER
    table = (tmp_path / "cuts" / "utterances.tsv").read_text().splitlines()
    assert len(table) >= 2
    assert all((tmp_path / "cuts" / row.split("\t")[4]).is_file() for row in table[1:])
    assert all(row.split("\t")[3].strip() for row in table[1:])  # every utterance has words


def test_cli_rejects_a_file_that_is_not_audio(data_dir):
    result = yuyin("stream", str(data_dir / "not_audio.wav"), "-m", "tiny.en")
    assert result.returncode == 3
    assert result.stderr.startswith("error: ")
    assert "hint: " in result.stderr
    assert result.stdout == ""


def test_cli_needs_a_file_or_the_microphone():
    result = yuyin("stream")
    assert result.returncode == 2
    assert "FILE" in result.stderr


@pytest.mark.slow
def test_stream_with_the_transformers_engine(data_dir):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "yuyin", "stream", str(data_dir / "en.wav"), "--engine",
         "transformers", "-m", "tiny.en", "-l", "en", "--comp-unaware"],
        capture_output=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = " ".join(line.split(" ", 3)[3] for line in result.stdout.decode().splitlines())
    assert "morning" in text.lower()
