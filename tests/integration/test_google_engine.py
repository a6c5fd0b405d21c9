"""The `google` engine against a local fake Speech-to-Text v2 gRPC server (no internet).

The real google-cloud-speech client talks plain-text gRPC to `google_fake.FakeServer` on
127.0.0.1; the fake enforces the service limits and answers from the audio it received
(see google_fake.py), so these tests prove how audio is cut, sent and put back together.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import grpc  # type: ignore[import-untyped]
import numpy as np
import pytest
from click.testing import CliRunner

import yuyin
from yuyin.audio import decode_audio
from yuyin.cli import main
from yuyin.engines.google import (
    GoogleEngine,
    GoogleOptions,
    create_client,
    ensure_recognizer,
    recognition_config,
    recognizer_path,
)
from yuyin.engines.google_stream import GoogleStreamer, GoogleStreamOptions
from yuyin.engines.vad import plan_pieces
from yuyin.errors import ConfigurationError, ModelError

RATE = 16000


def _load_fake() -> ModuleType:
    # Tests are not packages and pytest runs with --import-mode=importlib, so the helper
    # module is loaded by path (and registered, so its dataclasses can find their module).
    path = Path(__file__).with_name("google_fake.py")
    spec = importlib.util.spec_from_file_location("yuyin_tests_google_fake", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def google_fake() -> ModuleType:
    return _load_fake()


@pytest.fixture
def fake(google_fake) -> Iterator:
    with google_fake.FakeServer() as server:
        yield server


def options(fake, **overrides) -> GoogleOptions:
    values = {"project": "demo", "api_endpoint": fake.endpoint, "retry_initial_s": 0.01}
    values.update(overrides)
    return GoogleOptions(**values)


@pytest.fixture(scope="module")
def long_audio(data_dir) -> np.ndarray:
    """en_long.wav five times over: about 103 s, so it needs two requests at least."""
    audio, _ = decode_audio(data_dir / "en_long.wav")
    return np.concatenate([audio] * 5)


def pcm(audio: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(audio, -1, 1) * 32767).astype(np.int16)


# --- synchronous Recognize ---------------------------------------------------------------------


def test_long_audio_is_split_at_silences_and_merged_on_one_timeline(fake, google_fake, long_audio):
    engine = GoogleEngine(options(fake))
    t = yuyin.transcribe(long_audio, engine=engine, language="en")
    calls = fake.speech.sync_calls
    duration = long_audio.size / RATE

    # Within the service limits, nothing lost or sent twice.
    assert len(calls) >= 2
    assert all(c.seconds <= 60.0 and c.bytes <= 10_000_000 for c in calls)
    assert sum(c.seconds for c in calls) == pytest.approx(duration, abs=1e-3)
    assert np.array_equal(np.concatenate([c.pcm for c in calls]), pcm(long_audio))
    # Every cut is in a pause: no energy word straddles it.
    whole = google_fake.energy_words(pcm(long_audio))
    offsets = np.cumsum([0.0] + [c.seconds for c in calls])
    for cut in offsets[1:-1]:
        assert not any(a - 0.05 < cut < b + 0.05 for a, b in whole), f"cut at {cut:.2f} s"
    # The request asked for what the engine promises.
    assert {(c.model, tuple(c.language_codes), c.punctuation, c.word_offsets) for c in calls} == {
        ("chirp_2", ("en-US",), True, True)
    }

    # One timeline: each word lands where its request's offset says, in order, all of them.
    words = t.words
    assert len(words) == len(whole)
    for word, (a, b) in zip(words, whole, strict=True):
        match = re.fullmatch(r" c(\d+)\+(\d+\.\d+)", word.word)
        assert match, word.word
        index, local = int(match.group(1)), float(match.group(2))
        assert word.start == pytest.approx(offsets[index] + local, abs=0.006)
        assert word.start == pytest.approx(a, abs=0.03)
        assert word.end == pytest.approx(b, abs=0.03)
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert all(0 <= w.start <= w.end <= duration for w in words)
    for seg in t.segments:
        assert seg.words
        assert all(seg.start <= w.start <= w.end <= seg.end for w in seg.words)
    assert [s.id for s in t.segments] == list(range(len(t.segments)))
    assert t.language == "en"
    assert t.model == "chirp_2"
    assert t.text.endswith(".")  # the service's punctuation is kept


def test_byte_limit_is_respected_too(fake, long_audio):
    engine = GoogleEngine(options(fake, max_request_bytes=640_000))  # 20 s of LINEAR16
    t = yuyin.transcribe(long_audio, engine=engine, language="en", vad=False)
    calls = fake.speech.sync_calls
    assert len(calls) >= 6
    assert all(c.bytes <= 640_000 for c in calls)
    assert sum(c.seconds for c in calls) == pytest.approx(long_audio.size / RATE, abs=1e-3)
    starts = [w.start for w in t.words]
    assert starts == sorted(starts)


def test_the_fake_enforces_the_sync_limits(fake):
    engine = GoogleEngine(options(fake, max_request_s=61.0))
    with pytest.raises(ConfigurationError, match="maximum of 60 seconds"):
        list(engine.run(np.zeros(61 * RATE, np.float32), language="en",
                        options=yuyin.TranscribeOptions(), vad_filter=False).segments)  # fmt: skip


@pytest.mark.parametrize(
    ("language", "expected_codes", "expected_language"),
    [
        ("zh-TW", ["cmn-Hant-TW"], "zh"),
        ("zh-CN", ["cmn-Hans-CN"], "zh"),
        (None, ["cmn-Hant-TW"], "zh"),  # no language: the configured default codes
        ("yue", ["yue-Hant-HK"], "yue"),
    ],
)
def test_language_codes_come_from_the_table(
    fake, data_dir, language, expected_codes, expected_language
):
    engine = GoogleEngine(options(fake))
    t = yuyin.transcribe(data_dir / "zh.wav", engine=engine, language=language)
    assert fake.speech.sync_calls[-1].language_codes == expected_codes
    assert t.language == expected_language


def test_a_named_recognizer_is_used_and_a_missing_one_is_a_clear_error(fake, data_dir):
    client = create_client(options(fake))
    ensure_recognizer(client, options(fake), "zh-tw", model="chirp_2")
    engine = GoogleEngine(options(fake, recognizer="zh-tw"))
    yuyin.transcribe(data_dir / "en.wav", engine=engine, language="en")
    assert fake.speech.sync_calls[-1].recognizer == recognizer_path("demo", "us-central1", "zh-tw")
    missing = GoogleEngine(options(fake, recognizer="nope"))
    with pytest.raises(ConfigurationError, match="not found") as info:
        yuyin.transcribe(data_dir / "en.wav", engine=missing, language="en")
    assert "yuyin google recognizers list" in info.value.hint


def test_a_channel_can_be_injected(fake, data_dir):
    channel = grpc.insecure_channel(f"127.0.0.1:{fake.port}")
    try:
        engine = GoogleEngine(GoogleOptions(project="demo"), channel=channel)
        t = yuyin.transcribe(data_dir / "en.wav", engine=engine, language="en")
        engine.close()  # not ours: the channel stays open
        assert t.words
        t2 = yuyin.transcribe(data_dir / "en.wav", engine=engine, language="en")
        assert len(t2.words) == len(t.words)
    finally:
        channel.close()


# --- errors, retries, configuration --------------------------------------------------------------


def test_quota_errors_are_retried_with_backoff(fake, data_dir, caplog):
    fake.speech.fail_recognize = [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2
    engine = GoogleEngine(options(fake, retry_initial_s=0.2))
    with caplog.at_level(logging.WARNING, logger="yuyin.engines.google"):
        t = yuyin.transcribe(data_dir / "en.wav", engine=engine, language="en")
    assert t.words
    assert len(fake.speech.attempts) == 3
    assert len(fake.speech.sync_calls) == 1
    retries = [r for r in caplog.records if "retrying with backoff" in r.getMessage()]
    assert len(retries) == 2
    assert "RESOURCE_EXHAUSTED" in retries[0].getMessage() or "429" in retries[0].getMessage()


def test_retries_give_up_with_a_clear_error(fake, data_dir):
    fake.speech.fail_recognize = [grpc.StatusCode.UNAVAILABLE] * 1000
    engine = GoogleEngine(options(fake, retry_initial_s=0.05, retry_deadline_s=0.5))
    with pytest.raises(ModelError, match="did not answer") as info:
        yuyin.transcribe(data_dir / "en.wav", engine=engine, language="en")
    assert "after retrying" in info.value.message
    assert "--location" in info.value.hint
    assert len(fake.speech.attempts) >= 2


@pytest.mark.parametrize(
    ("code", "message", "hint"),
    [
        (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED", "roles/speech.client"),
        (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", "GOOGLE_APPLICATION_CREDENTIALS"),
    ],
)
def test_permission_errors_are_clear_and_not_retried(fake, data_dir, code, message, hint):
    fake.speech.deny = code
    engine = GoogleEngine(options(fake))
    with pytest.raises(ConfigurationError, match=message) as info:
        yuyin.transcribe(data_dir / "en.wav", engine=engine, language="en")
    assert hint in info.value.hint
    assert len(fake.speech.attempts) == 1
    streamer = GoogleStreamer(options(fake))
    with pytest.raises(ConfigurationError, match=message):
        list(streamer.recognize([np.zeros(RATE, np.float32)]))


def test_missing_project_is_a_configuration_error(monkeypatch):
    with pytest.raises(ConfigurationError, match="Google Cloud project") as info:
        GoogleEngine(GoogleOptions(project=None, api_endpoint="http://127.0.0.1:9"))
    assert "GOOGLE_CLOUD_PROJECT" in info.value.hint
    with pytest.raises(ConfigurationError, match="Google Cloud project"):
        GoogleEngine.from_environment(environ={})
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(ConfigurationError, match="Google Cloud project"):
        yuyin.load_engine(yuyin.ModelOptions(engine="google"))
    with pytest.raises(ConfigurationError, match="Google Cloud project"):
        GoogleStreamer(GoogleOptions())


def test_a_missing_extra_names_it(monkeypatch):
    import google.cloud

    monkeypatch.delattr(google.cloud, "speech_v2", raising=False)
    monkeypatch.setitem(sys.modules, "google.cloud.speech_v2", None)
    with pytest.raises(yuyin.MissingDependencyError, match="google-cloud-speech") as info:
        GoogleEngine(GoogleOptions(project="demo"))
    assert info.value.hint == "pip install 'yuyin[google]'"


def test_unreadable_credentials_are_a_configuration_error(tmp_path):
    bad = tmp_path / "key.json"
    bad.write_text("{}")
    with pytest.raises(ConfigurationError, match="cannot load Google credentials") as info:
        GoogleEngine(GoogleOptions(project="demo", credentials_file=str(bad)))
    assert "GOOGLE_APPLICATION_CREDENTIALS" in info.value.hint


def test_from_environment_reads_the_documented_variables(fake):
    engine = GoogleEngine.from_environment(
        yuyin.ModelOptions(engine="google", base_url=fake.endpoint),
        environ={"GOOGLE_CLOUD_PROJECT": "p1", "GOOGLE_CLOUD_LOCATION": "asia-southeast1",
                 "YUYIN_GOOGLE_RECOGNIZER": "r1"},
    )  # fmt: skip
    assert engine.recognizer_name == "projects/p1/locations/asia-southeast1/recognizers/r1"
    assert engine.model_name == "chirp_2"  # yuyin's default model name means chirp_2 here
    other = GoogleEngine.from_environment(
        yuyin.ModelOptions(engine="google", model="long", base_url=fake.endpoint),
        environ={"GOOGLE_CLOUD_PROJECT": "p1"},
    )
    assert other.model_name == "long"
    assert other.recognizer_name == "projects/p1/locations/us-central1/recognizers/_"


# --- piece planning (pure) -----------------------------------------------------------------------


def test_plan_pieces_prefers_the_latest_pause_that_fits():
    speech = [(0.0, 20.0), (20.5, 45.0), (46.0, 70.0), (71.0, 100.0)]
    pieces = plan_pieces(100 * RATE, speech, 60 * RATE)
    assert pieces == [(0, int(45.5 * RATE)), (int(45.5 * RATE), 100 * RATE)]


def test_plan_pieces_without_pauses():
    assert plan_pieces(0, [], 60 * RATE) == []
    assert plan_pieces(10 * RATE, [], 60 * RATE) == [(0, 10 * RATE)]
    # Silence throughout: cut at the limit.
    assert plan_pieces(130 * RATE, [], 60 * RATE) == [
        (0, 60 * RATE), (60 * RATE, 120 * RATE), (120 * RATE, 130 * RATE)
    ]  # fmt: skip
    # Speech that starts late in the window: cut just before it rather than through it.
    assert plan_pieces(100 * RATE, [(50.0, 90.0)], 60 * RATE)[0] == (0, 50 * RATE)
    # Speech longer than a piece has to be cut through.
    pieces = plan_pieces(150 * RATE, [(1.0, 149.0)], 60 * RATE)
    assert all(b - a <= 60 * RATE for a, b in pieces)
    assert pieces[0][0] == 0
    assert pieces[-1][1] == 150 * RATE


# --- StreamingRecognize --------------------------------------------------------------------------


def word_audio(count: int) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """Synthetic speech the fake can read: word k is a run of the sample value k."""
    parts, truth, now = [], [], 0
    for k in range(1, count + 1):
        length = int((0.3 + 0.6 * ((k * 7) % 10) / 10) * RATE)
        gap = int((0.2 + 0.4 * ((k * 3) % 10) / 10) * RATE)
        parts += [np.full(length, k / 32767, np.float32), np.zeros(gap, np.float32)]
        truth.append((f"w{k}", now / RATE, (now + length) / RATE))
        now += length + gap
    return np.concatenate(parts), truth


def chunks_of(audio: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, audio.size, size):
        yield audio[start : start + size]


def assert_every_word_once_and_whole(events, truth):
    finals = [w for e in events if e.type == "final" for w in e.words]
    assert [w.word.strip() for w in finals] == [name for name, _, _ in truth]
    for word, (_, start, end) in zip(finals, truth, strict=True):
        assert word.start == pytest.approx(start, abs=1e-3)
        assert word.end == pytest.approx(end, abs=1e-3)  # whole, not cut at a rotation


def test_streaming_rotates_before_five_minutes_without_losing_or_repeating_words(fake):
    audio, truth = word_audio(540)  # about 8.9 minutes
    assert audio.size / RATE > 480
    streamer = GoogleStreamer(options(fake))
    # One-second chunks from the source: 32,000 bytes each, more than a request may carry.
    events = list(streamer.recognize(chunks_of(audio, RATE), language_codes=["en-US"]))

    streams = fake.speech.streams
    assert len(streams) >= 3
    assert streamer.streams_opened == len(streams)
    assert not any(s.rejected for s in streams)
    assert all(s.audio_seconds < 300 for s in streams)
    assert max(max(s.request_sizes) for s in streams) <= 25_600
    # The streams overlap: more audio was sent than there is.
    assert sum(s.audio_seconds for s in streams) > audio.size / RATE
    assert_every_word_once_and_whole(events, truth)
    finals = [e for e in events if e.type == "final"]
    assert {e.stream for e in finals} == set(range(len(streams)))
    ends = [e.end for e in finals]
    assert ends == sorted(ends)
    partials = [e for e in events if e.type == "partial"]
    assert partials
    assert all(e.text.startswith("w") and 0 <= e.stability <= 1 for e in partials)
    assert {s.model for s in streams} == {"chirp_2"}
    assert {tuple(s.language_codes) for s in streams} == {("en-US",)}


def test_streaming_requests_stay_under_the_cap_at_any_chunk_size(fake):
    audio, truth = word_audio(20)
    streamer = GoogleStreamer(options(fake), GoogleStreamOptions(chunk_ms=5000))
    events = list(streamer.recognize([audio]))  # one huge chunk in, capped requests out
    sizes = fake.speech.streams[0].request_sizes
    assert max(sizes) <= 25_600
    assert max(sizes[1:]) > 25_000  # capped, not tiny
    assert_every_word_once_and_whole(events, truth)


def test_the_fake_enforces_the_streaming_limits(fake):
    client = create_client(options(fake))
    from google.cloud.speech_v2.types import cloud_speech

    engine = GoogleEngine(options(fake))
    first = cloud_speech.StreamingRecognizeRequest(
        recognizer=engine.recognizer_name,
        streaming_config=cloud_speech.StreamingRecognitionConfig(
            config=recognition_config(engine.options, ["en-US"])
        ),
    )
    too_big = cloud_speech.StreamingRecognizeRequest(audio=bytes(25_600))
    with pytest.raises(Exception, match="maximum of 25600 bytes"):
        list(client.streaming_recognize(requests=iter([first, too_big])))
    second = bytes(12_800)  # 0.4 s
    too_long = [first] + [cloud_speech.StreamingRecognizeRequest(audio=second)] * 760
    with pytest.raises(Exception, match="maximum allowed stream duration"):
        list(client.streaming_recognize(requests=iter(too_long)))


def test_streaming_resumes_after_a_dropped_stream(fake):
    audio, truth = word_audio(150)
    fake.speech.fail_stream_after_s = 70.0
    streamer = GoogleStreamer(options(fake))
    events = list(streamer.recognize(chunks_of(audio, 4000)))
    assert [s.rejected for s in fake.speech.streams][:1] == ["dropped on purpose"]
    assert len(fake.speech.streams) == 2
    assert_every_word_once_and_whole(events, truth)


def test_streaming_paces_at_real_time_when_asked(fake):
    audio, truth = word_audio(2)  # about 1.6 s
    seconds = audio.size / RATE
    began = time.monotonic()
    events = list(
        GoogleStreamer(options(fake), GoogleStreamOptions(realtime=True)).recognize([audio])
    )
    assert time.monotonic() - began >= seconds - 0.15
    assert_every_word_once_and_whole(events, truth)


def test_stream_options_beyond_the_service_limits_are_refused(fake):
    for bad in (
        GoogleStreamOptions(rotate_after_s=300),
        GoogleStreamOptions(overlap_s=150, rotate_after_s=240),
        GoogleStreamOptions(chunk_ms=0),
    ):
        with pytest.raises(ConfigurationError):
            GoogleStreamer(options(fake), bad)


def test_consumer_may_stop_early(fake):
    audio, _ = word_audio(60)
    stream = GoogleStreamer(options(fake)).recognize(chunks_of(audio, 1600))
    first = next(e for e in stream if e.type == "final")
    stream.close()  # cancels the call; nothing hangs
    assert first.text == "w1"


# --- recognizers and the CLI ---------------------------------------------------------------------


def yuyin_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yuyin", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})}, check=False,
    )  # fmt: skip


def in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in this process (fast); `yuyin_cli` runs it as a real subprocess."""
    result = CliRunner().invoke(main, list(args))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_recognizers_create_get_list_delete(fake):
    yuyin_cli = in_process
    at = ["--project", "demo", "--location", "asia-southeast1", "--api-endpoint", fake.endpoint]
    made = yuyin_cli("google", "recognizers", "create", "zh-tw", *at, "--json")
    assert made.returncode == 0, made.stderr
    body = json.loads(made.stdout)
    assert body["created"] is True
    assert body["differences"] == {}
    rec = body["recognizer"]
    assert rec["name"] == "projects/demo/locations/asia-southeast1/recognizers/zh-tw"
    assert (rec["model"], rec["language_codes"], rec["state"]) == ("chirp_2", ["cmn-Hant-TW"],
                                                                    "ACTIVE")  # fmt: skip
    assert rec["automatic_punctuation"] is True
    assert rec["word_time_offsets"] is True

    # Create again with the same config (codes in another case): the existing one, no report.
    again = yuyin_cli("google", "recognizers", "create", "zh-tw", *at, "--json",
                      "--language-codes", "cmn-hant-tw")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["created"] is False
    assert json.loads(again.stdout)["differences"] == {}
    assert "warning" not in again.stderr

    # A different config is reported, not applied.
    other = yuyin_cli("google", "recognizers", "create", "zh-tw", *at, "--model", "long",
                      "--language-codes", "cmn-Hant-TW,en-US")  # fmt: skip
    assert other.returncode == 0, other.stderr
    assert "exists" in other.stdout
    assert "model 'chirp_2', not the requested 'long'" in other.stderr
    assert "language_codes" in other.stderr
    diff = json.loads(yuyin_cli("google", "recognizers", "create", "zh-tw", *at, "--json",
                                "--model", "long").stdout)["differences"]  # fmt: skip
    assert diff == {"model": {"existing": "chirp_2", "requested": "long"}}

    got = yuyin_cli("google", "recognizers", "get", "zh-tw", *at)
    assert got.returncode == 0, got.stderr
    assert "zh-tw" in got.stdout
    assert "cmn-Hant-TW" in got.stdout
    yuyin_cli("google", "recognizers", "create", "en", *at, "--language-codes", "en-US")
    listed = json.loads(yuyin_cli("google", "recognizers", "list", *at, "--json").stdout)
    assert [r["recognizer_id"] for r in listed] == ["en", "zh-tw"]
    table = yuyin_cli("google", "recognizers", "list", *at).stdout
    assert table.splitlines()[0].startswith("RECOGNIZER")

    gone = yuyin_cli("google", "recognizers", "delete", "en", *at, "--json")
    assert gone.returncode == 0, gone.stderr
    assert json.loads(gone.stdout)["state"] == "DELETED"
    listed = json.loads(yuyin_cli("google", "recognizers", "list", *at, "--json").stdout)
    assert [r["recognizer_id"] for r in listed] == ["zh-tw"]
    # Creating a deleted recognizer again brings it back.
    back = json.loads(yuyin_cli("google", "recognizers", "create", "en", *at, "--json",
                                "--language-codes", "en-US").stdout)  # fmt: skip
    assert back["created"] is True
    assert back["recognizer"]["state"] == "ACTIVE"

    missing = yuyin_cli("google", "recognizers", "get", "nope", *at)
    assert missing.returncode == 2
    assert "error:" in missing.stderr
    assert "hint:" in missing.stderr


