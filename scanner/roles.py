"""An operator's role: apart from the models, so that `lotscan`'s command line offers the
roles without loading SQLAlchemy (a handheld's start goes through it)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    FLOOR = "floor"
    SUPERVISOR = "supervisor"
    # Quality staff: hold, release and recall lots and serials, nothing else a supervisor may.
    QUALITY = "quality"


QUALITY_ROLES = (Role.SUPERVISOR.value, Role.QUALITY.value)
"""The operator roles that may hold, release or recall a lot or serial."""
