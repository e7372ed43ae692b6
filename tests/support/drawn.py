"""How the store's property tests draw their cases: twenty, the same on every run
(derandomized, nothing kept between runs), with no deadline, since a case is a run of
pushes through a real database."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

REPEATABLE = settings(
    max_examples=20,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
