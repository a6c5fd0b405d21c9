"""Streaming (issue 4): accuracy against offline, commit latency, compute load, streams per machine.

    .venv/bin/python bench/stream.py [--model tiny.en] [--min-chunk-size 1.0] [--beam-size 5]
                                     [--max-streams 4] [--streams-sec 60] [--quick]

Builds a >= 2-minute English recording from ../shared/testdata (real speech, 1.5 s pauses
between utterances, the set repeated) or, when that folder is absent, from the committed
fixtures, then measures in one process with one loaded model:

1. offline WER: `yuyin.transcribe` on the whole recording (the same model);
2. streaming WER and latency, computation-unaware (1 s of audio per step, emission time =
   audio time: the algorithm's own delay) and in real time (audio released by the wall clock,
   so decoding time counts: what a live user sees);
3. compute time / audio time of the real-time stream;
4. how many real-time streams at once the machine sustains (threads sharing the model).

Targets (issue 4, this 2-core CPU, tiny.en): streaming WER <= 1.15 x offline, median commit
latency <= 2.5 s at --min-chunk-size 1.0, compute/audio <= 0.5. The machine may be shared:
the load average is printed beside the numbers, and compute is reported both as wall time
and as CPU core-seconds of this process (the fair measure when others load the CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "testdata"
SR = 16000
# name, WER, median, p90, compute/audio (wall), CPU core-seconds/audio, degradation level
Row = tuple[str, float, float | None, float | None, float, float, int]


def build_recording(min_sec: float, pause_sec: float) -> tuple[np.ndarray, str, str]:
    """Concatenate real English recordings with pauses until `min_sec` is reached."""
    from yuyin.audio import decode_audio

    rows: list[tuple[Path, str]] = []
    source = "../shared/testdata (real speech)"
    if (SHARED / "manifest.jsonl").is_file():
        for line in (SHARED / "manifest.jsonl").read_text().splitlines():
            row = json.loads(line)
            if row["language"] == "en":
                rows.append((SHARED / row["audio"], row["text"]))
    else:
        source = "tests/data fixtures (generated speech)"
        for line in (ROOT / "tests/data/fixtures.jsonl").read_text().splitlines():
            row = json.loads(line)
            if row["audio"] in ("en.wav", "en_long.wav"):
                rows.append((ROOT / "tests/data" / row["audio"], row["text"]))
    decoded = [(decode_audio(path)[0], text) for path, text in rows]
    pause = np.zeros(int(pause_sec * SR), np.float32)
    pieces: list[np.ndarray] = []
    texts: list[str] = []
    rounds = 0
    while sum(p.size for p in pieces) < min_sec * SR:
        # Each round in another order, so no utterance follows itself.
        order = decoded[rounds % len(decoded) :] + decoded[: rounds % len(decoded)]
        for audio, text in order[:: -1 if rounds % 2 else 1]:
            pieces += [audio, pause]
            texts.append(text)
        rounds += 1
    return np.concatenate(pieces), " ".join(texts), source


def run_stream(asr, options, audio, mode: str, chunk: float, vac=None):
    from yuyin.stream import processor_factory, replay

    made = []
    if vac is not None:
        chunk = 0.04  # whisper_streaming's --vac-chunk-size: the VAC decides when to decode

    def make(clock):
        made.append(processor_factory(asr, options, vac=vac)(clock))
        return made[-1]

    cpu = time.process_time()
    events = list(replay(audio, make, mode=mode, chunk_sec=chunk))
    cpu = time.process_time() - cpu  # all threads of this process: core-seconds
    return events, made[0].compute_sec, cpu


def summarise(events, reference: str) -> dict[str, float]:
    from yuyin.stream import commit_latency, error_rates
    from yuyin.types import join_segment_texts

    committed = [e for e in events if e.type == "committed"]
    latency = commit_latency(committed)
    text = join_segment_texts([e.text for e in committed])
    levels = [e.degradation.level for e in events if e.type == "status"]
    return {
        "wer": error_rates(text, reference).wer,
        "median": latency.median,
        "p90": latency.p90,
        "max": latency.max,
        "max_level": max(levels, default=0),
    }


def concurrent(asr, options, audio, streams: int, chunk: float, vac) -> list[dict[str, float]]:
    """`streams` real-time streams at once; per stream: latency and the lag at its end."""
    results: list[dict[str, float]] = [{} for _ in range(streams)]

    def one(index: int) -> None:
        events, compute, _cpu = run_stream(asr, options, audio, "realtime", chunk, vac)
        committed = [e for e in events if e.type == "committed"]
        stats = summarise(events, "")
        end_lag = committed[-1].emission_time - audio.size / SR if committed else float("inf")
        results[index] = {**stats, "end_lag": end_lag, "compute": compute}

    threads = [threading.Thread(target=one, args=(i,)) for i in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--min-chunk-size", type=float, default=1.0)
    parser.add_argument("--beam-size", type=int, default=None, help="default: StreamOptions'")
    parser.add_argument("--minutes", type=float, default=2.0, help="recording length")
    parser.add_argument("--pause-sec", type=float, default=1.5)
    parser.add_argument("--max-streams", type=int, default=4)
    parser.add_argument("--streams-sec", type=float, default=60.0, help="audio per stream")
    parser.add_argument("--quick", action="store_true", help="skip the real-time runs")
    parser.add_argument("--vac", action="store_true", help="stream with voice-activity control")
    args = parser.parse_args()

    import yuyin
    from yuyin.engines import load_engine
    from yuyin.stream import EngineASR, StreamOptions, VacOptions

    audio, reference, source = build_recording(args.minutes * 60, args.pause_sec)
    duration = audio.size / SR
    engine = load_engine(yuyin.ModelOptions(model=args.model))
    base = StreamOptions(language="en", min_chunk_size=args.min_chunk_size)
    if args.beam_size is not None:
        base = StreamOptions(
            language="en", min_chunk_size=args.min_chunk_size, beam_size=args.beam_size
        )
    asr = EngineASR(engine, base)
    vac = VacOptions() if args.vac else None
    asr.transcribe(audio[: 2 * SR], prompt="", language="en")  # warm-up
    print(
        f"recording: {duration:.1f} s from {source}; model {args.model}, beam "
        f"{base.beam_size}, voice-activity control {'on' if args.vac else 'off'},"
    )
    print(
        f"min chunk {args.min_chunk_size} s, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} at start\n"
    )

    from yuyin.stream import error_rates

    started, cpu = time.perf_counter(), time.process_time()
    offline = yuyin.transcribe(audio, engine=engine, language="en")
    offline_wall = time.perf_counter() - started
    offline_cpu = time.process_time() - cpu
    offline_wer = error_rates(offline.text, reference).wer
    # The stream decodes without conditioning on earlier windows (its prompt carries the
    # context); offline with the same setting is the like-for-like baseline.
    started, cpu = time.perf_counter(), time.process_time()
    plain = yuyin.transcribe(audio, engine=engine, language="en", condition_on_previous_text=False)
    plain_wall = time.perf_counter() - started
    plain_cpu = time.process_time() - cpu
    plain_wer = error_rates(plain.text, reference).wer

    unaware_opts = StreamOptions(
        language="en", min_chunk_size=args.min_chunk_size, beam_size=base.beam_size,
        adaptive=False,
    )  # fmt: skip
    events, unaware_compute, unaware_cpu = run_stream(
        asr, unaware_opts, audio, "comp-unaware", args.min_chunk_size, vac
    )
    unaware = summarise(events, reference)

    rows: list[Row] = [
        (
            "offline (yuyin.transcribe)",
            offline_wer,
            None,
            None,
            offline_wall / duration,
            offline_cpu / duration,
            0,
        ),
        (
            "offline, no conditioning",
            plain_wer,
            None,
            None,
            plain_wall / duration,
            plain_cpu / duration,
            0,
        ),
        (
            "stream, computation-unaware",
            unaware["wer"],
            unaware["median"],
            unaware["p90"],
            unaware_compute / duration,
            unaware_cpu / duration,
            0,
        ),
    ]
    realtime = None
    if not args.quick:
        events, rt_compute, rt_cpu = run_stream(
            asr, base, audio, "realtime", args.min_chunk_size, vac
        )
        realtime = summarise(events, reference)
        rows.append(
            (
                "stream, real time",
                realtime["wer"],
                realtime["median"],
                realtime["p90"],
                rt_compute / duration,
                rt_cpu / duration,
                int(realtime["max_level"]),
            )
        )

    print(
        f"{'run':30} {'WER':>6} {'x off':>6} {'median':>7} {'p90':>6} {'comp/aud':>9} "
        f"{'cpu/aud':>8} {'degr':>5}"
    )
    for name, wer, median, p90, ratio, cpu_ratio, level in rows:
        rel = wer / offline_wer if offline_wer else float("nan")
        med = f"{median:6.2f}s" if median is not None else "      -"
        p9 = f"{p90:5.2f}s" if p90 is not None else "     -"
        print(
            f"{name:30} {wer:6.3f} {rel:6.2f} {med} {p9} {ratio:9.2f} {cpu_ratio:8.2f} {level:5d}"
        )
    print("(comp/aud: decoding wall time / audio time; cpu/aud: CPU core-seconds / audio time)")

    sustained = 0
    if not args.quick and args.max_streams > 0:
        clip = audio[: int(args.streams_sec * SR)]
        print(f"\nconcurrent real-time streams ({clip.size / SR:.0f} s each, one shared model):")
        print(f"{'streams':>7} {'median':>7} {'p90':>6} {'worst end lag':>14} {'max degr':>9}")
        for n in range(1, args.max_streams + 1):
            results = concurrent(asr, base, clip, n, args.min_chunk_size, vac)
            median = statistics.median(r["median"] for r in results)
            p90 = max(r["p90"] for r in results)
            lag = max(r["end_lag"] for r in results)
            level = int(max(r["max_level"] for r in results))
            # Keeping up is about compute: the last words arrive within 3 s of the audio's
            # end. Latency from unstable hypotheses (p90) is printed beside it, not mixed in.
            keeps_up = lag <= 3.0
            sustained = n if keeps_up and sustained == n - 1 else sustained
            print(
                f"{n:7d} {median:6.2f}s {p90:5.2f}s {lag:13.2f}s {level:9d}"
                f"  {'keeps up' if keeps_up else 'falls behind'}"
            )

    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    print("\ntargets (issue 4):")
    stream_wer = realtime["wer"] if realtime else unaware["wer"]
    median = realtime["median"] if realtime else unaware["median"]
    ratio = rows[-1][4]
    for name, base_wer in (("offline default", offline_wer), ("no conditioning", plain_wer)):
        verdict = "met" if stream_wer <= 1.15 * base_wer + 1e-9 else "missed"
        print(
            f"  streaming WER <= 1.15 x {name + ':':17} {stream_wer:.3f} vs "
            f"{1.15 * base_wer:.3f} ({verdict})"
        )
    print(
        f"  median commit latency <= 2.5 s:   {median:.2f} s "
        f"({'met' if median <= 2.5 else 'missed'})"
    )
    verdict = "met" if ratio <= 0.5 else "missed"
    print(f"  compute/audio <= 0.5:             {ratio:.2f} wall ({verdict})")
    # On a shared machine wall time also counts other people's work; CPU core-seconds
    # count only this process's (both CTranslate2 threads included).
    cpu_ratio = rows[-1][5]
    verdict = "met" if cpu_ratio <= 0.5 else "missed"
    print(f"  CPU time/audio <= 0.5:            {cpu_ratio:.2f} ({verdict})")
    if not args.quick:
        print(f"  real-time streams sustained:      {sustained}")


if __name__ == "__main__":
    main()
