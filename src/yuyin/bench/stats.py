"""Summary statistics of repeated timings: min, median, max, mean and sample stdev."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from yuyin.errors import ConfigurationError

__all__ = ["Summary", "summarize"]


@dataclass(frozen=True, slots=True)
class Summary:
    """What a list of measurements (seconds, megabytes...) comes to.

    Attributes:
        count: how many values.
        min: the smallest value (the least disturbed run, for timings).
        median: the middle value.
        max: the largest value.
        mean: the arithmetic mean.
        stdev: the sample standard deviation (n - 1); 0 for a single value.
    """

    count: int
    min: float
    median: float
    max: float
    mean: float
    stdev: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return asdict(self)


def summarize(values: Iterable[float]) -> Summary:
    """Summarise measurements.

    Args:
        values: at least one finite number.

    Raises:
        ConfigurationError: no values, or a value that is not finite.
    """
    data = [float(v) for v in values]
    if not data:
        raise ConfigurationError("nothing to summarise", hint="measure at least one run")
    if not all(math.isfinite(v) for v in data):
        raise ConfigurationError("a measurement is not finite", hint="this is a bug; report it")
    return Summary(
        count=len(data),
        min=min(data),
        median=statistics.median(data),
        max=max(data),
        mean=statistics.fmean(data),
        stdev=statistics.stdev(data) if len(data) > 1 else 0.0,
    )
