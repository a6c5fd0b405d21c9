"""Compare two evaluation runs (JSON reports) on the utterances they share, with a paired
bootstrap estimate of whether the difference is real."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from yuyin.errors import ConfigurationError
from yuyin.eval.bootstrap import PairedBootstrap, paired_bootstrap
from yuyin.eval.metrics import Counts, metric_unit
from yuyin.eval.report import load_report

__all__ = ["Comparison", "compare_reports"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """The difference between run A and run B.

    Attributes:
        a: path of report A.
        b: path of report B.
        test: the paired bootstrap result (scores, difference, interval, p-value).
        only_in_a: utterances only A scored (left out of the test).
        only_in_b: utterances only B scored (left out of the test).
        settings_differ: settings keys whose values differ between the runs.
    """

    a: str
    b: str
    test: PairedBootstrap
    only_in_a: int
    only_in_b: int
    settings_differ: tuple[str, ...]

    @property
    def verdict(self) -> str:
        """One sentence: which run is better, or that the difference is not significant."""
        t = self.test
        if t.p_value >= 0.05 or t.difference == 0:
            return f"no significant difference (p = {t.p_value:.3f})"
        lower_better = t.metric != "wip"
        b_wins = (t.difference < 0) == lower_better
        return f"{'B' if b_wins else 'A'} is better (p = {t.p_value:.3f})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "a": self.a,
            "b": self.b,
            **asdict(self.test),
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
            "settings_differ": list(self.settings_differ),
            "verdict": self.verdict,
        }


def _counts(row: dict[str, Any], unit: str) -> Counts:
    c = row["counts"][unit]
    return Counts(c["hits"], c["substitutions"], c["deletions"], c["insertions"])


def compare_reports(
    a: str | Path,
    b: str | Path,
    *,
    metric: str | None = None,
    samples: int = 1000,
    seed: int = 0,
) -> Comparison:
    """Paired bootstrap comparison of two JSON reports on the utterances both scored.

    Args:
        a: report A (the baseline).
        b: report B (the candidate); a negative difference means B has fewer errors.
        metric: the metric to compare (default: A's primary metric).
        samples: bootstrap resamples.
        seed: random seed.

    Raises:
        InputError: a file is not a report.
        ConfigurationError: no utterance ids in common, or the normalisers differ.
    """
    ra, rb = load_report(a), load_report(b)
    name = metric or ra["summary"]["metric"]
    unit = metric_unit(name)
    for key in ("normalizer", "count_spaces"):
        if ra["settings"].get(key) != rb["settings"].get(key):
            raise ConfigurationError(
                f"the two reports were scored differently: {key} "
                f"{ra['settings'].get(key)} vs {rb['settings'].get(key)}",
                hint="evaluate both runs with the same --normalizer and --count-spaces",
            )
    rows_a = {u["id"]: u for u in ra["utterances"]}
    rows_b = {u["id"]: u for u in rb["utterances"]}
    shared = [uid for uid in rows_a if uid in rows_b]
    if not shared:
        raise ConfigurationError(
            "the two reports share no utterance ids", hint="compare runs on the same manifest"
        )
    test = paired_bootstrap(
        [_counts(rows_a[i], unit) for i in shared],
        [_counts(rows_b[i], unit) for i in shared],
        name,
        samples=samples,
        seed=seed,
    )
    sa, sb = ra["settings"], rb["settings"]
    differ = tuple(
        sorted(k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k) and k != "load_seconds")
    )
    return Comparison(
        str(a), str(b), test, len(rows_a) - len(shared), len(rows_b) - len(shared), differ
    )
