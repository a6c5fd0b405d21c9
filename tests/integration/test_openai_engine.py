"""The `openai` engine against a real OpenAI-compatible server: our own, on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

import yuyin
from yuyin.engines import openai_api


@pytest.fixture(scope="module")
def api(serve) -> Iterator[str]:
    with serve(preload=("tiny.en",), api_key="k3y") as (url, _):
        yield f"{url}/v1"


def engine(api: str, model: str = "tiny.en", key: str = "k3y") -> yuyin.engines.Engine:
    return yuyin.load_engine(
        yuyin.ModelOptions(engine="openai", model=model, base_url=api, api_key=key)
    )


def test_transcribes_with_words_inside_segments(api, data_dir, fixtures):
    t = yuyin.transcribe(data_dir / "en.wav", engine=engine(api))
    words = {w.strip(".,").lower() for w in t.text.split()}
    assert {"read", "good", "book", "morning", "happy"} <= words
    assert t.language == "en"
    assert t.model == "tiny.en"
    assert t.words
    for seg in t.segments:
        assert all(seg.start - 0.02 <= w.start <= w.end <= seg.end + 0.02 for w in seg.words)


def test_long_audio_is_sent_in_pieces_on_one_timeline(api, data_dir, monkeypatch):
    monkeypatch.setattr(openai_api, "PIECE_SECONDS", 8.0)  # en_long.wav: 20.6 s → 3 pieces
    t = yuyin.transcribe(data_dir / "en_long.wav", engine=engine(api), vad=False)
    starts = [s.start for s in t.segments]
    assert starts == sorted(starts)
    assert t.segments[-1].start >= 16.0, "the third piece lands after 16 s"
    assert "children" in t.text.lower()
    assert [s.id for s in t.segments] == list(range(len(t.segments)))


def test_zh_tw_script_is_applied_on_our_side(api, data_dir):
    t = yuyin.transcribe(data_dir / "zh.wav", engine=engine(api, "base"), language="zh-TW")
    assert "我們" in t.text
    assert yuyin.text.convert_script(t.text, "traditional") == t.text


def test_wrong_key_and_unreachable_api_are_clear_errors(api, data_dir):
    with pytest.raises(yuyin.ConfigurationError, match="refused the key"):
        yuyin.transcribe(data_dir / "en.wav", engine=engine(api, key="wrong"))
    with pytest.raises(yuyin.ModelError, match="cannot reach") as info:
        yuyin.transcribe(data_dir / "en.wav", engine=engine("http://127.0.0.1:9/v1"))
    assert "--base-url" in info.value.hint
    with pytest.raises(yuyin.ConfigurationError, match="API key"):
        engine(api, key="")


def test_cli_engine_flag_reads_the_key_from_the_environment(api, data_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "yuyin", "transcribe", str(data_dir / "en.wav"), "--engine",
         "openai", "--base-url", api, "-m", "tiny.en", "-o", str(tmp_path), "-f", "txt", "-q"],
        capture_output=True, env={**os.environ, "OPENAI_API_KEY": "k3y"}, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "morning" in (tmp_path / "en.txt").read_text().lower()


def test_engines_listing():
    out = subprocess.run(
        [sys.executable, "-m", "yuyin", "engines", "--json"], capture_output=True, check=True
    )
    import json

    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["faster-whisper"]["installed"] is True
    assert rows["openai"]["translation"] is True
    bad = subprocess.run(
        [sys.executable, "-m", "yuyin", "transcribe", "x.wav", "--engine", "nope"],
        capture_output=True, check=False,
    )  # fmt: skip
    assert bad.returncode in (2, 3)
