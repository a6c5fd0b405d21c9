"""Scoring throughput: yuyin's evaluation layer beside plain jiwer on the same synthetic data.

Builds N synthetic reference/hypothesis pairs (English words and Chinese characters, about
10 % of tokens substituted, deleted or inserted, fixed seed) and times, best of --rounds,
interleaved so machine noise hits both alike:

    WER         jiwer.process_words               vs yuyin count_errors(unit="word")
    CER (zh)    jiwer.process_characters          vs yuyin count_errors(unit="char")
    all (en/zh) jiwer.process_words + characters  vs yuyin score_texts(normalizer="none"):
                                                     all six metrics, per utterance and corpus

yuyin pauses Python's cyclic garbage collector while jiwer allocates its alignment objects;
the last column compares with jiwer run the same way, so the gain from that alone is
visible. For information only: the cost of the English/Chinese normalisers and of a full
report (1,000 bootstrap resamples for six metrics).

    .venv/bin/python bench/eval.py [--pairs 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from collections.abc import Callable
from importlib import metadata

import jiwer

from yuyin.eval import build_report, count_errors, score_texts
from yuyin.eval.metrics import paused_gc

_WORDS = (
    "the a of to and in is it you that he was for on are with as his they be at one have "
    "this from or had by hot word but what some we can out other were all there when up use "
    "your how said an each she which do their time if will way about many then them write "
    "would like so these her long make thing see him two has look more day could go come did "
    "number sound no most people my over know water than call first who may down side been"
)
VOCAB = _WORDS.split()
HANZI = (
    "我們一起去公園學校今天天氣很好你他她是的了在有不這個人中大為上來說國年著就那和要"
    "出也得裡後自以會家可下而過天去能對小多然於心學麼之都好看起發當沒成只如事把還用第"
    "樣道想作種開美總從無情己面最女但現前些所同日手又行意動方期它頭經長兒回位分愛老因"
    "很給名法間斯知世什兩次使身者被高已親其進此話常與活正感"
)


def _corrupt(tokens: list[str], pool: str | list[str], rng: random.Random) -> list[str]:
    out: list[str] = []
    for token in tokens:
        r = rng.random()
        if r < 0.04:
            out.append(rng.choice(pool))  # substitution
        elif r < 0.07:
            continue  # deletion
        else:
            out.append(token)
        if rng.random() < 0.03:
            out.append(rng.choice(pool))  # insertion
    return out


def make_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str], list[str], list[str]]:
    rng = random.Random(seed)
    en_ref, en_hyp, zh_ref, zh_hyp = [], [], [], []
    for _ in range(n):
        words = [rng.choice(VOCAB) for _ in range(rng.randint(5, 25))]
        en_ref.append(" ".join(words))
        en_hyp.append(" ".join(_corrupt(words, VOCAB, rng)))
        chars = [rng.choice(HANZI) for _ in range(rng.randint(8, 30))]
        zh_ref.append("".join(chars))
        zh_hyp.append("".join(_corrupt(chars, HANZI, rng)))
    return en_ref, en_hyp, zh_ref, zh_hyp


def _paused(job: Callable[[], object]) -> Callable[[], object]:
    """The same job with the cyclic GC paused, as yuyin pauses it while scoring."""

    def run() -> object:
        with paused_gc():
            return job()

    return run


def best_of(rounds: int, jobs: dict[str, Callable[[], object]]) -> dict[str, float]:
    best = dict.fromkeys(jobs, float("inf"))
    for _ in range(rounds):
        for name, job in jobs.items():  # interleaved
            started = time.perf_counter()
            job()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n = args.pairs
    en_ref, en_hyp, zh_ref, zh_hyp = make_pairs(n)

    # Same numbers first: the layer must agree with jiwer before its speed means anything.
    ours = score_texts(en_ref, en_hyp, normalizer="none", metric="wer")
    assert abs(ours.score("wer") - jiwer.process_words(en_ref, en_hyp).wer) < 1e-12
    zh_cer = jiwer.process_characters(zh_ref, zh_hyp).cer
    assert abs(score_texts(zh_ref, zh_hyp, normalizer="none").score("cer") - zh_cer) < 1e-12

    plain: dict[str, Callable[[], object]] = {
        "wer": lambda: jiwer.process_words(en_ref, en_hyp),
        "cer zh": lambda: jiwer.process_characters(zh_ref, zh_hyp),
        "all": lambda: (
            jiwer.process_words(en_ref, en_hyp),
            jiwer.process_characters(en_ref, en_hyp),
        ),
        "all zh": lambda: (
            jiwer.process_words(zh_ref, zh_hyp),
            jiwer.process_characters(zh_ref, zh_hyp),
        ),
    }
    jobs: dict[str, Callable[[], object]] = {
        "yuyin wer": lambda: count_errors(en_ref, en_hyp, "word"),
        "yuyin cer zh": lambda: count_errors(zh_ref, zh_hyp, "char"),
        "yuyin all": lambda: score_texts(en_ref, en_hyp, normalizer="none", metric="wer"),
        "yuyin all zh": lambda: score_texts(zh_ref, zh_hyp, normalizer="none", metric="cer"),
    }
    for name, job in plain.items():
        jobs[f"jiwer {name}"] = job
        jobs[f"paused {name}"] = _paused(job)
    t = best_of(args.rounds, jobs)
    extra = best_of(
        max(1, args.rounds // 2),
        {
            "english normaliser": lambda: score_texts(en_ref, en_hyp, normalizer="english"),
            "chinese normaliser": lambda: score_texts(zh_ref, zh_hyp, normalizer="chinese"),
            "report": lambda: build_report(ours),
        },
    )

    print(
        f"{n} synthetic pairs, best of {args.rounds}; Python {platform.python_version()}, "
        f"jiwer {metadata.version('jiwer')}, {platform.machine()}"
    )
    print(
        f"{'comparison':<38}{'jiwer utt/s':>12}{'yuyin utt/s':>12}{'overhead':>10}"
        f"{'vs jiwer, GC paused':>21}"
    )
    for label, key in (
        ("WER, English", "wer"),
        ("CER, Chinese", "cer zh"),
        ("all metrics, English (jiwer: WER+CER)", "all"),
        ("all metrics, Chinese (jiwer: WER+CER)", "all zh"),
    ):
        ours_s, plain_s, paused_s = t[f"yuyin {key}"], t[f"jiwer {key}"], t[f"paused {key}"]
        print(
            f"{label:<38}{n / plain_s:>12,.0f}{n / ours_s:>12,.0f}"
            f"{ours_s / plain_s - 1:>+10.1%}{ours_s / paused_s - 1:>+21.1%}"
        )
    print("for information (not part of the overhead budget):")
    for name, seconds in extra.items():
        print(f"  {name:<36}{n / seconds:>12,.0f} utt/s  ({seconds:.2f} s)")


if __name__ == "__main__":
    main()
