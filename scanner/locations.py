"""A site's locations by their kind: where receipts arrive (`receiving`), where jobs are
made (`production`), where held stock waits (`quarantine`, `scanner.models.QUARANTINE`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.models import Location


def locations_of_kind(session: Session, kind: str) -> list[str]:
    """The codes of the locations of `kind`, in code order."""
    return list(
        session.scalars(select(Location.code).where(Location.kind == kind).order_by(Location.code))
    )


def first_location_of_kind(session: Session, kind: str) -> str | None:
    """The first location of `kind` in code order: the default where one is needed."""
    return session.scalar(
        select(Location.code).where(Location.kind == kind).order_by(Location.code).limit(1)
    )
