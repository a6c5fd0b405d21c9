"""Bootstrap confidence intervals and the paired bootstrap test, on per-utterance counts.

Utterances are resampled with replacement and the corpus rate is recomputed from the summed
counts of each resample (Bisani & Ney, 2004), so an interval describes the same statistic
the report shows. Seeded, so a report is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from yuyin.errors import ConfigurationError
from yuyin.eval.metrics import Counts, metric_unit

__all__ = [
    "PairedBootstrap",
    "bootstrap_interval",
    "bootstrap_intervals",
    "paired_bootstrap",
    "rates",
]

# Resampled index matrices are built in blocks of at most this many cells.
_BLOCK_CELLS = 2_000_000


def _matrix(counts: Sequence[Counts]) -> NDArray[np.int64]:
    return np.array(
        [(c.hits, c.substitutions, c.deletions, c.insertions) for c in counts], dtype=np.int64
    ).reshape(-1, 4)


def rates(sums: NDArray[np.int64], metric: str) -> NDArray[np.float64]:
    """`metric` for each row of summed counts (columns: hits, subs, dels, ins), vectorised.

    Args:
        sums: an (n, 4) array of summed counts.
        metric: a metric name (see `yuyin.eval.metrics.METRICS`).
    """
    metric_unit(metric)
    h, s, d, i = (sums[:, k].astype(np.float64) for k in range(4))
    ref, hyp, err = h + s + d, h + s + i, s + d + i
    if metric == "mer":
        return np.where(err + h > 0, err / np.maximum(err + h, 1), 0.0)
    if metric in ("wip", "wil"):
        both = (ref > 0) & (hyp > 0)
        wip = np.where(both, (h / np.maximum(ref, 1)) * (h / np.maximum(hyp, 1)), 0.0)
        wip = np.where((ref == 0) & (hyp == 0), 1.0, wip)
        return wip if metric == "wip" else 1.0 - wip
    return np.where(ref > 0, err / np.maximum(ref, 1), i)


def _resampled(
    arrays: Sequence[NDArray[np.int64]], samples: int, seed: int
) -> list[NDArray[np.int64]]:
    """Summed counts of each array over the same `samples` resamples of utterances.

    Each resample is drawn as indices, turned into per-utterance weights (how often each
    utterance was drawn), and the sums are one matrix product per array.
    """
    if samples < 1:
        raise ConfigurationError("bootstrap samples must be at least 1", hint="e.g. 1000")
    n = arrays[0].shape[0]
    rng = np.random.default_rng(seed)
    block = max(1, _BLOCK_CELLS // max(n, 1))
    out: list[list[NDArray[np.int64]]] = [[] for _ in arrays]
    done = 0
    while done < samples:
        k = min(block, samples - done)
        idx = rng.integers(0, n, size=(k, n)) + (np.arange(k) * n)[:, None]
        weights = np.bincount(idx.ravel(), minlength=k * n).reshape(k, n).astype(np.float64)
        for acc, arr in zip(out, arrays, strict=True):
            acc.append(np.rint(weights @ arr.astype(np.float64)).astype(np.int64))
        done += k
    return [np.concatenate(acc) for acc in out]


def bootstrap_intervals(
    counts: Mapping[str, Sequence[Counts]],
    *,
    samples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals for several metrics over the same resamples.

    Args:
        counts: metric name → per-utterance counts in its unit; metrics that share one
            sequence object (e.g. wer, mer, wil, wip) share its resampled sums.
        samples: bootstrap resamples.
        seed: random seed (the same seed gives the same intervals).
        confidence: the intervals' coverage, e.g. 0.95.

    Raises:
        ConfigurationError: no counts, or bad `samples`/`confidence`.
    """
    if not counts or not all(counts.values()):
        raise ConfigurationError("no utterances to bootstrap", hint="score something first")
    if not 0.0 < confidence < 1.0:
        raise ConfigurationError("confidence must be between 0 and 1", hint="e.g. 0.95")
    distinct: dict[int, Sequence[Counts]] = {id(c): c for c in counts.values()}
    sums = dict(
        zip(
            distinct,
            _resampled([_matrix(c) for c in distinct.values()], samples, seed),
            strict=True,
        )
    )
    tail = (1.0 - confidence) / 2.0 * 100.0
    intervals = {}
    for metric, column in counts.items():
        low, high = np.percentile(rates(sums[id(column)], metric), [tail, 100.0 - tail])
        intervals[metric] = (float(low), float(high))
    return intervals


def bootstrap_interval(
    counts: Sequence[Counts],
    metric: str,
    *,
    samples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """A percentile bootstrap confidence interval for the corpus-level `metric`.

    Args:
        counts: per-utterance counts in the metric's unit.
        metric: a metric name (`wer`, `cer`, `mer`, `wil`, `wip`, `mixed`).
        samples: bootstrap resamples.
        seed: random seed (the same seed gives the same interval).
        confidence: the interval's coverage, e.g. 0.95.

    Raises:
        ConfigurationError: no counts, or bad `samples`/`confidence`.
    """
    return bootstrap_intervals({metric: counts}, samples=samples, seed=seed, confidence=confidence)[
        metric
    ]


@dataclass(frozen=True, slots=True)
class PairedBootstrap:
    """Two systems scored on the same utterances, compared by paired bootstrap resampling.

    Attributes:
        metric: the metric compared.
        a: system A's corpus score.
        b: system B's corpus score.
        difference: b - a.
        low: lower end of the 95 % interval of the difference.
        high: upper end of the 95 % interval of the difference.
        p_value: two-sided probability of a difference at least this large by chance.
        b_better: share of resamples in which B scores better than A.
        samples: resamples drawn.
        utterances: utterances both systems were scored on.
    """

    metric: str
    a: float
    b: float
    difference: float
    low: float
    high: float
    p_value: float
    b_better: float
    samples: int
    utterances: int


def paired_bootstrap(
    a: Sequence[Counts],
    b: Sequence[Counts],
    metric: str,
    *,
    samples: int = 1000,
    seed: int = 0,
) -> PairedBootstrap:
    """Paired bootstrap (Koehn, 2004): resample utterances, rescore both systems alike.

    Args:
        a: system A's per-utterance counts.
        b: system B's counts for the same utterances, in the same order.
        metric: a metric name.
        samples: bootstrap resamples.
        seed: random seed.

    Raises:
        ConfigurationError: the two lists differ in length or are empty.
    """
    if len(a) != len(b) or not a:
        raise ConfigurationError(
            f"paired bootstrap needs the same utterances on both sides ({len(a)} vs {len(b)})",
            hint="compare two runs on the same manifest",
        )
    ma, mb = _matrix(a), _matrix(b)
    sa, sb = _resampled([ma, mb], samples, seed)
    delta = rates(sb, metric) - rates(sa, metric)
    score_a = float(rates(ma.sum(axis=0, keepdims=True), metric)[0])
    score_b = float(rates(mb.sum(axis=0, keepdims=True), metric)[0])
    low, high = np.percentile(delta, [2.5, 97.5])
    p = min(1.0, 2.0 * min(float(np.mean(delta <= 0)), float(np.mean(delta >= 0))))
    better = np.mean(delta > 0) if metric == "wip" else np.mean(delta < 0)
    return PairedBootstrap(
        metric,
        score_a,
        score_b,
        score_b - score_a,
        float(low),
        float(high),
        p,
        float(better),
        samples,
        len(a),
    )
