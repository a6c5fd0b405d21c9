"""Bootstrap intervals, reports in every format, and comparing two runs."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from yuyin.errors import ConfigurationError, InputError
from yuyin.eval import (
    Counts,
    bootstrap_interval,
    build_report,
    compare_reports,
    format_summary,
    load_report,
    paired_bootstrap,
    score_texts,
    write_report,
)
from yuyin.eval.bootstrap import bootstrap_intervals
from yuyin.eval.manifest import Skipped

REFS = [f"the quick brown fox number {i} jumps over the lazy dog" for i in range(40)]
HYPS_A = [r.replace("quick", "quack") if i % 2 else r for i, r in enumerate(REFS)]
HYPS_B = [r.replace("lazy", "hazy").replace("quick", "quack") for r in REFS]


def _counts(errors: list[int], length: int = 10) -> list[Counts]:
    return [Counts(hits=length - e, substitutions=e) for e in errors]


def test_bootstrap_is_deterministic_with_a_seed():
    counts = _counts([0, 1, 2, 3, 0, 5, 1, 0, 2, 4] * 5)
    first = bootstrap_interval(counts, "wer", samples=500, seed=7)
    assert bootstrap_interval(counts, "wer", samples=500, seed=7) == first
    assert bootstrap_interval(counts, "wer", samples=500, seed=8) != first
    low, high = first
    point = sum(c.errors for c in counts) / sum(c.reference_length for c in counts)
    assert low <= point <= high
    assert 0.0 <= low < high <= 1.0


def test_bootstrap_of_identical_utterances_has_no_width_and_metrics_share_resamples():
    assert bootstrap_interval(_counts([2] * 20), "wer", samples=200) == (0.2, 0.2)
    words = _counts([0, 1, 2, 3] * 10)
    shared = bootstrap_intervals({"wer": words, "wil": words, "wip": words}, samples=300, seed=1)
    assert shared["wer"] == bootstrap_interval(words, "wer", samples=300, seed=1)
    assert shared["wil"] == pytest.approx((1 - shared["wip"][1], 1 - shared["wip"][0]))


@pytest.mark.parametrize("kwargs", [{"samples": 0}, {"confidence": 1.0}, {"confidence": 0.0}])
def test_bootstrap_rejects_bad_settings(kwargs):
    with pytest.raises(ConfigurationError):
        bootstrap_interval(_counts([1]), "wer", **kwargs)
    with pytest.raises(ConfigurationError, match="no utterances"):
        bootstrap_interval([], "wer")


def test_paired_bootstrap_finds_no_difference_between_identical_runs():
    counts = _counts([0, 1, 2, 3] * 10)
    test = paired_bootstrap(counts, counts, "wer", samples=300)
    assert test.difference == 0.0
    assert test.p_value == 1.0
    assert test.low == test.high == 0.0


def test_paired_bootstrap_detects_a_consistently_better_system():
    a = _counts([3] * 30 + [2] * 10)
    b = _counts([1] * 30 + [2] * 10)
    test = paired_bootstrap(a, b, "wer", samples=500, seed=3)
    assert test.difference < 0
    assert test.high < 0
    assert test.p_value < 0.01
    assert test.b_better == 1.0
    assert test.utterances == 40
    assert paired_bootstrap(a, b, "wer", samples=500, seed=3) == test
    with pytest.raises(ConfigurationError, match="same utterances"):
        paired_bootstrap(a, b[:-1], "wer")


def _result(hyps=HYPS_A, **kwargs):
    skipped = (Skipped("m.jsonl", 4, "audio file not found: x.wav", "x"),)
    return score_texts(
        REFS, hyps, ids=[f"u{i}" for i in range(len(REFS))], skipped=skipped, **kwargs
    )


def test_report_holds_scores_intervals_sorted_utterances_alignments_and_skips():
    report = build_report(_result(), samples=200, seed=0, worst=3)
    summary = report["summary"]
    assert summary["metric"] == "wer"
    assert summary["normalizer"] == "english"
    assert set(summary["ci95"]) == {"wer", "cer", "mer", "wil", "wip", "mixed"}
    low, high = summary["ci95"]["wer"]
    assert low <= summary["wer"] <= high
    scores = [u["score"] for u in report["utterances"]]
    assert scores == sorted(scores, reverse=True)
    assert len(report["utterances"]) == len(REFS)
    assert len(report["worst"]) == 3
    ops = {span["op"] for span in report["worst"][0]["alignment"]}
    assert ops == {"equal", "substitute"}
    assert report["skipped"][0]["line"] == 4
    assert report["settings"]["bootstrap"] == {"samples": 200, "seed": 0, "confidence": 0.95}
    assert "WER" in format_summary(report)
    assert "ci95" not in build_report(_result(), samples=0)["summary"]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.classes: set[str] = set()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.classes.update(v for k, v in attrs if k == "class" and v)


def test_reports_are_written_in_each_format_and_parse(tmp_path):
    hyps = [*HYPS_A[:-2], HYPS_A[-2] + " extra", "the quick"]
    report = build_report(_result(hyps=hyps), samples=100, worst=len(hyps))
    for name in ("r.json", "r.md", "r.html"):
        assert write_report(report, tmp_path / name).is_file()
    assert load_report(tmp_path / "r.json") == json.loads(json.dumps(report))
    md = (tmp_path / "r.md").read_text()
    assert "| WER |" in md
    assert "{+extra+}" in md
    assert "[-" in md
    assert "m.jsonl:4 audio file not found" in md
    parser = _Tags()
    parser.feed((tmp_path / "r.html").read_text())
    assert {"sub", "ins", "del"} <= parser.classes
    assert parser.tags.count("table") == 3  # scores, utterances, skipped


def test_bad_report_paths_and_files(tmp_path):
    report = build_report(_result(), samples=10)
    with pytest.raises(ConfigurationError, match="report format"):
        write_report(report, tmp_path / "r.docx")
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(InputError, match="not a yuyin evaluation report"):
        load_report(tmp_path / "other.json")
    with pytest.raises(InputError, match="cannot read"):
        load_report(tmp_path / "missing.json")


def test_compare_two_reports(tmp_path):
    write_report(build_report(_result(HYPS_A), samples=10), tmp_path / "a.json")
    write_report(build_report(_result(HYPS_B), samples=10), tmp_path / "b.json")
    result = compare_reports(tmp_path / "a.json", tmp_path / "b.json", samples=400)
    t = result.test
    assert t.metric == "wer"
    assert t.b > t.a
    assert t.difference == pytest.approx(t.b - t.a)
    assert t.p_value < 0.05
    assert result.verdict.startswith("A is better")
    assert result.only_in_a == result.only_in_b == 0
    assert result.to_dict()["verdict"] == result.verdict
    same = compare_reports(tmp_path / "a.json", tmp_path / "a.json", metric="cer")
    assert same.verdict.startswith("no significant difference")


def test_compare_refuses_reports_scored_differently_or_on_other_utterances(tmp_path):
    write_report(build_report(_result(), samples=10), tmp_path / "a.json")
    write_report(build_report(_result(normalizer="none"), samples=10), tmp_path / "n.json")
    with pytest.raises(ConfigurationError, match="normalizer"):
        compare_reports(tmp_path / "a.json", tmp_path / "n.json")
    other = score_texts(["x"], ["y"], ids=["zz"], normalizer="english")
    write_report(build_report(other, samples=10), tmp_path / "o.json")
    with pytest.raises(ConfigurationError, match="share no utterance"):
        compare_reports(tmp_path / "a.json", tmp_path / "o.json")
