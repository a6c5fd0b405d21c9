"""The HTTP server, started for real with uvicorn on 127.0.0.1, used by the real openai client."""

from __future__ import annotations

import concurrent.futures
import os
import socket
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from yuyin.settings import Settings


@pytest.fixture(scope="module")
def base_url(serve) -> Iterator[str]:
    with serve(preload=("tiny.en",)) as (url, _):
        yield url


@pytest.fixture(scope="module")
def client(base_url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)


def _words(text: str) -> set[str]:
    return {w.strip(".,!?").lower() for w in text.split()}


def test_openai_client_transcribes_json(client, data_dir):
    with (data_dir / "en.wav").open("rb") as f:
        result = client.audio.transcriptions.create(model="whisper-1", file=f)
    assert {"read", "good", "book", "morning", "happy"} <= _words(result.text)


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_openai_client_text_formats(client, data_dir, fmt):
    with (data_dir / "en.mp3").open("rb") as f:
        result = client.audio.transcriptions.create(
            model="tiny.en", file=f, response_format=fmt, language="en"
        )
    text = result if isinstance(result, str) else str(result)
    assert "morning" in text.lower()
    if fmt == "srt":
        assert text.startswith("1\n00:00:00,000 --> ")
    if fmt == "vtt":
        assert text.startswith("WEBVTT")


def test_verbose_json_with_word_and_segment_timestamps(client, data_dir):
    with (data_dir / "en.wav").open("rb") as f:
        result = client.audio.transcriptions.create(
            model="whisper-1",
            file=f,
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
        )
    assert result.language == "english"
    assert 5.0 < result.duration < 6.0
    assert result.segments
    assert result.segments[0].start == 0.0
    assert result.words
    assert all(w.start <= w.end <= result.duration for w in result.words)
    assert "morning" in {w.word.strip(".,").lower() for w in result.words}


def test_translation_endpoint(base_url, data_dir):
    translator = openai.OpenAI(base_url=f"{base_url}/v1", api_key="x", max_retries=0)
    # openai 3.x marks its translations call deprecated; the endpoint is still OpenAI's API.
    with (
        (data_dir / "zh.wav").open("rb") as f,
        pytest.warns(DeprecationWarning, match="deprecated"),
    ):
        result = translator.audio.translations.create(model="base", file=f)
    assert result.text.strip()
    assert all(ord(c) < 0x3000 for c in result.text), result.text


def test_models_listing(client):
    ids = [m.id for m in client.models.list().data]
    assert "whisper-1" in ids
    assert "tiny.en" in ids
    assert "base" in ids
    assert client.models.retrieve("base").id == "base"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-9")


