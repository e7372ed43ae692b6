"""The recall answer for a person (text) and for a spreadsheet (CSV); its JSON is
`Recall.as_json` (docs/architecture.md, "The recall answer").

Text: the trace's sections (`scanner.trace.format_trace`), then where everything is now.
CSV: one header row, then one row per line of the answer, its `section` first
(`CSV_COLUMNS`); stored text goes through `scanner.spreadsheet` (`csv_cell`), so no cell is read
as a formula or carries a control character.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO

from scanner.clock import aware
from scanner.describing import describe
from scanner.plain_text import shown
from scanner.quantity import format_quantity
from scanner.recall import (
    Delivery,
    FamilyStock,
    HeldItem,
    NodeStatus,
    PendingMovement,
    Recall,
    WaitingDevice,
    WorkInProgress,
)
from scanner.spreadsheet import csv_cell
from scanner.trace import format_trace
from scanner.trace_queries import FROM_CUSTOMER

# ---- text -----------------------------------------------------------------------------------


def format_recall(answer: Recall) -> str:
    """The recall as text: the trace, then the status of what is still in the plant, stock
    made from it, work in progress, movements not yet synced, shipments by date and the
    customers, and (after a hold) what was recalled. Every line is `shown`."""
    traced = answer.trace
    _title, _, trace_body = format_trace(traced).partition("\n\n")
    what = describe(traced.part, traced.lot, traced.serial)
    if traced.serial and traced.lot:
        what += f" (lot {traced.lot})"
    sections = [
        shown(f"Recall of {what}: {answer.status}"),
        trace_body,
        _section("Still in the plant", [_status(each) for each in answer.in_plant()]),
        _section(
            "On hand, made from it", [_family_stock(each) for each in answer.descendants_on_hand]
        ),
        _section("Work in progress on open jobs", [_wip(each) for each in answer.wip]),
        _section("Waiting on handhelds (not synced)", _waiting(answer)),
        _section("Shipped, by date", [_delivery(each) for each in answer.deliveries]),
        _section("Customers", [_customer(answer, name) for name in _customer_names(answer)]),
    ]
    if answer.held is not None:
        lines = [_held(each, "recalled") for each in answer.held]
        lines += [_held(each, "already recalled") for each in answer.already_recalled or ()]
        sections.append(_section("Held", lines))
    return "\n\n".join(sections)


def _section(heading: str, lines: Sequence[str]) -> str:
    body = lines or ["none"]
    return "\n".join([f"{heading}:", *(f"  {shown(line)}" for line in body)])


def _what(part: str, lot: str | None, serial: str | None) -> str:
    return describe(part, lot, serial)


def _status(each: NodeStatus) -> str:
    expiry = f", expires {each.expiry:%Y-%m-%d}" if each.expiry else ""
    return f"{_what(each.part, each.lot, each.serial)}: {each.status}{expiry}"


def _family_stock(each: FamilyStock) -> str:
    what = _what(each.part, each.lot, each.serial)
    return f"{format_quantity(each.qty)} of {what} at {each.location} ({each.status})"


def _wip(each: WorkInProgress) -> str:
    where = f" at {each.job_location}" if each.job_location else ""
    what = _what(each.part, each.lot, each.serial)
    qty = format_quantity(each.qty)
    return f"job {each.job} (makes {each.job_part}{where}) consumed {qty} of {what}"


def _waiting(answer: Recall) -> list[str]:
    lines = [_pending(each) for each in answer.pending]
    lines += [_device(each) for each in answer.waiting_devices]
    return lines


def _pending(each: PendingMovement) -> str:
    what = _what(each.part, each.lot, each.serial)
    return (
        f"{_when(each.happened_at)} {each.kind} {format_quantity(each.qty)} of {what}"
        f"{_route(each)} (device {each.device})"
    )


def _route(each: PendingMovement) -> str:
    words = ""
    if each.from_location:
        words += f" from {each.from_location}"
    if each.to_location:
        words += f" to {each.to_location}"
    if each.job:
        words += f" on job {each.job}"
    if each.so:
        words += f" on {each.so}"
    return words


def _device(each: WaitingDevice) -> str:
    seen = f", last seen {_when(each.last_seen)}" if each.last_seen else ""
    oldest = f", oldest from {_when(each.oldest_pending_at)}" if each.oldest_pending_at else ""
    return (
        f"handheld {each.device} ({each.name}): {each.queue_depth} movements queued{oldest}{seen}"
    )


def _delivery(each: Delivery) -> str:
    what = _what(each.part, each.lot, each.serial)
    line = f" line {each.so_line}" if each.so_line is not None else ""
    return (
        f"{_when(each.shipped_at)} {format_quantity(each.qty)} of {what}"
        f" on {each.so}{line} to {each.customer}"
    )


def _customer_names(answer: Recall) -> list[str]:
    return [each.customer for each in answer.customers]


def _customer(answer: Recall, name: str) -> str:
    (found,) = [each for each in answer.customers if each.customer == name]
    first, last = f"{found.first_shipped_at:%Y-%m-%d}", f"{found.last_shipped_at:%Y-%m-%d}"
    when = first if first == last else f"{first} to {last}"
    return f"{name}: {', '.join(found.orders)}, shipped {when}"


def _held(each: HeldItem, done: str) -> str:
    what = _what(each.part, each.lot, each.serial)
    if done == "recalled":
        return f"recalled {what} (was {each.was})"
    return f"{what} was recalled already"


def _when(moment: datetime | None) -> str:
    return f"{aware(moment):%Y-%m-%d %H:%M}" if moment is not None else ""


# ---- CSV ------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "section",
    "part",
    "lot",
    "serial",
    "location",
    "qty",
    "status",
    "expiry",
    "job",
    "depth",
    "order",
    "line",
    "party",
    "date",
    "detail",
)
"""The recall's CSV header. `section` says what a row is: traced, made_from, received,
made_into, on_hand, wip, pending, waiting_device, shipped, returned, held,
already_recalled."""

Row = dict[str, str]


def write_recall_csv(answer: Recall, out: IO[str]) -> None:
    """The recall as CSV on `out`: the header, then a row per line of the answer."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(answer):
        writer.writerow({name: row.get(name, "") for name in CSV_COLUMNS})


