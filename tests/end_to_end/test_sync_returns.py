"""Returns through the sync service, over real HTTP on loopback, on SQLite and PostgreSQL: a
customer's return recorded on one handheld reaches the store and every other handheld with
its serial in stock again; a second return of the same unit is held like any serial that
arrives twice; a supplier return of stock the store no longer has is flagged like a
shipment's shortfall; an undone return leaves the unit shipped everywhere."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.models import Balance, Movement, Serial
from tests.support.sync_over_http import Handheld, Site


def serial_at(sessions: sessionmaker[Session], part: str, serial: str) -> tuple[str, str | None]:
    with sessions() as session:
        record = session.get(Serial, (part, serial))
        assert record is not None
        return record.status, record.location


def qty_at(
    sessions: sessionmaker[Session], part: str, location: str, lot: str = "", serial: str = ""
) -> Decimal:
    with sessions() as session:
        balance = session.get(Balance, (part, lot, serial, location))
        return balance.qty if balance is not None else Decimal(0)


def shipped_pump(site: Site) -> tuple[Handheld, Handheld]:
    """Two handhelds that both know pump P-1 was received at A-01 and shipped on SO-1."""
    dock, yard = site.enroll("dock"), site.enroll("yard")
    dock.record(lambda ledger: ledger.receive("PUMP", 1, "A-01", serial="P-1"))
    dock.record(lambda ledger: ledger.ship("SO-1", "PUMP", 1, serial="P-1"))
    dock.sync()
    yard.sync()
    assert serial_at(yard.sessions, "PUMP", "P-1") == ("shipped", None)
    return dock, yard


def test_a_return_on_one_handheld_reaches_the_store_and_the_other_with_the_serial_in_stock(
    site: Site,
) -> None:
    dock, yard = shipped_pump(site)
    dock.record(lambda ledger: ledger.return_from_customer("PUMP", 1, "A-02", serial="P-1"))

    report = dock.sync()
    yard.sync()

    assert (report.pushed, report.applied) == (1, 1)
    for where in (site.central, yard.sessions):
        assert serial_at(where, "PUMP", "P-1") == ("in_stock", "A-02")
        assert qty_at(where, "PUMP", "A-02", serial="P-1") == 1
    with yard.sessions() as session:
        (pulled,) = session.scalars(select(Movement).where(Movement.kind == "return")).all()
        assert (pulled.so, pulled.so_line, pulled.sync_state) == ("SO-1", 1, "applied")
    # The other handheld ships the returned unit again, and the store agrees.
    yard.record(lambda ledger: ledger.ship("SO-1", "PUMP", 1, serial="P-1"))
    assert yard.sync().applied == 1
    assert serial_at(site.central, "PUMP", "P-1") == ("shipped", None)
    site.final_sync()
    assert site.violations() == []


def test_a_unit_returned_on_two_handhelds_is_held_the_second_time(site: Site) -> None:
    dock, yard = shipped_pump(site)
    dock.record(lambda ledger: ledger.return_from_customer("PUMP", 1, "A-02", serial="P-1"))
    yard.record(lambda ledger: ledger.return_from_customer("PUMP", 1, "RCV", serial="P-1"))
    dock.sync()

    report = yard.sync()

    assert (report.pushed, report.held) == (1, 1)
    (held,) = site.exceptions(code="SERIAL_DUPLICATE_RECEIPT")
    assert "already in stock at A-02" in held.message
    assert serial_at(site.central, "PUMP", "P-1") == ("in_stock", "A-02")
    assert qty_at(site.central, "PUMP", "RCV", serial="P-1") == 0
    site.final_sync()
    assert site.violations() == []


def test_a_supplier_return_of_stock_the_store_no_longer_has_is_flagged(site: Site) -> None:
    dock, yard = site.enroll("dock"), site.enroll("yard")
    dock.record(lambda ledger: ledger.receive("RESIN", 10, "RCV", lot="R-1", po="PO-1"))
    dock.sync()
    yard.sync()
    yard.record(lambda ledger: ledger.move("RESIN", 8, "A-01", lot="R-1"))
    yard.sync()
    dock.record(
        lambda ledger: ledger.return_to_supplier(
            "RESIN", 5, lot="R-1", from_location="RCV", po="PO-1"
        )
    )

    report = dock.sync()

    assert (report.pushed, report.flagged) == (1, 1)
    (flag,) = site.exceptions(status="open")
    assert flag.code in ("NEGATIVE_BALANCE", "STALE_SOURCE")
    assert (flag.part, flag.lot, flag.location) == ("RESIN", "R-1", "RCV")
    assert qty_at(site.central, "RESIN", "RCV", lot="R-1") == -3
    site.final_sync()
    assert site.violations() == []


def test_an_undone_return_leaves_the_unit_shipped_on_every_handheld(site: Site) -> None:
    dock, yard = shipped_pump(site)
    returned = dock.record(
        lambda ledger: ledger.return_from_customer("PUMP", 1, "A-02", serial="P-1")
    )
    dock.sync()
    yard.sync()
    assert serial_at(yard.sessions, "PUMP", "P-1") == ("in_stock", "A-02")

    dock.record(lambda ledger: ledger.reverse(returned.id, reason="scanned in error"))
    dock.sync()
    yard.sync()

    for where in (site.central, dock.sessions, yard.sessions):
        assert serial_at(where, "PUMP", "P-1") == ("shipped", None)
        assert qty_at(where, "PUMP", "A-02", serial="P-1") == 0
    site.final_sync()
    assert site.violations() == []
