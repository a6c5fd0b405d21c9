"""Evaluation: WER/CER and friends on jiwer, normalisers, manifests, reports, comparisons.

Usage::

    from yuyin.eval import evaluate_manifest, evaluate_pairs, build_report, write_report

    result = evaluate_manifest("test.jsonl", model_options=yuyin.ModelOptions(model="base"))
    print(result.metric, result.score())          # e.g. cer 0.071
    write_report(build_report(result), "run.html")

    result = evaluate_pairs("hyp.txt", "ref.txt")  # score existing output, no model
"""

from yuyin.eval.bootstrap import PairedBootstrap, bootstrap_interval, paired_bootstrap
from yuyin.eval.compare import Comparison, compare_reports
from yuyin.eval.manifest import Manifest, Pair, Skipped, Utterance, read_manifest, read_pairs
from yuyin.eval.metrics import (
    METRICS,
    AlignedSpan,
    Counts,
    align,
    count_errors,
    default_metric,
    tokenize,
)
from yuyin.eval.normalizers import (
    NORMALIZERS,
    Normalizer,
    default_normalizer,
    get_normalizer,
)
from yuyin.eval.report import build_report, format_summary, load_report, write_report
from yuyin.eval.runner import Recognition, evaluate_manifest, evaluate_pairs
from yuyin.eval.scoring import EvalResult, UtteranceScore, score_texts

__all__ = [
    "METRICS",
    "NORMALIZERS",
    "AlignedSpan",
    "Comparison",
    "Counts",
    "EvalResult",
    "Manifest",
    "Normalizer",
    "Pair",
    "PairedBootstrap",
    "Recognition",
    "Skipped",
    "Utterance",
    "UtteranceScore",
    "align",
    "bootstrap_interval",
    "build_report",
    "compare_reports",
    "count_errors",
    "default_metric",
    "default_normalizer",
    "evaluate_manifest",
    "evaluate_pairs",
    "format_summary",
    "get_normalizer",
    "load_report",
    "paired_bootstrap",
    "read_manifest",
    "read_pairs",
    "score_texts",
    "tokenize",
    "write_report",
]
