"""Server throughput and latency beside calling the library directly on the same clips.

    .venv/bin/python bench/serve.py [--requests 40] [--concurrency 4] [--model tiny.en]

Starts `yuyin serve`'s app with uvicorn on 127.0.0.1, sends the clips over HTTP from a pool
of clients, then transcribes the same clips with `yuyin.transcribe` from a thread pool of the
same size sharing one model, and prints requests/s and p50/p95 latency for both.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

import yuyin
from yuyin.server import create_app
from yuyin.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "testdata"


def clips() -> list[Path]:
    found = sorted(SHARED.glob("en/*.wav")) if SHARED.is_dir() else []
    return found or [ROOT / "tests/data/en.wav", ROOT / "tests/data/en_long.wav"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(pool_size: int, jobs: list[Path], call) -> tuple[float, list[float]]:
    latencies: list[float] = []

    def one(path: Path) -> None:
        t0 = time.perf_counter()
        call(path)
        latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(pool_size) as pool:
        list(pool.map(one, jobs))
    return time.perf_counter() - t0, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--model", default="tiny.en")
    args = parser.parse_args()
    jobs = list(itertools.islice(itertools.cycle(clips()), args.requests))
    payloads = {p: p.read_bytes() for p in set(jobs)}

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(
        port=port, default_model=args.model, preload=(args.model,),
        max_concurrency=args.concurrency, max_queue=args.requests,
    )  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(create_app(settings), port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/v1/audio/transcriptions"

    def over_http(path: Path) -> None:
        r = httpx.post(url, files={"file": (path.name, payloads[path])}, timeout=600)
        r.raise_for_status()

    engine = yuyin.load_engine(yuyin.ModelOptions(model=args.model))

    def direct(path: Path) -> None:
        yuyin.transcribe(path, engine=engine, word_timestamps=False)

    direct(jobs[0])
    over_http(jobs[0])  # warm both paths
    rows = []
    for name, call in (("library (threads)", direct), ("HTTP server", over_http)):
        wall, lat = timed(args.concurrency, jobs, call)
        rows.append((name, len(jobs) / wall, statistics.median(lat), pct(lat, 0.95)))
    server.should_exit = True

    print(
        f"# {len(jobs)} requests over {len(set(jobs))} clips, {args.concurrency} at a time, "
        f"model {args.model}, CPU; Python {sys.version.split()[0]}"
    )
    print(f"{'path':<20} {'req/s':>7} {'p50 s':>7} {'p95 s':>7}")
    for name, rps, p50, p95 in rows:
        print(f"{name:<20} {rps:7.2f} {p50:7.2f} {p95:7.2f}")
    print(f"server throughput / library throughput: {rows[1][1] / rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