def test_recognizers_cli_errors(fake):
    env = {"GOOGLE_CLOUD_PROJECT": ""}
    no_project = yuyin_cli("google", "recognizers", "list", "--api-endpoint", fake.endpoint,
                           env=env)  # fmt: skip
    assert no_project.returncode == 2
    assert "GOOGLE_CLOUD_PROJECT" in no_project.stderr
    # The project may come from the environment.
    listed = yuyin_cli("google", "recognizers", "list", "--api-endpoint", fake.endpoint, "--json",
                       env={"GOOGLE_CLOUD_PROJECT": "demo"})  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    fake.speech.deny = grpc.StatusCode.PERMISSION_DENIED
    denied = yuyin_cli("google", "recognizers", "create", "x", "--project", "demo",
                       "--api-endpoint", fake.endpoint)  # fmt: skip
    assert denied.returncode == 2
    assert "PERMISSION_DENIED" in denied.stderr
    assert "roles/speech" in denied.stderr


def test_transcribe_cli_with_the_google_engine(fake, data_dir, tmp_path):
    result = yuyin_cli(
        "transcribe", str(data_dir / "en.wav"), "--engine", "google", "--base-url", fake.endpoint,
        "--language", "en", "-o", str(tmp_path), "-f", "srt,json", "-q",
        env={"GOOGLE_CLOUD_PROJECT": "demo"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "en.json").read_text())
    assert data["model"] == "chirp_2"
    assert data["segments"][0]["words"]
    assert "-->" in (tmp_path / "en.srt").read_text()
    assert fake.speech.sync_calls[-1].language_codes == ["en-US"]


def test_engines_listing_has_google_installed():
    out = yuyin_cli("engines", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    google = rows["google"]
    assert google["installed"] is True
    assert google["extra"] == "google"
    assert google["word_timestamps"] is True
    assert google["local"] is False