def csv_rows(answer: Recall) -> Iterator[Row]:
    traced = answer.trace
    status_of = {(s.part, s.lot, s.serial): s for s in answer.statuses}
    yield {**_node(traced.part, traced.lot, traced.serial), "section": "traced",
           "status": answer.status}  # fmt: skip
    for each in traced.backward:
        yield _relative("made_from", each.part, each.lot, each.serial, each.job, each.depth)
    for got in traced.receipts:
        yield {**_node(got.part, got.lot, got.serial), "section": "received",
               "qty": _qty(got.qty), "order": _text(got.po), "party": _text(got.supplier),
               "detail": _text(got.supplier_lot)}  # fmt: skip
    for each in traced.forward:
        yield _relative("made_into", each.part, each.lot, each.serial, each.job, each.depth)
    for stock in traced.on_hand:
        status = status_of.get((stock.part, stock.lot, stock.serial))
        yield {**_node(stock.part, stock.lot, stock.serial), "section": "on_hand",
               "location": _text(stock.location), "qty": _qty(stock.qty),
               "status": status.status if status else "",
               "expiry": _date(status.expiry if status else None)}  # fmt: skip
    for made in answer.descendants_on_hand:
        yield {**_node(made.part, made.lot, made.serial), "section": "on_hand",
               "location": _text(made.location), "qty": _qty(made.qty), "status": made.status,
               "expiry": _date(made.expiry)}  # fmt: skip
    for wip in answer.wip:
        yield {**_node(wip.part, wip.lot, wip.serial), "section": "wip", "job": _text(wip.job),
               "location": _text(wip.job_location), "qty": _qty(wip.qty),
               "detail": f"makes {_text(wip.job_part)}"}  # fmt: skip
    for moved in answer.pending:
        yield {**_node(moved.part, moved.lot, moved.serial), "section": "pending",
               "location": _text(moved.to_location or moved.from_location),
               "qty": _qty(moved.qty), "job": _text(moved.job), "order": _text(moved.so),
               "party": _text(moved.device), "date": _moment(moved.happened_at),
               "detail": moved.kind}  # fmt: skip
    for device in answer.waiting_devices:
        yield {"section": "waiting_device", "party": _text(device.device),
               "qty": str(device.queue_depth), "date": _moment(device.last_seen),
               "detail": _text(device.name)}  # fmt: skip
    for sent in answer.deliveries:
        yield {**_node(sent.part, sent.lot, sent.serial), "section": "shipped",
               "qty": _qty(sent.qty), "order": _text(sent.so),
               "line": "" if sent.so_line is None else str(sent.so_line),
               "party": _text(sent.customer), "date": _moment(sent.shipped_at)}  # fmt: skip
    for back in traced.returns:
        customer = back.direction == FROM_CUSTOMER
        yield {**_node(back.part, back.lot, back.serial), "section": "returned",
               "qty": _qty(back.qty), "order": _text(back.so if customer else back.po),
               "party": _text(back.customer if customer else back.supplier),
               "detail": back.direction}  # fmt: skip
    for held in answer.held or ():
        yield {**_node(held.part, held.lot, held.serial), "section": "held",
               "status": "recalled", "detail": f"was {held.was}"}  # fmt: skip
    for held in answer.already_recalled or ():
        yield {**_node(held.part, held.lot, held.serial), "section": "already_recalled",
               "status": "recalled"}  # fmt: skip


def _node(part: str, lot: str | None, serial: str | None) -> Row:
    return {"part": _text(part), "lot": _text(lot), "serial": _text(serial)}


def _relative(
    section: str, part: str, lot: str | None, serial: str | None, job: str, depth: int
) -> Row:
    return {**_node(part, lot, serial), "section": section, "job": _text(job), "depth": str(depth)}


def _text(value: str | None) -> str:
    return csv_cell(value)


def _qty(value: Decimal) -> str:
    return format_quantity(value)


def _date(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _moment(value: datetime | None) -> str:
    return aware(value).isoformat() if value is not None else ""
