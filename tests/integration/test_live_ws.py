"""The live WebSocket: a real server, a real `websockets` client, generated speech."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import numpy as np
import pytest
import websockets

from yuyin.audio import decode_audio


@pytest.fixture(scope="module")
def ws_url(serve) -> Iterator[str]:
    with serve(preload=("tiny.en",), api_key="k") as (url, _):
        yield url.replace("http://", "ws://") + "/v1/audio/stream"


def pcm(path) -> bytes:
    audio, _ = decode_audio(path)
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


async def stream(url: str, payload: bytes, *, chunk: int = 16000, odd: bool = False) -> list:
    events = []
    async with websockets.connect(url, max_size=None) as ws:
        for i in range(0, len(payload), chunk):
            piece = payload[i : i + chunk]
            if odd and len(piece) > 1:
                await ws.send(piece[:1])  # split samples across frames on purpose
                piece = piece[1:]
            await ws.send(piece)
        await ws.send("hello?")  # not a command: an error event, the stream goes on
        await ws.send(json.dumps({"type": "end"}))
        async for message in ws:
            events.append(json.loads(message))
            if events[-1]["type"] == "done":
                break
    return events


def test_pcm_stream_gives_committed_and_final_text(ws_url, data_dir):
    events = asyncio.run(
        stream(f"{ws_url}?model=tiny.en&api_key=k", pcm(data_dir / "en_long.wav"), odd=True)
    )
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "done"
    assert "error" in kinds
    text = " ".join(e["text"] for e in events if e["type"] in ("committed", "final")).lower()
    for word in ("sun", "park", "children", "cake", "dog", "birds", "bed"):
        assert word in text, text
    finals = [e for e in events if e["type"] == "final"]
    assert finals
    assert all(w["start"] <= w["end"] for e in finals for w in e["words"])


def test_webm_opus_stream_from_a_browser_style_encoder(ws_url, data_dir):
    webm = (data_dir / "en.webm").read_bytes()  # Opus in WebM, as MediaRecorder sends
    events = asyncio.run(stream(f"{ws_url}?format=webm&api_key=k", webm, chunk=4000))
    text = " ".join(e["text"] for e in events if e["type"] in ("committed", "final")).lower()
    assert "morning" in text


def test_wrong_key_is_refused(ws_url):
    async def attempt() -> tuple[dict, int]:
        async with websockets.connect(f"{ws_url}?api_key=nope") as ws:
            first = json.loads(await ws.recv())
            with pytest.raises(websockets.ConnectionClosedError) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            return first, closed.value.rcvd.code

    event, code = asyncio.run(attempt())
    assert event["type"] == "error"
    assert "API key" in event["message"]
    assert code == 4401


def test_a_client_that_vanishes_does_not_hurt_the_next(ws_url, data_dir):
    async def vanish() -> None:
        ws = await websockets.connect(f"{ws_url}?api_key=k")
        await ws.send(pcm(data_dir / "en.wav")[:32000])
        await ws.close()  # no flush, no end: gone mid-utterance

    asyncio.run(vanish())
    events = asyncio.run(stream(f"{ws_url}?api_key=k", pcm(data_dir / "en.wav")))
    assert "morning" in " ".join(e.get("text", "") for e in events).lower()
