"""Offline transcription: yuyin's overhead over plain faster-whisper, and batched vs sequential.

Every variant runs in its own fresh process (so peak memory is its own), variants are
interleaved round by round (so machine noise hits them alike), the model load is timed apart
from the transcription, and every segment is consumed before the clock stops.

    .venv/bin/python bench/transcribe.py [--rounds 3] [--model base] [--audio FILE --text TEXT]

Without --audio it builds a >= 60 s English recording from ../shared/testdata (or from the
committed fixtures when that folder is absent) and scores word error rate on it too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "testdata"

VARIANTS = {
    "faster-whisper": "plain WhisperModel.transcribe, same options as yuyin's defaults",
    "yuyin": "yuyin.transcribe with its defaults (VAD gate, word timestamps, filter)",
    "yuyin-batched": "yuyin.transcribe(batch_size=8)",
    "faster-whisper-defaults": "plain faster-whisper with its own defaults (no VAD/words)",
}


def _concat(out: Path) -> tuple[Path, str]:
    """Concatenate real English recordings (1 s pauses between) into one >= 60 s file."""
    from yuyin.audio import decode_audio

    rows: list[tuple[Path, str]] = []
    if (SHARED / "manifest.jsonl").is_file():
        for line in (SHARED / "manifest.jsonl").read_text().splitlines():
            row = json.loads(line)
            if row["language"] == "en":
                rows.append((SHARED / row["audio"], row["text"]))
    else:
        for line in (ROOT / "tests/data/fixtures.jsonl").read_text().splitlines():
            row = json.loads(line)
            if row["audio"] in ("en.wav", "en_long.wav"):
                rows.append((ROOT / "tests/data" / row["audio"], row["text"]))
    pieces: list[np.ndarray] = []
    texts: list[str] = []
    pause = np.zeros(16000, np.float32)
    while sum(p.size for p in pieces) < 62 * 16000:
        for path, text in rows:
            pieces += [decode_audio(path)[0], pause]
            texts.append(text)
    audio = np.concatenate(pieces)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    import wave

    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    return out, " ".join(texts)


def worker(variant: str, audio_path: str, model: str) -> None:
    """Run one variant in this process and print a JSON line with its timings and text."""
    import faster_whisper

    import yuyin
    from yuyin.engines.faster_whisper import load_engine

    t0 = time.perf_counter()
    engine = load_engine(yuyin.ModelOptions(model=model))
    load_s = time.perf_counter() - t0
    audio, info = yuyin.decode_audio(audio_path)
    cpu0 = time.process_time()  # all threads' CPU time: far less noisy than wall time here
    t0 = time.perf_counter()
    if variant.startswith("faster-whisper"):
        fw: faster_whisper.WhisperModel = engine.model
        kwargs = (
            {} if variant.endswith("defaults") else {"word_timestamps": True, "vad_filter": True}
        )
        segments, _ = fw.transcribe(audio, **kwargs)
        text = " ".join(s.text.strip() for s in segments)  # consumes the generator
    else:
        batch = 8 if variant.endswith("batched") else 0
        text = yuyin.transcribe(audio, engine=engine, batch_size=batch).text
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    print(
        json.dumps(
            {
                "variant": variant,
                "load_s": load_s,
                "wall_s": wall,
                "cpu_s": cpu,
                "duration_s": info.duration,
                "text": text,
            }
        )
    )


def accuracy(model: str) -> None:
    """Corpus error rate of yuyin's defaults vs plain faster-whisper's on real recordings."""
    import jiwer

    import yuyin
    from yuyin.engines.faster_whisper import load_engine
    from yuyin.text import convert_script

    if not (SHARED / "manifest.jsonl").is_file():
        print("\n(accuracy check skipped: ../shared/testdata not found)")
        return
    engine = load_engine(yuyin.ModelOptions(model=model))
    refs: dict[str, list[str]] = {"en": [], "zh": []}
    hyps: dict[str, dict[str, list[str]]] = {
        "yuyin": {"en": [], "zh": []},
        "faster-whisper": {"en": [], "zh": []},
    }
    for line in (SHARED / "manifest.jsonl").read_text().splitlines():
        row = json.loads(line)
        lang, path = row["language"], SHARED / row["audio"]
        if lang not in refs or (lang != "en" and not engine.multilingual):
            continue  # an English-only model is not asked for Mandarin
        refs[lang].append(row["text"])
        hyps["yuyin"][lang].append(yuyin.transcribe(path, engine=engine).text)
        segments, _ = engine.model.transcribe(str(path))
        hyps["faster-whisper"][lang].append("".join(s.text for s in segments))

    def words(text: str) -> str:
        return " ".join(
            "".join(c if c.isalnum() or c in " '" else " " for c in text.lower()).split()
        )

    def chars(text: str) -> str:
        return "".join(c for c in convert_script(text, "simplified") if c.isalnum())

    print(
        f"\naccuracy on ../shared/testdata (model {model}, each with its defaults, "
        "language detected):"
    )
    for name, by_lang in hyps.items():
        wer = jiwer.wer([words(r) for r in refs["en"]], [words(h) for h in by_lang["en"]])
        line = f"  {name:<16} English WER {wer:.3f} ({len(refs['en'])} files)"
        if refs["zh"]:
            cer = jiwer.cer(
                [chars(r) for r in refs["zh"]], [chars(h) or "-" for h in by_lang["zh"]]
            )
            line += f"   Mandarin CER {cer:.3f} ({len(refs['zh'])} files)"
        else:
            line += "   (Mandarin skipped: English-only model)"
        print(line)


def run_variant(variant: str, audio: Path, model: str) -> dict[str, float | str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--worker", variant, "--audio", str(audio), "--model", model],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{variant} failed with status {status}")
    result: dict[str, float | str] = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--audio")
    parser.add_argument("--text", help="reference text of --audio (for WER)")
    parser.add_argument("--model", default="base")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.audio, args.model)
        return

    import jiwer

    from yuyin.engines import resolve_model

    resolve_model(args.model)  # assemble outside the timed runs
    tmp = Path(tempfile.mkdtemp())
    audio, reference = (Path(args.audio), args.text) if args.audio else _concat(tmp / "long.wav")
    runs: dict[str, list[dict[str, float | str]]] = {v: [] for v in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            runs[variant].append(run_variant(variant, audio, args.model))

    norm = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    duration = float(runs["yuyin"][0]["duration_s"])
    # The same machine description `yuyin bench` records (CPU model, cores, load at start).
    from yuyin.bench import describe_environment, describe_machine

    print(f"# machine: {describe_machine(describe_environment())}; model {args.model}, CPU int8")
    print(
        f"# audio: {audio.name}, {duration:.1f} s; {args.rounds} rounds, each run a fresh process"
    )
    print(
        f"{'variant':<24} {'median s':>9} {'min s':>7} {'RTF':>6} {'x real':>7} "
        f"{'cpu s':>7} {'load s':>7} {'peak MB':>8} {'WER':>6}"
    )
    medians = {}
    cpu_medians = {}
    for variant, results in runs.items():
        walls = [float(r["wall_s"]) for r in results]
        med = statistics.median(walls)
        medians[variant] = med
        cpu_medians[variant] = statistics.median(float(r["cpu_s"]) for r in results)
        wer = (
            jiwer.wer(
                reference,
                str(results[0]["text"]),
                reference_transform=norm,
                hypothesis_transform=norm,
            )
            if reference
            else float("nan")
        )
        print(
            f"{variant:<24} {med:9.2f} {min(walls):7.2f} {med / duration:6.3f} "
            f"{duration / med:7.1f} {cpu_medians[variant]:7.2f} "
            f"{statistics.median(float(r['load_s']) for r in results):7.2f} "
            f"{max(float(r['peak_rss_mb']) for r in results):8.0f} {wer:6.3f}"
        )
    # Same options, same audio. CPU time is the figure to trust on a shared machine: wall
    # time also counts whatever else the cores were doing.
    wall_overhead = medians["yuyin"] / medians["faster-whisper"] - 1
    cpu_overhead = cpu_medians["yuyin"] / cpu_medians["faster-whisper"] - 1
    print(
        f"\nyuyin overhead vs faster-whisper (same options): CPU time {cpu_overhead * 100:+.1f} %, "
        f"wall time {wall_overhead * 100:+.1f} % (target < 5 %)"
    )
    speedup = medians["yuyin"] / medians["yuyin-batched"]
    print(f"batched speed-up over sequential yuyin: {speedup:.2f}x")
    accuracy(args.model)


if __name__ == "__main__":
    main()
