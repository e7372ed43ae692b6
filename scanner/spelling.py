"""Lot and serial numbers as the plant first wrote them, matched without regard to case.

On the floor `b-77` typed is lot `B-77` of the label: one lot, not two. Wherever a number is
named to find a lot or serial (a scan, a typed answer, `lotscan trace`, `stock`, `label`),
it is matched exactly first and, only when that misses, without regard to case; what is
recorded is the existing spelling. The ledger refuses to bring into being a lot or serial
that differs from an existing one of the part only in case (`refuse_case_twin`).

The exact match is a primary-key probe, as before. The fallback compares `lower()` of the
number, which no index covers (the keys are (part, number) as written; an index on the
lowered number would need a migration): it reads every lot or serial of the part, and
`stock --lot` without a part every lot. It runs only when the exact match misses: on a new
number, or one typed in the other case. Lot and serial numbers are GS1 character set 82,
which is ASCII, so SQLite's `lower()` and PostgreSQL's agree on them.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from scanner.cursor_statements import Prepared
from scanner.errors import RuleViolation
from scanner.models import Lot, Serial
from scanner.row_by_key import find

Numbered = TypeVar("Numbered", Lot, Serial)


def known_lot(session: Session, part: str, number: str) -> Lot | None:
    """The lot of `part` numbered `number`, in whatever case it was first written."""
    return _known(session, Lot, part, number)


def known_serial(session: Session, part: str, number: str) -> Serial | None:
    """The serial of `part` numbered `number`, in whatever case it was first written."""
    return _known(session, Serial, part, number)


def lot_spelling(session: Session, part: str, number: str) -> str:
    """The existing spelling of lot `number` of `part`, or `number` for a new lot."""
    found = known_lot(session, part, number)
    return found.number if found is not None else number


def serial_spelling(session: Session, part: str, number: str) -> str:
    """The existing spelling of serial `number` of `part`, or `number` for a new serial."""
    found = known_serial(session, part, number)
    return found.number if found is not None else number


def lots_spelled_otherwise(session: Session, number: str) -> list[tuple[str, str]]:
    """(part, number) of every lot of any part numbered `number` without regard to case,
    for `stock --lot` when no lot is numbered exactly so. It reads every lot."""
    folded = select(Lot.part, Lot.number).where(func.lower(Lot.number) == number.lower())
    return [(part, spelled) for part, spelled in session.execute(folded.order_by(Lot.part))]


def refuse_case_twin(session: Session, model: type[Numbered], part: str, number: str) -> None:
    """Refuses a new lot or serial `number` of `part` that differs from an existing one only
    in case: the floor would take them for one, and the ledger would keep two."""
    twins = _folded(session, model, part, number)
    if twins:
        what = "Lot" if model is Lot else "Serial"
        raise RuleViolation(
            f"{what} {number} of {part} differs from {what.lower()} {twins[0]} only in case:"
            f" use {twins[0]}"
        )


def _known(session: Session, model: type[Numbered], part: str, number: str) -> Numbered | None:
    exact = find(session, model, (part, number))
    if exact is not None:
        return exact
    twins = _folded(session, model, part, number)
    if len(twins) > 1:
        what = "lot" if model is Lot else "serial"
        spellings = " and ".join(twins)
        raise RuleViolation(
            f"{number} could be {what} {spellings} of {part}: scan the label, or type it as written"
        )
    return find(session, model, (part, twins[0])) if twins else None


def _folded(session: Session, model: type[Numbered], part: str, number: str) -> list[str]:
    """The numbers of the lots or serials of `part` that are `number` without regard to
    case (the exact spelling aside), in order."""
    session.flush()  # as a query would: a lot made earlier in this scan counts
    found = _FOLDED[model].run(session, {"part": part, "folded": number.lower(), "number": number})
    return [spelled for (spelled,) in found]


def _folding(model: type[Numbered]) -> Prepared:
    return Prepared(
        select(model.number)
        .where(
            model.part == bindparam("part"),
            func.lower(model.number) == bindparam("folded"),
            model.number != bindparam("number"),
        )
        .order_by(model.number)
    )


_FOLDED: dict[type[Lot] | type[Serial], Prepared] = {Lot: _folding(Lot), Serial: _folding(Serial)}