def test_bad_inputs_get_openai_shaped_errors(client, base_url, data_dir):
    with (
        (data_dir / "not_audio.wav").open("rb") as f,
        pytest.raises(openai.BadRequestError) as info,
    ):
        client.audio.transcriptions.create(model="whisper-1", file=f)
    error = info.value.body
    assert isinstance(error, dict)
    assert "not a media file" in error["message"]
    assert "not_audio.wav" in error["message"]
    assert "/tmp" not in error["message"], "no server path leaks"
    empty = httpx.post(f"{base_url}/v1/audio/transcriptions", files={"file": ("e.wav", b"")})
    assert empty.status_code == 400
    assert "empty" in empty.json()["error"]["message"]
    fmt = httpx.post(
        f"{base_url}/v1/audio/transcriptions",
        files={"file": ("a.wav", (data_dir / "en.wav").read_bytes())},
        data={"response_format": "docx"},
    )
    assert fmt.status_code == 400
    assert fmt.json()["error"]["param"] == "response_format"
    missing = httpx.post(f"{base_url}/v1/audio/transcriptions", data={"model": "whisper-1"})
    assert missing.status_code == 400
    assert missing.json()["error"]["type"] == "invalid_request_error"
    broken = httpx.post(
        f"{base_url}/v1/audio/transcriptions",
        content=b"--x\r\nnonsense",
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert broken.status_code == 400
    language = httpx.post(
        f"{base_url}/v1/audio/transcriptions",
        files={"file": ("a.wav", (data_dir / "en.wav").read_bytes())},
        data={"language": "klingon"},
    )
    assert language.status_code == 400
    assert "unknown language" in language.json()["error"]["message"]
    unknown_model = httpx.post(
        f"{base_url}/v1/audio/transcriptions",
        files={"file": ("a.wav", (data_dir / "en.wav").read_bytes())},
        data={"model": "no-such-model"},
    )
    assert unknown_model.status_code == 404


def test_health_ready_and_metrics(base_url, client, data_dir):
    assert httpx.get(f"{base_url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{base_url}/ready")
    assert ready.status_code == 200
    assert "tiny.en" in ready.json()["loaded"]
    with (data_dir / "en.wav").open("rb") as f:
        client.audio.transcriptions.create(model="whisper-1", file=f)
    metrics = httpx.get(f"{base_url}/metrics").text
    assert 'yuyin_requests_total{route="/v1/audio/transcriptions",status="200"}' in metrics
    audio_line = next(x for x in metrics.splitlines() if x.startswith("yuyin_audio_seconds_total"))
    assert float(audio_line.split()[-1]) >= 5.0
    assert "yuyin_real_time_factor_bucket" in metrics
    assert "yuyin_queue_depth" in metrics


def test_api_key_is_required_when_set(serve, data_dir):
    with serve(api_key="s3cret", preload=("tiny.en",)) as (url, _):
        anonymous = httpx.get(f"{url}/v1/models")
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "invalid_api_key"
        wrong = openai.OpenAI(base_url=f"{url}/v1", api_key="nope", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        right = openai.OpenAI(base_url=f"{url}/v1", api_key="s3cret", max_retries=0)
        with (data_dir / "en.wav").open("rb") as f:
            assert (
                "morning"
                in right.audio.transcriptions.create(model="whisper-1", file=f).text.lower()
            )
        assert httpx.get(f"{url}/health").status_code == 200  # probes need no key


def test_upload_and_duration_limits(serve, data_dir):
    with serve(max_upload_mb=0.1, max_audio_seconds=3.0, preload=("tiny.en",)) as (url, _):
        big = httpx.post(
            f"{url}/v1/audio/transcriptions",
            files={"file": ("long.wav", (data_dir / "en_long.wav").read_bytes())},
        )
        assert big.status_code == 413
        long = httpx.post(
            f"{url}/v1/audio/transcriptions",
            files={"file": ("en.mp3", (data_dir / "en.mp3").read_bytes())},
        )
        assert long.status_code == 413
        assert "audio too long" in long.json()["error"]["message"]


def test_over_capacity_gets_429_with_retry_after_and_no_temp_files_remain(serve, data_dir):
    payload = (data_dir / "en_long.wav").read_bytes()
    with serve(max_concurrency=1, max_queue=1, preload=("tiny.en",)) as (url, app):

        def post(_: int) -> httpx.Response:
            return httpx.post(
                f"{url}/v1/audio/transcriptions",
                files={"file": ("a.wav", payload)},
                timeout=300,
            )

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            responses = list(pool.map(post, range(6)))
        codes = sorted(r.status_code for r in responses)
        assert set(codes) <= {200, 429}
        assert 200 in codes
        assert 429 in codes
        for r in responses:
            if r.status_code == 429:
                assert r.headers["retry-after"].isdigit()
            else:
                assert "children" in r.json()["text"].lower()
        assert os.listdir(app.state.upload_root) == [], "every upload was deleted"


def test_yuyin_serve_command_starts_serves_and_stops_gracefully(tmp_path, data_dir):
    import signal
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "yuyin", "serve", "--port", str(port), "--preload", "tiny.en",
         "--default-model", "tiny.en"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.2)
        reply = httpx.post(
            f"http://127.0.0.1:{port}/v1/audio/transcriptions",
            files={"file": ("en.wav", (data_dir / "en.wav").read_bytes())},
            timeout=120,
        )
        assert reply.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    # uvicorn finishes in-flight work, shuts the app down, then re-raises SIGTERM.
    assert proc.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in err
    assert '"path": "/v1/audio/transcriptions", "status": 200' in err


def test_idle_models_are_unloaded_but_preloaded_ones_stay():
    from yuyin.server.models import ModelManager

    manager = ModelManager(Settings(model_ttl_s=10, preload=("tiny.en",), default_model="base"))
    manager.get("tiny.en")
    manager.get("whisper-1")  # the default model, base
    assert manager.loaded() == ["base", "tiny.en"]
    assert manager.unload_idle(now=time.monotonic() + 5) == []
    assert manager.unload_idle(now=time.monotonic() + 60) == ["base"]
    assert manager.loaded() == ["tiny.en"]


@pytest.mark.slow
def test_bounded_load_all_succeed_or_429_correct_no_leaks(serve, data_dir):
    import resource

    payload = (data_dir / "en.wav").read_bytes()
    with serve(max_concurrency=2, max_queue=4, preload=("tiny.en",)) as (url, app):
        refused = []

        def post(_: int) -> httpx.Response:
            # Like OpenAI's clients: on 429, wait (Retry-After, shortened here) and retry.
            while True:
                r = httpx.post(
                    f"{url}/v1/audio/transcriptions",
                    files={"file": ("a.wav", payload)},
                    timeout=300,
                )
                if r.status_code != 429:
                    return r
                assert r.headers["retry-after"].isdigit()
                refused.append(1)
                time.sleep(0.2)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(post, range(8)))  # warm-up: allocator and model caches settle
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            responses = list(pool.map(post, range(50)))
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert [r.status_code for r in responses] == [200] * 50
        assert refused, "8 clients against 2 slots + 4 queued must see some 429s"
        assert all("morning" in r.json()["text"].lower() for r in responses)
        assert os.listdir(app.state.upload_root) == []
        assert (rss_after - rss_before) / 1024 < 150, "peak memory stays flat under load"


