"""Domain adaptation, measured: fine-tune tiny.en on the names it gets wrong, score before/after.

The domain set (tests/data/finetune/domain.jsonl, made by make_domain_set.py there) is
espeak-ng speech full of Taiwanese place names and product names (Hsinchu, Kaohsiung,
Keelung, Tamsui, Jiufen, Gogoro, Pegatron...). The held-out test split has sentences the
model never trained on, spoken by voice variants and at speeds it never heard. The general
check set is the repository's English fixtures (tests/data/finetune/general.jsonl).

Runs `yuyin.finetune.finetune` (decoder only, encoder output cached) and prints, for both
sets, the base model's and the fine-tuned model's WER as `yuyin transcribe --model OUT/ct2`
gets them (CTranslate2 int8, greedy), with the time each stage took and the machine.

    .venv/bin/python bench/finetune.py [--max-steps 40] [--learning-rate 1e-4] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from importlib import metadata
from pathlib import Path

from yuyin.finetune import FinetuneOptions, Progress, finetune

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "finetune"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--max-steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--eval-steps", type=int, default=20)
    parser.add_argument("--full", action="store_true", help="train the encoder too")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run in this folder")
    args = parser.parse_args()

    options = FinetuneOptions(
        model=args.model,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        warmup_steps=args.warmup_steps,
        eval_steps=args.eval_steps,
        logging_steps=5,
        gradient_checkpointing=False,
        freeze_encoder=not args.full,
    )
    stages: dict[str, float] = {}
    current = [""]
    since = [time.perf_counter()]

    def on_progress(event: Progress) -> None:
        # Time goes to the stage of the previous event: the one that was running.
        now = time.perf_counter()
        if current[0]:
            stages[current[0]] = stages.get(current[0], 0.0) + now - since[0]
        current[0], since[0] = event.stage, now
        if event.stage == "train" and event.logged:
            print(f"  step {event.done}/{event.total}  loss {event.loss:.3f}", flush=True)
        elif event.message:
            print(f"  {event.message}", flush=True)

    out = args.keep or Path(tempfile.mkdtemp(prefix="yuyin-bench-finetune-")) / "run"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {_cpu()}, {os.cpu_count()} CPUs, load average {load:.1f} at start; "
        f"Python {platform.python_version()}, torch {metadata.version('torch')}, "
        f"transformers {metadata.version('transformers')}, "
        f"ctranslate2 {metadata.version('ctranslate2')}"
    )
    print(
        f"{args.model}: {args.max_steps} steps x batch {args.batch_size}, lr {args.learning_rate}"
        f", {'full model' if args.full else 'decoder only (encoder output cached)'}"
    )
    started = time.perf_counter()
    try:
        result = finetune(
            DATA / "domain.jsonl",
            out,
            options=options,
            checks=[DATA / "general.jsonl"],
            overwrite=args.keep is not None,
            on_progress=on_progress,
        )
    finally:
        if args.keep is None:
            shutil.rmtree(out.parent, ignore_errors=True)
    total = time.perf_counter() - started
    data = result.data
    print(
        f"data: {data['train']['clips']} train / {data['validation']['clips']} validation / "
        f"{data['test']['clips']} test clips"
    )
    print(f"{'set':<16}{'clips':>6}{'WER before':>12}{'WER after':>11}{'after/before':>14}")
    for c in result.comparisons:
        b, a = c["before"]["score"], c["after"]["score"]
        ratio = f"{a / b:.2f}" if b else "-"
        name = "held-out domain" if c["name"] == "test" else "general English"
        print(f"{name:<16}{c['after']['utterances']:>6}{b:>12.3f}{a:>11.3f}{ratio:>14}")
    t = result.training
    print(
        f"training loss {t['first_loss']:.3f} -> {t['last_loss']:.3f} in {t['global_step']} steps"
    )
    shown = ", ".join(f"{k} {v:.0f} s" for k, v in stages.items() if v >= 0.5)
    print(f"wall time {total:.0f} s ({shown})")
    if args.keep is not None:
        print(f"kept: {out} (yuyin transcribe --model {out / 'ct2'} FILE)")


if __name__ == "__main__":
    main()
