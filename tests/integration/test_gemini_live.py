"""The gemini-live engine against a local Live API fake, at the WebSocket wire level.

The real google-genai client connects over TLS to `gemini_fake.GeminiLiveFake` on
127.0.0.1 (see gemini_fake.py), so these tests prove what goes on the wire — the setup,
0.1 s PCM16 chunks, their pacing, the end-of-audio signal — and how the transcript is put
back together from the pieces and turns the service sends.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

pytest.importorskip("google.genai")

import yuyin
from yuyin.engines import load_engine
from yuyin.engines.gemini_live import (
    MIME_TYPE,
    GeminiLiveEngine,
    GeminiLiveOptions,
    pcm16_chunks,
)
from yuyin.errors import ConfigurationError, MissingDependencyError

RATE = 16000
EN = (
    [" I like to read a good book", " in the morning."],
    [" It makes me happy", " and ready for the day."],
)
ZH = ["我們一起", "去公園。"], ["我們一起去", "學校。"]


def _load_fake() -> ModuleType:
    # Tests are not packages (--import-mode=importlib): load the helper by path, registered
    # so its dataclasses find their module.
    path = Path(__file__).with_name("gemini_fake.py")
    spec = importlib.util.spec_from_file_location("yuyin_tests_gemini_fake", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gemini_fake() -> ModuleType:
    return _load_fake()


@pytest.fixture
def serve(gemini_fake, tmp_path):
    def start(*turns: tuple[float, list[str]]):
        return gemini_fake.GeminiLiveFake(
            [gemini_fake.Turn(at, list(pieces)) for at, pieces in turns], tmp_path
        )

    return start


def engine_for(fake, gemini_fake, **overrides) -> GeminiLiveEngine:
    values = {
        "api_key": gemini_fake.API_KEY,
        "base_url": fake.url,
        "ca_file": str(fake.ca_file),
        "realtime_factor": 20.0,
        "settle_s": 0.5,
        "timeout_s": 10.0,
    }
    values.update(overrides)
    return GeminiLiveEngine(GeminiLiveOptions(**values))


@pytest.fixture(scope="module")
def en_audio(data_dir) -> np.ndarray:
    audio, _ = yuyin.decode_audio(data_dir / "en.wav")
    return audio


def test_chunks_are_100_ms_of_pcm16(en_audio):
    chunks = pcm16_chunks(en_audio)
    assert all(len(c) == 3200 for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= 3200
    assert sum(len(c) for c in chunks) == en_audio.size * 2
    decoded = np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.float32) / 32767
    assert np.abs(decoded - np.clip(en_audio, -1, 1)).max() < 1e-4


def test_english_wire_protocol_and_transcript(serve, gemini_fake, en_audio, fixtures):
    with serve((2.0, EN[0]), (99.0, EN[1])) as fake:
        engine = engine_for(fake, gemini_fake)
        t = yuyin.transcribe(en_audio, engine=engine, language="en", vad=False)
    (session,) = fake.sessions
    # Setup: the model and input transcription with the language hint.
    assert session.setup["model"] == "models/gemini-live-2.5-flash-preview"
    # (google-genai 3 writes this field in snake case; the service's JSON parser takes both.)
    transcription = session.setup["inputAudioTranscription"]
    assert transcription.get("languageCodes", transcription.get("language_codes")) == ["en"]
    assert session.setup["generationConfig"]["responseModalities"] == ["TEXT"]
    # Audio: every 0.1 s chunk as 16 kHz PCM16, in order, the whole input and nothing else.
    assert {mime for _, mime, _ in session.chunks} == {MIME_TYPE}
    sizes = [len(pcm) for _, _, pcm in session.chunks]
    assert all(size == 3200 for size in sizes[:-1])
    assert b"".join(pcm for _, _, pcm in session.chunks) == b"".join(pcm16_chunks(en_audio))
    # End of audio: signalled once, after the last chunk.
    assert session.stream_end_at is not None
    assert session.stream_end_at >= session.chunks[-1][0]
    assert session.messages_after_end == 0
    # Transcript: one segment per turn, pieces joined as sent, the model's reply ignored.
    assert t.text == fixtures["en.wav"]["text"]
    assert [s.text for s in t.segments] == [
        "I like to read a good book in the morning.",
        "It makes me happy and ready for the day.",
    ]
    assert "REPLY" not in t.text
    assert t.language == "en"
    assert t.model == "gemini-live-2.5-flash-preview"
    # The first turn ended when 2 s had been sent; times go forward inside the input.
    first, second = t.segments
    assert 2.0 <= first.end < 3.0
    assert 0.0 == first.start <= first.end <= second.start <= second.end <= t.duration


def test_audio_is_paced_in_real_time_by_the_factor(serve, gemini_fake, en_audio):
    factor = 10.0
    with serve((99.0, EN[0])) as fake:
        engine = engine_for(fake, gemini_fake, realtime_factor=factor)
        engine.run(en_audio, language="en", options=yuyin.TranscribeOptions(), vad_filter=False)
    (session,) = fake.sessions
    times = [at for at, _, _ in session.chunks]
    # Chunk i leaves no earlier than i * 0.1 s / factor after the first: a lower bound that
    # holds however slow the machine is (sleeping never ends early).
    paced = (len(times) - 1) * 0.1 / factor
    assert times[-1] - times[0] >= paced * 0.95
    # The pace is kept chunk by chunk, not only on average.
    early = [i for i in range(1, len(times)) if times[i] - times[0] < i * 0.1 / factor - 0.02]
    assert early == []


def test_without_pacing_audio_goes_out_at_once(serve, gemini_fake, en_audio):
    with serve((99.0, EN[0])) as fake:
        engine = engine_for(fake, gemini_fake, realtime_factor=0.0)
        t = yuyin.transcribe(en_audio, engine=engine, vad=False)
    assert t.text == "I like to read a good book in the morning."
    assert len(fake.sessions[0].chunks) == len(pcm16_chunks(en_audio))


def test_chinese_turns_are_joined_without_spaces(serve, gemini_fake, data_dir, fixtures):
    audio, _ = yuyin.decode_audio(data_dir / "zh.wav")
    with serve((2.0, ZH[0]), (4.0, ZH[1])) as fake:
        engine = engine_for(fake, gemini_fake)
        t = yuyin.transcribe(audio, engine=engine, vad=False)
    assert t.text == fixtures["zh.wav"]["text"]
    assert " " not in t.text
    assert [s.text for s in t.segments] == ["我們一起去公園。", "我們一起去學校。"]
    assert t.language == "zh"  # detected from the script when not given


def test_a_wrong_key_is_a_configuration_error(serve, gemini_fake, en_audio):
    with serve((1.0, EN[0])) as fake:
        engine = engine_for(fake, gemini_fake, api_key="wrong")
        with pytest.raises(ConfigurationError, match="refused"):
            yuyin.transcribe(en_audio, engine=engine, vad=False)
    assert fake.sessions[0].api_key == "wrong"
    assert fake.sessions[0].chunks == []


def test_missing_key_and_bad_requests(monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="API key") as info:
        load_engine(yuyin.ModelOptions(engine="gemini-live"))
    assert "GEMINI_API_KEY" in info.value.hint
    monkeypatch.setenv("GEMINI_API_KEY", "secret-key-123")
    monkeypatch.setenv("YUYIN_GEMINI_MODEL", "gemini-live-x")
    engine = load_engine(yuyin.ModelOptions(engine="gemini-live"))
    assert isinstance(engine, GeminiLiveEngine)
    assert engine.model_name == "gemini-live-x"
    assert engine.options.api_key == "secret-key-123"
    assert "secret-key-123" not in repr(engine.options)  # the key never shows in logs
    with pytest.raises(ConfigurationError, match="transcribes only"):
        engine.check("en", yuyin.TranscribeOptions(task="translate"))
    with pytest.raises(ConfigurationError, match="chunk_ms"):
        GeminiLiveEngine(dataclasses.replace(engine.options, chunk_ms=0))


def test_missing_extra_names_it(monkeypatch):
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "google.genai" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingDependencyError) as info:
        GeminiLiveEngine(GeminiLiveOptions(api_key="k"))
    assert "yuyin[gemini]" in info.value.hint
