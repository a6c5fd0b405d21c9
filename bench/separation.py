"""Does --separate-vocals help recognition under music? WER with and without, per SNR.

Speech is a committed espeak-ng fixture with its known text; the music is generated
(yuyin.media.mixes: chords with harmonics, bass, kick/snare/hi-hat on a repeating bar) and
mixed under the speech at each SNR. Each mix is transcribed as it is and after the light
separator, by the same model with the same settings.

    .venv/bin/python bench/separation.py [--model tiny.en] [--snr 5 0 -5 -10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from pathlib import Path

import jiwer
import numpy as np

import yuyin
from yuyin.audio import decode_audio
from yuyin.media import separate_vocals
from yuyin.media.mixes import make_music, mix_at_snr

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def _wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(_words(reference), _words(hypothesis) or "<empty>"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--snr", type=float, nargs="+", default=[5.0, 0.0, -5.0, -10.0])
    parser.add_argument("--fixtures", nargs="+", default=["en.wav", "en_long.wav"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rows = [json.loads(line) for line in (DATA / "fixtures.jsonl").read_text().splitlines()]
    texts = {row["audio"]: row["text"] for row in rows}
    engine = yuyin.load_engine(yuyin.ModelOptions(model=args.model))

    def recognise(samples: np.ndarray) -> str:
        return yuyin.transcribe(samples, engine=engine, language="en", beam_size=1).text

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"model: {args.model}, greedy; music seed {args.seed}\n")
    print(f"{'fixture':<12} {'SNR dB':>6} {'WER mix':>8} {'WER sep':>8} {'sep s':>6}")
    totals = {snr: [0.0, 0.0, 0] for snr in args.snr}
    for name in args.fixtures:
        speech, _ = decode_audio(DATA / name)
        clean = _wer(texts[name], recognise(speech))
        print(f"{name:<12} {'clean':>6} {clean:8.3f}")
        music = make_music(speech.size / 16000 + 1.0, seed=args.seed)
        for snr in args.snr:
            mix = mix_at_snr(speech, music, snr)
            plain = _wer(texts[name], recognise(mix))
            started = time.perf_counter()
            vocals = separate_vocals(mix, separator="light").vocals
            took = time.perf_counter() - started
            separated = _wer(texts[name], recognise(vocals))
            print(f"{name:<12} {snr:6.0f} {plain:8.3f} {separated:8.3f} {took:6.1f}")
            totals[snr][0] += plain
            totals[snr][1] += separated
            totals[snr][2] += 1
    print(f"\n{'mean':<12} {'SNR dB':>6} {'WER mix':>8} {'WER sep':>8}")
    for snr, (plain, separated, n) in totals.items():
        print(f"{'':<12} {snr:6.0f} {plain / n:8.3f} {separated / n:8.3f}")


if __name__ == "__main__":
    main()
