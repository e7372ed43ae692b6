"""What may come back, judged from the ledger (never a counter that can drift).

A customer sends back what was shipped: a lot or serial comes back on a sales-order line it
went out on, and never more of it than that line shipped less what came back already. When
no sales order is named, the one that shipped it is found from the shipments (and asked
for when several did). A return to a supplier on a purchase order sends back no more of a
part, lot or serial than the order's line received of it less what went back already.

A reversal counts against what it reverses. Held, rejected and voided movements do not
count (`scanner.models.NOT_EFFECTIVE`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from scanner.describing import describe, described
from scanner.errors import RuleViolation
from scanner.models import (
    NOT_EFFECTIVE,
    Movement,
    MovementKind,
    Part,
    Serial,
    SerialStatus,
    Tracking,
)
from scanner.orders import purchase_order_line, sales_order_line
from scanner.quantity import format_quantity
from scanner.row_by_key import find

OrderLine = tuple[str, int]


@dataclass
class Tally:
    """One order line's goods of one part, lot or serial: what went out to the customer
    (or came in from the supplier), and what was returned of it, each net of reversals."""

    order: str
    line: int
    sent: Decimal = Decimal(0)
    back: Decimal = Decimal(0)

    @property
    def left(self) -> Decimal:
        """What may still be returned on this line."""
        return self.sent - self.back


def customer_tallies(
    session: Session, part: Part, lot: str | None, serial: str | None, so: str | None = None
) -> list[Tally]:
    """Per sales-order line (in order): what was shipped of the part, lot or serial, and
    what the customer sent back. A lot or serial of None matches any (untracked stock)."""
    return _tallies(session, part, lot, serial, so, customer=True)


def supplier_tallies(
    session: Session, part: Part, lot: str | None, serial: str | None, po: str | None = None
) -> list[Tally]:
    """Per purchase-order line (in order): what was received of the part, lot or serial,
    and what went back to the supplier."""
    return _tallies(session, part, lot, serial, po, customer=False)


def customer_return_line(
    session: Session,
    part: Part,
    qty: Decimal | None,
    *,
    lot: str | None,
    serial: str | None,
    so: str | None,
    so_line: int | None = None,
) -> OrderLine | None:
    """The sales-order line a customer return comes back on; refuses one that names what
    was never shipped (on `so`), more than is left to come back, or, without `so`, what went
    out on several orders. `qty` None checks only what the return names. None for stock
    that carries no identity and names no order: it may come back as it is."""
    if serial is not None:
        _serial_out(session, part, serial)
    if so is None and lot is None and serial is None:
        return None
    tallies = _shipped(session, part, lot, serial, so, so_line)
    open_orders = sorted({tally.order for tally in tallies if tally.left > 0})
    if so is None and len(open_orders) > 1:
        raise RuleViolation(
            f"{described(part.number, lot, serial)} went out on {_listed(open_orders)}:"
            " scan the sales order (SO:)"
        )
    if qty is None:
        return None
    order = so or (open_orders[0] if open_orders else None)
    mine = [tally for tally in tallies if order in (None, tally.order)]
    chosen = _line_for(
        mine, qty, describe(part.number, lot, serial), "shipped", "came back already"
    )
    if part.tracking == Tracking.NONE and lot is not None:
        # The lot names a shipment of untracked goods, which may also have come back
        # without it: the line as a whole bounds the return too.
        whole = customer_tallies(session, part, None, None, chosen[0])
        line = [tally for tally in whole if tally.line == chosen[1]]
        _line_for(line, qty, part.number, "shipped", "came back already")
    return chosen


def _shipped(
    session: Session,
    part: Part,
    lot: str | None,
    serial: str | None,
    so: str | None,
    so_line: int | None,
) -> list[Tally]:
    """The sales-order lines (of `so`, when given) that shipped the part, lot or serial;
    refused when none did."""
    tracked = lot is not None or serial is not None
    if so is not None:
        sales_order_line(session, so, so_line, part)  # the order is known, the part on it
    tallies = [
        tally
        for tally in customer_tallies(session, part, lot, serial, None if tracked else so)
        if tally.sent > 0 and so in (None, tally.order) and so_line in (None, tally.line)
    ]
    if tallies:
        return tallies
    what = described(part.number, lot, serial)
    if so is None:
        raise RuleViolation(f"{what} was never shipped")
    if tracked:
        raise RuleViolation(f"{what} was not shipped on {so}")
    raise RuleViolation(f"{so} shipped no {part.number}: nothing of it can come back on it")


def supplier_return_line(
    session: Session,
    part: Part,
    qty: Decimal | None,
    *,
    lot: str | None,
    serial: str | None,
    po: str,
    po_line: int | None = None,
) -> OrderLine | None:
    """The purchase-order line goods go back to the supplier on; refuses what the order
    never received, or more than is left to go back. `qty` None checks only what the
    return names."""
    purchase_order_line(session, po, po_line, part)  # the order is known, the part on it
    tallies = [
        tally
        for tally in supplier_tallies(session, part, lot, serial, po)
        if tally.sent > 0 and po_line in (None, tally.line)
    ]
    what = describe(part.number, lot, serial)
    if not tallies:
        raise RuleViolation(f"{po} received no {what}: only what it brought can go back on it")
    if qty is None:
        return None
    return _line_for(tallies, qty, what, "received", "went back already")


def reversal_keeps_returns_covered(session: Session, original: Movement, part: Part) -> None:
    """Refuses to undo a shipment (or a receipt) when what was returned of it on its order
    line would then be more than the line shipped (or received): the return is undone
    first."""
    if original.kind == MovementKind.SHIP and original.so and original.so_line is not None:
        order, line, customer = original.so, original.so_line, True
    elif original.kind == MovementKind.RECEIVE and original.po and original.po_line is not None:
        order, line, customer = original.po, original.po_line, False
    else:
        return
    identities = {(original.lot, original.serial)}
    if part.tracking == Tracking.NONE:
        identities.add((None, None))  # untracked returns on the line name no lot
    for lot, serial in identities:
        for tally in _tallies(session, part, lot, serial, order, customer=customer):
            if tally.line == line and tally.back > tally.sent - original.qty:
                came = "came back from" if customer else "went back on"
                what = describe(part.number, lot, serial)
                raise RuleViolation(
                    f"{format_quantity(tally.back)} {part.uom} of {what} {came} {order}"
                    f" already: undo the return first"
                )


# ---- inside ---------------------------------------------------------------------------------


def _tallies(
    session: Session,
    part: Part,
    lot: str | None,
    serial: str | None,
    order: str | None,
    *,
    customer: bool,
) -> list[Tally]:
    """What went out (in) and came back, per order line, from the movements of the part's
    lot or serial (by `ix_movements_part_lot` or `ix_movements_part_serial`), or of the part
    on `order` for untracked stock."""
    sent_kind = MovementKind.SHIP if customer else MovementKind.RECEIVE
    number, line = (Movement.so, Movement.so_line) if customer else (Movement.po, Movement.po_line)
    original = aliased(Movement)
    query = (
        select(
            Movement.kind,
            number,
            line,
            Movement.qty,
            Movement.to_location,
            original.kind,
            original.to_location,
        )
        .outerjoin(original, original.id == Movement.reverses)
        .where(
            Movement.part == part.number,
            Movement.kind.in_(
                [sent_kind.value, MovementKind.RETURN.value, MovementKind.REVERSE.value]
            ),
            number.is_not(None),
            line.is_not(None),
            Movement.sync_state.not_in(NOT_EFFECTIVE),
        )
    )
    if serial is not None:
        query = query.where(Movement.serial == serial)
    elif lot is not None:
        query = query.where(Movement.lot == lot)
    if order is not None:
        query = query.where(number == order)
    tallies: dict[OrderLine, Tally] = {}
    for kind, on, at, qty, to, reversed_kind, reversed_to in session.execute(query):
        sign = 1
        if kind == MovementKind.REVERSE:
            kind, to, sign = reversed_kind, reversed_to, -1
        tally = tallies.setdefault((on, at), Tally(on, at))
        if kind == sent_kind:
            tally.sent += sign * qty
        elif kind == MovementKind.RETURN and (to is not None) == customer:
            tally.back += sign * qty
    return [tallies[key] for key in sorted(tallies)]


def _line_for(
    tallies: list[Tally], qty: Decimal, what: str, sent_words: str, back_words: str
) -> OrderLine:
    """The first line with `qty` left to return; refused with the numbers otherwise."""
    for tally in tallies:
        if tally.left >= qty:
            return tally.order, tally.line
    orders = sorted({tally.order for tally in tallies})
    sent = sum((tally.sent for tally in tallies), Decimal(0))
    back = sum((tally.back for tally in tallies), Decimal(0))
    if sent - back >= qty:  # enough on the order, but on no one line of it
        most = max(tallies, key=lambda tally: tally.left)
        raise RuleViolation(
            f"{most.order} line {most.line} has {format_quantity(most.left)} of {what} left to"
            f" return, not {format_quantity(qty)}: return it line by line"
        )
    came = f"; {format_quantity(back)} {back_words}" if back else ""
    raise RuleViolation(
        f"{_listed(orders)} {sent_words} {format_quantity(sent)} of {what}{came},"
        f" not {format_quantity(qty)}"
    )


def _serial_out(session: Session, part: Part, serial: str) -> None:
    """Only a serial that is out with a customer (shipped) comes back from one."""
    record = find(session, Serial, (part.number, serial))
    if record is not None and record.status == SerialStatus.SHIPPED:
        return
    what = described(part.number, serial=serial)
    if record is not None and record.status == SerialStatus.IN_STOCK:
        raise RuleViolation(
            f"{what} is in stock at {record.location}, not out with a customer: only a shipped"
            " serial comes back (one returned already is back in stock)"
        )
    raise RuleViolation(f"{what} is not out with a customer: only a shipped serial comes back")


def _listed(orders: list[str]) -> str:
    if len(orders) == 1:
        return orders[0]
    return ", ".join(orders[:-1]) + " and " + orders[-1]
