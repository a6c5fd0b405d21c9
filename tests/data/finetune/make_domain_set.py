"""Regenerate the fine-tuning domain set in this folder (issue 7).

    python tests/data/finetune/make_domain_set.py

English sentences full of Taiwanese place names and a few product names that the tiny.en
model does not know, spoken by espeak-ng and resampled by sox to 16 kHz mono FLAC, with
`domain.jsonl` listing each clip's text, split (`train`, `validation`, `test`), voice and
speed; and `general.jsonl`, the English fixtures one folder up as a general-speech check
set. Held-out sentences (validation and test) are new sentences that reuse the training
names, spoken with voice variants and speeds that training never hears.

Needs espeak-ng and sox on PATH. For a given pair of tool versions the output is the same
byte for byte (sox runs with -R and -D).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# Every name appears in at least two training sentences and in a held-out one.
TRAIN = [
    "We took the train from Hsinchu to Kaohsiung.",
    "My sister lives in Taichung near the station.",
    "The ferry to Keelung leaves at noon.",
    "They rode bikes along the river in Tamsui.",
    "The tea houses of Jiufen are busy at night.",
    "Hualien has a great view of the mountains.",
    "We flew to Taitung for the balloon festival.",
    "The hot springs in Yilan are very relaxing.",
    "Pingtung grows sweet mangoes every summer.",
    "The factory in Changhua makes bicycle parts.",
    "Chiayi is the gateway to the forest.",
    "He rents a Gogoro scooter every weekend.",
    "Pegatron opened a new office in Hsinchu.",
    "The market in Kaohsiung sells fresh fish.",
    "Our friends from Taichung visited Jiufen.",
    "It rained all day in Keelung and Yilan.",
    "The coast road from Hualien to Taitung is long.",
    "She charged her Gogoro in Tamsui.",
    "Pegatron and Tatung both build computers.",
    "My grandmother bought a Tatung rice cooker in Chiayi.",
    "The bus from Pingtung stops in Changhua.",
]
VALIDATION = [
    "We waited for the bus in Yilan and Keelung.",
    "A Gogoro shop opened in Taichung.",
    "The night market in Chiayi is famous.",
]
TEST = [
    "The boat from Keelung to Tamsui was late.",
    "We ate noodles in Taichung before driving to Changhua.",
    "Her Gogoro battery ran out in Hualien.",
    "The school trip went from Kaohsiung to Pingtung.",
    "Tatung and Pegatron hired engineers in Hsinchu.",
    "The old street in Jiufen was full of tourists.",
    "We watched the sunrise in Taitung and Yilan.",
    "Chiayi and Hsinchu are both windy in winter.",
]
# (voice, words per minute): training voices and speeds; held-out ones are never trained on.
TRAIN_VOICES = [
    ("en-us", 160),
    ("en-us+m3", 175),
    ("en-gb", 165),
    ("en-us+f2", 170),
    ("en-us+f3", 160),
    ("en-gb-x-rp", 170),
]
HELD_OUT_VOICES = [("en-us+f4", 168), ("en-us+m5", 158)]


def speak(voice: str, speed: int, text: str, out: Path, work: Path) -> float:
    """Speak `text` into `out` (16 kHz mono FLAC); return its duration in seconds."""
    raw = work / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", "-R", "-D", "-V1", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)],
        check=True,
    )
    seconds = subprocess.run(
        ["soxi", "-D", str(out)], check=True, capture_output=True, text=True
    ).stdout
    return round(float(seconds), 3)


def main() -> int:
    for tool in ("espeak-ng", "sox", "soxi"):
        if shutil.which(tool) is None:
            print(f"make_domain_set: {tool} is not installed (apt-get install espeak-ng sox)")
            return 1
    rows: list[dict[str, Any]] = []
    plan = [
        *(("train", k, t, TRAIN_VOICES[k % len(TRAIN_VOICES)]) for k, t in enumerate(TRAIN)),
        *(("validation", k, t, HELD_OUT_VOICES[k % 2]) for k, t in enumerate(VALIDATION)),
        *(("test", k, t, HELD_OUT_VOICES[k % 2]) for k, t in enumerate(TEST)),
    ]
    for old in HERE.glob("*.flac"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        for split, k, text, (voice, speed) in plan:
            name = f"{split}_{k:02d}.flac"
            duration = speak(voice, speed, text, HERE / name, Path(tmp))
            rows.append(
                {
                    "id": f"{split}_{k:02d}",
                    "audio": name,
                    "text": text,
                    "split": split,
                    "speaker": voice,
                    "language": "en",
                    "speed_wpm": speed,
                    "duration": duration,
                }
            )
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    (HERE / "domain.jsonl").write_text(lines, encoding="utf-8")
    # The general-speech check set: the English fixtures one folder up, as they are.
    general = []
    for line in (HERE.parent / "fixtures.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["language"] == "en":
            general.append({"id": row["audio"], "audio": "../" + row["audio"],
                            "text": row["text"], "language": "en"})  # fmt: skip
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in general)
    (HERE / "general.jsonl").write_text(lines, encoding="utf-8")
    total = sum(p.stat().st_size for p in HERE.iterdir() if p.suffix == ".flac")
    print(f"{len(rows)} clips, {sum(r['duration'] for r in rows):.1f} s, {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
