"""Summaries of repeated measurements: percentiles, medians, latency and throughput."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The *q*-th percentile (0..100) of *values*, linearly interpolated between ranks.

    The same definition as ``numpy.percentile``'s default, so numbers compare with it.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q={q} is not in 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    """The median of *values* (the mean of the middle two for an even count)."""
    if not values:
        raise ValueError("median of no values")
    return statistics.median(values)


@dataclass(frozen=True)
class Latency:
    """Latencies of one kind of call, in milliseconds, and the call rate they imply."""

    count: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    calls_per_second: float  # one caller, back to back: 1 / mean latency

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        """Summarise call durations given in seconds."""
        if not seconds:
            raise ValueError("latency of no calls")
        millis = [s * 1000 for s in seconds]
        mean = statistics.fmean(millis)
        return cls(
            count=len(millis),
            p50_ms=percentile(millis, 50),
            p99_ms=percentile(millis, 99),
            mean_ms=mean,
            max_ms=max(millis),
            calls_per_second=1000 / mean if mean > 0 else math.inf,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
