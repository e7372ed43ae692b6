"""What one benchmark reports: our time, the baseline's, and the ratio it should stay under."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Result:
    """Median times of our implementation and of the baseline, measured in the same run."""

    name: str
    ours: float
    baseline: float
    goal: float
    """The ratio ours/baseline should be at or under this."""
    unit: str = "s"
    facts: tuple[str, ...] = ()
    """What was measured on, for the readable report: sizes, counts, runs."""
    extra: Mapping[str, float] = field(default_factory=dict)
    """Further measurements for programs, beside the times: {"peak_memory_mb": 212.5}."""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline

    @property
    def met(self) -> bool:
        return self.ratio <= self.goal

    def as_json(self) -> dict[str, float | str]:
        return {
            "ours": self.ours,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "unit": self.unit,
            **self.extra,
        }


class Skipped(Exception):
    """A benchmark that cannot run on this machine (no PostgreSQL server, say): the message
    says why, and the report shows it in place of the benchmark's times."""
