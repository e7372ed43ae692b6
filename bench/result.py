"""What one benchmark reports: our time, the baseline's, and the ratio it should stay under."""

from __future__ import annotations

from dataclasses import dataclass


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
        }