def test_page_endpoints(base_url, data_dir):
    page = httpx.get(f"{base_url}/")
    assert page.status_code == 200
    assert "yuyin" in page.text
    assert httpx.get(f"{base_url}/static/app.js").status_code == 200
    config = httpx.get(f"{base_url}/api/config").json()
    assert "tiny.en" in config["models"]
    assert config["languages"]["zh-TW"].startswith("繁體中文")
    wav = (data_dir / "en.wav").read_bytes()
    reply = httpx.post(
        f"{base_url}/api/transcribe",
        files={"file": ("en.wav", wav)},
        data={"model": "tiny.en", "word_timestamps": "true"},
        timeout=120,
    ).json()
    assert "morning" in reply["transcript"]["text"].lower()
    assert reply["formats"]["srt"].startswith("1\n")
    assert reply["transcript"]["segments"][0]["words"]
    png = httpx.post(f"{base_url}/api/analysis", files={"file": ("en.wav", wav)}, timeout=120)
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    bad = httpx.post(f"{base_url}/api/analysis", files={"file": ("x.wav", b"not audio")})
    assert bad.status_code == 400
    assert "/tmp" not in bad.json()["error"]["message"]
    task = httpx.post(
        f"{base_url}/api/transcribe", files={"file": ("en.wav", wav)}, data={"task": "sing"}
    )
    assert task.status_code == 400


def test_page_transcribes_a_url_the_server_downloads(base_url, media_server, serve, tmp_path):
    config = httpx.get(f"{base_url}/api/config").json()
    assert config["url_input"] is True, "on by default when bound to loopback"
    reply = httpx.post(
        f"{base_url}/api/transcribe",
        data={"url": f"{media_server}/en.mp3", "model": "tiny.en"},
        timeout=120,
    )
    assert reply.status_code == 200, reply.text
    assert "morning" in reply.json()["transcript"]["text"].lower()
    missing = httpx.post(
        f"{base_url}/api/transcribe", data={"url": f"{media_server}/nothing.mp3"}, timeout=120
    )
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "url"
    assert "nothing.mp3" in missing.json()["error"]["message"]
    both = httpx.post(
        f"{base_url}/api/transcribe",
        files={"file": ("en.wav", b"RIFF")},
        data={"url": f"{media_server}/en.mp3"},
    )
    assert both.status_code == 400
    assert httpx.post(f"{base_url}/api/transcribe", data={"model": "tiny.en"}).status_code == 400
    with serve(allow_urls=False) as (closed_url, _):
        assert httpx.get(f"{closed_url}/api/config").json()["url_input"] is False
        refused = httpx.post(
            f"{closed_url}/api/transcribe", data={"url": f"{media_server}/en.mp3"}, timeout=60
        )
        assert refused.status_code == 403
        assert "--allow-urls" in refused.json()["error"]["message"]


def test_url_input_follows_the_bind_address():
    assert Settings(host="127.0.0.1").url_input
    assert not Settings(host="0.0.0.0").url_input  # reachable by others: opt in
    assert Settings(host="0.0.0.0", allow_urls=True).url_input
    assert not Settings(host="127.0.0.1", allow_urls=False).url_input


@pytest.mark.slow
def test_server_engine_setting_selects_the_recogniser(serve, data_dir):
    wav = (data_dir / "en.wav").read_bytes()
    with serve(engine="transformers") as (url, _):
        reply = httpx.post(
            f"{url}/v1/audio/transcriptions",
            files={"file": ("en.wav", wav)},
            data={"model": "tiny.en"},
            timeout=600,
        )
        assert reply.status_code == 200, reply.text
        assert "morning" in reply.json()["text"].lower()
    with serve(engine="nope") as (url, _):
        bad = httpx.post(f"{url}/v1/audio/transcriptions", files={"file": ("en.wav", wav)})
        assert bad.status_code == 400
        assert "unknown engine" in bad.json()["error"]["message"]
