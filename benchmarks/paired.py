"""Paired rounds summarised: a median, its spread, and a verdict only when the noise allows one.

On a shared 2-core host one round can take twice as long as the next, so a single figure
says little. Each round pairs two measurements taken back to back (the e2e run and the train
step alone; or the old and the new code), and what is summarised is the per-round value: the
median, and the spread as the interquartile range of the rounds. A verdict (below a target,
or better than the old code) is printed only when the effect is larger than that spread;
otherwise the summary says so and gives none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.stats import median, percentile


@dataclass(frozen=True)
class Spread:
    """The per-round values of one figure, their median and interquartile range."""

    values: tuple[float, ...]
    median: float
    low: float  # 25th percentile
    high: float  # 75th percentile

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("spread of no rounds")
        return cls(tuple(values), median(values), percentile(values, 25), percentile(values, 75))

    @property
    def width(self) -> float:
        """The interquartile range: how far the middle half of the rounds disagree."""
        return self.high - self.low

    def describe(self, unit: str = "", digits: int = 2) -> str:
        """``1.12x (IQR 1.08-1.19; rounds 1.10, 1.12, …)``."""
        fmt = f"{{:.{digits}f}}"
        rounds = ", ".join(fmt.format(v) for v in self.values)
        return (
            f"{fmt.format(self.median)}{unit} (IQR {fmt.format(self.low)}-"
            f"{fmt.format(self.high)}{unit}; rounds {rounds})"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"iqr": self.width}


def against_target(ratio: Spread, target: float) -> str:
    """Whether the median *ratio* is within *target*, or why no verdict can be given."""
    effect = ratio.median - target
    if ratio.width > abs(effect):
        return (
            f"no verdict: the rounds' spread (IQR {ratio.width:.2f}) exceeds the median's"
            f" distance to the target {target:.2f} ({effect:+.2f}); run more rounds on a"
            " quieter machine"
        )
    side = "within" if effect <= 0 else "over"
    return f"{side} the target: median {ratio.median:.2f}x against <= {target:.2f}x"


def against_baseline(difference: Spread, what: str) -> str:
    """Whether the paired *difference* (new - old, per round) shows a change beyond noise."""
    effect = difference.median
    if difference.width > abs(effect):
        return (
            f"no verdict: the rounds' spread of {what} (IQR {difference.width:.2f}) exceeds"
            f" the median change ({effect:+.2f})"
        )
    direction = "lower" if effect < 0 else "higher"
    return f"{what} is {direction} than the baseline's by {abs(effect):.2f} (median of rounds)"
