"""What the supervisor panel says about devices and exceptions, from the central store's
rows (`sync.central.supervision.device_rows`, `exception_rows`, as the service sends them).

Plain functions, no Textual. Written for 40 columns: an exception takes one line, the chosen
one a few more with the movement and the store's words; a device takes two lines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from scanner.describing import describe
from scanner.quantity import format_quantity
from screens.sync_line import QUEUED, when
from sync.exception_codes import SHORTFALLS

Row = Mapping[str, Any]
CHOSEN = ">"  # starts the line of the exception the keys act on


@dataclass(frozen=True)
class Action:
    """A way to resolve an exception, and what it needs to be told first."""

    name: str  # as the store calls it: apply, void, adjust, dismiss
    label: str  # the key's label
    meaning: str  # what help says it does
    question: str | None = None  # asked in the prompt line, answered in the scan field

    @property
    def needs_answer(self) -> bool:
        return self.question is not None


# A question fits the prompt line at 40 columns; Esc (shown as "Back") drops it.
APPLY = Action("apply", "Apply", "apply the held movement as scanned")
VOID = Action(
    "void", "Void", "void the held movement (asks why)", "Why void it? Type the reason, Enter"
)
ADJUST = Action(
    "adjust", "Count", "record a count there (asks how many)", "Quantity counted? Type it, Enter"
)
DISMISS = Action(
    "dismiss", "Dismiss", "close a flag (asks why)", "Why dismiss it? Type the reason, Enter"
)
ACTIONS = {action.name: action for action in (APPLY, VOID, ADJUST, DISMISS)}
PROMPT_WIDTH = 40


def count_question(row: Row) -> str:
    """What a count of the exception `row` asks, naming what is counted and where: the
    store adjusts the balance at the exception's own location, which the text may not name
    first ("It is at LINE-1 now"), so a supervisor who counted elsewhere adjusted the wrong
    place. Kept to the prompt's 40 columns: the lot goes first, then the part."""
    place, part = row.get("location"), row.get("part")
    if not place or not part:
        return ADJUST.question or ""
    number = row.get("serial") or row.get("lot")
    for what in (f"{part} {number}" if number else part, part):
        question = f"Count of {what} at {place}? Enter"
        if len(question) <= PROMPT_WIDTH:
            return question
    short = f"Count at {place}? Type it, Enter"
    return short if len(short) <= PROMPT_WIDTH else ADJUST.question or ""


@dataclass(frozen=True)
class Oversight:
    """What the store said when asked: its devices and open exceptions, or why it could
    not be asked."""

    devices: tuple[Row, ...] = ()
    exceptions: tuple[Row, ...] = ()
    problem: str | None = None
    notes: tuple[str, ...] = field(default=())
    more: bool = False  # the store may have open exceptions after the last read


def actions_for(row: Row) -> tuple[str, ...]:
    """What may resolve this exception: a held movement is applied or voided; a shortfall
    is counted or dismissed; anything else is dismissed once looked into."""
    if row.get("entry_status") == "held":
        return (APPLY.name, VOID.name)
    if row.get("code") in SHORTFALLS and row.get("part"):
        return (ADJUST.name, DISMISS.name)
    return (DISMISS.name,)


def movement_words(movement: Row | None) -> str:
    """`issue 10 lot R-1 of RESIN from RCV`: a pushed movement as a person reads it."""
    if not movement:
        return ""
    words = [str(movement.get("kind", "")), _quantity(movement.get("qty"))]
    words.append(
        describe(str(movement.get("part", "")), movement.get("lot"), movement.get("serial"))
    )
    source, target = movement.get("from_location"), movement.get("to_location")
    if source and target:
        words.append(f"{source}>{target}")
    elif source:
        words.append(f"from {source}")
    elif target:
        words.append(f"to {target}")
    return " ".join(word for word in words if word)


def _quantity(value: Any) -> str:
    try:
        return format_quantity(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value or "")


def exception_lines(row: Row, chosen: bool) -> list[str]:
    """One line; the chosen exception also shows its movement, where, and the store's
    words."""
    movement = row.get("movement")
    # A held movement waits for a decision; a rejected one broke a rule and never counts.
    status = row.get("entry_status")
    state = f" ({status})" if status in ("held", "rejected") else ""
    if row.get("grouped") is not None:  # a summary of a device's flood
        state = f" ({row['grouped']} grouped)"
    head = f"{CHOSEN if chosen else ' '}{row.get('id')} {row.get('code')} {_origin(row)}{state}"
    if not chosen:
        return [head]
    lines = [head]
    if movement:
        lines.append(f"  {movement_words(movement)}")
    elif row.get("part"):
        what = describe(str(row["part"]), row.get("lot"), row.get("serial"))
        where = f" at {row['location']}" if row.get("location") else ""
        lines.append(f"  {what}{where}")
    if row.get("message"):
        lines.append(f"  {row['message']}")
    return lines


def _origin(row: Row) -> str:
    """`H7KQ#41`: the device and its number for the movement."""
    device = row.get("device") or ""
    number = row.get("device_seq")
    return f"{device}#{number}" if number is not None else str(device)


def device_lines(row: Row, now: datetime, tz: tzinfo | None = None) -> list[str]:
    """`H7KQ Dock 1 active, seen 10:42` then `synced 10:41 ↑3 flag 1 held 0 rej 0 clock
    +2s`: the queue depth is what the device last reported."""
    status = "" if row.get("status") == "active" else f" {row.get('status')}"
    role = " (supervisor)" if row.get("role") == "supervisor" else ""
    seen = _when(row.get("last_seen"), now, tz)
    head = f"{row.get('device')} {row.get('name')}{role}{status}, seen {seen}"
    synced = max(
        (moment for moment in (_time(row.get("last_push")), _time(row.get("last_pull"))) if moment),
        default=None,
    )
    depth = row.get("queue_depth")
    counts = (
        f"synced {when(synced, now, tz)} {QUEUED}{'?' if depth is None else depth}"
        f" flag {row.get('flagged', 0)} held {row.get('held', 0)} rej {row.get('rejected', 0)}"
    )
    offset = clock_offset(row.get("clock_offset"))
    return [head, f" {counts}{f' clock {offset}' if offset else ''}"]


def clock_offset(seconds: Any) -> str:
    """`+2s`, `-5m`, `+3h`: how far the device's clock is from the store's (none known: "")."""
    if seconds is None:
        return ""
    value = int(seconds)
    sign = "+" if value >= 0 else "-"
    size = abs(value)
    if size < 120:
        return f"{sign}{size}s"
    if size < 2 * 3600:
        return f"{sign}{size // 60}m"
    return f"{sign}{size // 3600}h"


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _when(value: Any, now: datetime, tz: tzinfo | None) -> str:
    return when(_time(value), now, tz)


def oversight_lines(
    oversight: Oversight, chosen: int, now: datetime, tz: tzinfo | None = None
) -> list[str]:
    """The whole panel: open exceptions first (they want a decision), then the devices."""
    if oversight.problem:
        return [*oversight.notes, oversight.problem]
    lines = list(oversight.notes)
    exceptions: Sequence[Row] = oversight.exceptions
    count = f"{len(exceptions)}{'+' if oversight.more else ''}"
    lines.append(f"OPEN: {count}" + (" (Up/Down to choose)" if len(exceptions) > 1 else ""))
    for index, row in enumerate(exceptions):
        lines += exception_lines(row, index == chosen)
    lines.append(f"DEVICES: {len(oversight.devices)}")
    for row in oversight.devices:
        lines += device_lines(row, now, tz)
    return lines
