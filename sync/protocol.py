"""The sync protocol between a handheld and the central store: the request and response
bodies, and how a movement is written into one and hashed (docs/architecture.md,
"Sync protocol").

    POST /v1/devices/enroll   EnrollRequest -> 201 EnrollResponse   (no token: the code is it)
    POST /v1/sync/push        PushRequest   -> 200 PushResponse     (device token)
    GET  /v1/sync/pull?cursor=N&limit=M     -> 200 PullResponse     (device token)
    GET  /v1/sync/snapshot?cursor=C&kind=K&after=A&limit=M -> 200 SnapshotPage (device token)

Every other request carries `Authorization: Bearer <token>`. Errors are
`{"error": code, "message": words}` with a 4xx status (400 `bad_request` for a body that is
not UTF-8, 401 `device_revoked` or `unauthorized`, 403 `wrong_device`, 409
`client_upgrade_required`, 422 `bad_request` naming the field), or 503 `retry_later` when the
store's database is down (nothing was committed). Every value in a body is one of the
checked kinds of `sync.wire_values`: times in UTC within the store's range, strict numbers,
plain text.

A pushed movement is the whole fact: besides the ledger row it carries what the store needs
to create the lot or serial it brings into being (`lot_expiry`, `supplier_lot`,
`lot_origin`, `lot_job`, `serial_lot`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from scanner.clock import aware
from scanner.models import (
    MOVEMENT_FACTS,
    STORE_ONLY,
    Base,
    Job,
    JobComponent,
    Location,
    Lot,
    Movement,
    Operator,
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    Serial,
    StatusChange,
)
from scanner.movement_rules import number_rule
from sync.wire_values import PLAIN, Day, Moment, PositiveQuantity, Whole

PROTOCOL = 1
MAX_BATCH = 500
MAX_PULL = 1000
SNAPSHOT_PAGE = 5000
"""The most rows one snapshot page carries (a page of movements is about 2.5 MB)."""

Code = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=40), PLAIN]
Number = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=20), PLAIN]
Words = Annotated[str, StringConstraints(strict=True, max_length=200), PLAIN]
Seq = Annotated[Whole, Field(ge=1, le=2**62)]
Cursor = Annotated[Whole, Field(ge=0, le=2**62)]
LineNumber = Annotated[Whole, Field(ge=0, le=2**31 - 1)]
Kind = Literal["receive", "issue", "produce", "ship", "move", "adjust", "reverse", "return"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MovementIn(Strict):
    """One movement as a device pushes it: what it says (`scanner.models.MOVEMENT_FACTS`,
    by their `PUSHED_FACTS` names), and the `LOT_HINTS` (`lot_expiry`, `lot_job`,
    `lot_origin`, `serial_lot`, `supplier_lot`), which carry what the store needs to create
    a lot or serial the movement brings into being. Declared one by one for their checks;
    a test holds them to those two lists.

    The fields are in alphabetical order, so pydantic writes a movement's JSON with its keys
    sorted, as `canonical` does (see `movement_payload`)."""

    from_location: Code | None = None
    happened_at: Moment
    id: uuid.UUID
    job: Code | None = None
    kind: Kind
    lot: Number | None = None
    lot_expiry: Day | None = None
    lot_job: Code | None = None
    lot_origin: Annotated[str, StringConstraints(strict=True, max_length=10), PLAIN] | None = None
    observed_cursor: Cursor | None = None
    operator: Code | None = None
    part: Code
    po: Code | None = None
    po_line: LineNumber | None = None
    qty: PositiveQuantity
    reason: Words | None = None
    reverses: uuid.UUID | None = None
    seq: Seq
    serial: Number | None = None
    serial_lot: Number | None = None
    so: Code | None = None
    so_line: LineNumber | None = None
    supplier_lot: Code | None = None
    to_location: Code | None = None


WIRE_NAMES = {"device_seq": "seq"}
"""The facts a push names otherwise than the ledger does: a movement's number on its device."""

PUSHED_FACTS: tuple[str, ...] = tuple(WIRE_NAMES.get(name, name) for name in MOVEMENT_FACTS)
"""`MOVEMENT_FACTS` as `MovementIn` names them, in the same order."""

_PUSHED = attrgetter(*PUSHED_FACTS)
_RECORDED = attrgetter(*MOVEMENT_FACTS)


def movement_facts(movement: MovementIn) -> dict[str, Any]:
    """What a pushed movement says, by the ledger's names: the values of a `Movement`."""
    return dict(zip(MOVEMENT_FACTS, _PUSHED(movement), strict=True))


STATUS_CHANGE = "status_change"
"""The change kind a device pulls a status change's record by (`Change`)."""
SETTING = "setting"
"""The change kind of a site-wide setting set on the central store (`scanner.settings`,
`site_wide`): data `{"key": ..., "value": text or null}`, null when the store holds none."""


StatusSubjectName = Literal["job", "po_line", "so_line", "lot", "serial"]
StatusName = Literal["open", "closed", "active", "hold", "recalled"]
QUALITY_SUBJECTS = frozenset({"lot", "serial"})
"""The subjects people hold, release and recall (`scanner.quality`); the others close."""
STATUSES_OF: dict[str, frozenset[str]] = {
    "job": frozenset({"open", "closed"}),
    "po_line": frozenset({"open", "closed"}),
    "so_line": frozenset({"open", "closed"}),
    "lot": frozenset({"active", "hold", "recalled"}),
    "serial": frozenset({"active", "hold", "recalled"}),
}
"""The statuses a change of each subject may give: a job is never on hold, a lot never
closed."""


class StatusChangeIn(Strict):
    """A job or an order line closed or reopened, or a lot or serial held, released or
    recalled, on a handheld (`scanner.closing`, `scanner.quality`), pushed
    with the movements: the store places it among them by the time it happened, so a
    completion recorded before a close is judged with the job still open.

    `subject` is declared before `status` and `operator`, which are checked against it: a
    status the subject cannot have, or a lot's or serial's change with no operator (only a
    supervisor or quality staff decides one), is refused naming the field."""

    happened_at: Moment
    id: uuid.UUID
    reason: Words | None = None
    subject: StatusSubjectName
    key: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=80), PLAIN]
    status: StatusName
    operator: Annotated[Code | None, Field(validate_default=True)] = None

    @field_validator("key")
    @classmethod
    def _key_fits(cls, key: str, info: ValidationInfo) -> str:
        subject = info.data.get("subject")
        if subject in QUALITY_SUBJECTS:
            part, bar, number = key.rpartition("|")
            what = "Lot" if subject == "lot" else "Serial"
            broken = number_rule(number, what) if part and bar else None
            if not (part and bar) or broken is not None:
                why = broken.message if broken is not None else "it is not PART|NUMBER"
                raise PydanticCustomError("status_key", f"a {subject}'s key is PART|NUMBER: {why}")
        return key

    @field_validator("status")
    @classmethod
    def _status_fits(cls, status: str, info: ValidationInfo) -> str:
        subject = info.data.get("subject")
        if subject is not None and status not in STATUSES_OF[subject]:
            allowed = ", ".join(sorted(STATUSES_OF[subject]))
            raise PydanticCustomError(
                "status_subject", f"a {subject} cannot be {status!r}; it takes {allowed}"
            )
        return status

    @field_validator("operator")
    @classmethod
    def _decided_by_someone(cls, operator: str | None, info: ValidationInfo) -> str | None:
        if operator is None and info.data.get("subject") in QUALITY_SUBJECTS:
            raise PydanticCustomError(
                "status_operator",
                "a lot's or serial's status change names the supervisor or quality staff"
                " who decided it",
            )
        return operator


class PushRequest(Strict):
    protocol: Literal[1] = 1
    device_id: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=20), PLAIN]
    device_time: Moment
    app_version: Annotated[str, StringConstraints(strict=True, max_length=40), PLAIN] = ""
    # What the device knows about its own queue, for the supervisors' view.
    queue_depth: Annotated[Whole, Field(ge=0, le=2**31 - 1)]
    max_local_seq: Annotated[Whole, Field(ge=0, le=2**62)]
    oldest_pending_at: Moment | None = None
    movements: Annotated[list[MovementIn], Field(max_length=MAX_BATCH)]
    # Left out by a handheld with none to send, so an older store still takes its pushes.
    status_changes: Annotated[list[StatusChangeIn], Field(max_length=MAX_BATCH)] = []


OutcomeStatus = Literal["applied", "flagged", "held", "rejected", "voided"]


class MovementOutcome(Strict):
    seq: int
    status: OutcomeStatus
    server_seq: int | None = None
    codes: list[str] = []
    message: str = ""


class PushResponse(Strict):
    last_applied_seq: int
    expected_next_seq: int
    server_time: datetime
    outcomes: list[MovementOutcome]


class Change(Strict):
    """One change a device pulls. `kind` is a reference table (`part`, `location`,
    `operator`, `job`, `job_component`, `po_line`, `so_line`, `lot`, `serial`) whose
    `data` is the whole row; `movement`: a movement the store applied, held or voided,
    with its `status`, `server_seq`, `codes` and `message` beside the pushed fields; or
    `status_change`: a job or order line closed or reopened, a lot or serial held, released
    or recalled (`StatusChangeIn`'s fields, the `device_id` that recorded it, and
    `sync_state`: `applied`, or `rejected` when the store refused it), for its history on
    every handheld; or `setting`: a site-wide setting (`SETTING`)."""

    seq: int
    kind: str
    key: str
    data: dict[str, Any]


class PullResponse(Strict):
    cursor: int
    has_more: bool
    # The device's cursor is past anything the store has (a store restored from a backup,
    # say): start again from 0. Every change is idempotent, so that is safe.
    reset: bool = False
    server_time: datetime
    changes: list[Change]


class SnapshotPlace(Strict):
    """Where the next snapshot page starts: after the row with key `after` (its primary key
    values, in order) of `kind`; no `after`: at the kind's first row."""

    kind: str
    after: list[str | int] | None = None


class SnapshotPage(Strict):
    """One page of a snapshot of the store at change number `cursor` (docs/architecture.md,
    "Snapshots for a new handheld"): rows of one kind, each the `data` a change of that kind
    carries, and where the next page starts (`next`, None after the last). A device applies
    every page, then pulls the changes after `cursor`. `reset`: the `cursor` asked for is
    past anything the store has (restored from a backup): start the snapshot again."""

    cursor: int
    kind: str
    rows: list[dict[str, Any]]
    next: SnapshotPlace | None
    reset: bool = False
    server_time: datetime


class EnrollRequest(Strict):
    code: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100), PLAIN]
    device_name: Annotated[str, StringConstraints(strict=True, max_length=80), PLAIN] = ""
    app_version: Annotated[str, StringConstraints(strict=True, max_length=40), PLAIN] = ""
    # The id this handheld has recorded movements under, and how many still wait: a new
    # device keeps that id, so nothing scanned before enrolling is left behind. It starts
    # with a letter or digit: `--` became a device no `lotscan devices` command could name.
    device_id: (
        Annotated[
            str,
            StringConstraints(strict=True, pattern=r"^[0-9A-Za-z][0-9A-Za-z-]{0,19}$"),
            PLAIN,
        ]
        | None
    ) = None
    queued: Annotated[Whole, Field(ge=0, le=2**62)] = 0


class EnrollResponse(Strict):
    device_id: str
    device_token: str
    role: Literal["handheld", "supervisor"]
    server_time: datetime
    # The last number the store has from this device id: a replacement handheld numbers its
    # movements after it, so it never reuses one the old handheld spent.
    last_applied_seq: int = 0


class ErrorBody(Strict):
    error: str
    message: str


def canonical(data: dict[str, Any]) -> str:
    """The one JSON text of a body: sorted keys, no spaces, decimals and dates as strings."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


# What a movement says about its lot or serial is read from the handheld's current row, which
# can change between two tries of one push (a later receipt adds a supplier lot): it is not
# part of the fact, so it is not hashed.
LOT_HINTS = frozenset({"lot_expiry", "supplier_lot", "lot_origin", "lot_job", "serial_lot"})


_NULL_HINTS = tuple(f',"{hint}":null' for hint in sorted(LOT_HINTS))
_HINTS = attrgetter(*sorted(LOT_HINTS))
_NO_HINTS = (None,) * len(LOT_HINTS)


_WRITE_MOVEMENT = MovementIn.__pydantic_serializer__.to_json


def movement_payload(movement: MovementIn) -> str:
    """`canonical(movement.model_dump(mode="json"))`, the text a store keeps of a pushed
    movement, written by pydantic in one call, three times quicker (a push writes five
    hundred): the fields are declared in sorted order, and pydantic escapes text as
    `json.dumps` does but for DEL and what is not ASCII, which take the long way. The
    serializer is called itself: `model_dump_json`'s own arguments cost a third as much
    again."""
    text = _WRITE_MOVEMENT(movement).decode()
    if text.isascii() and "\x7f" not in text:
        return text
    return canonical(movement.model_dump(mode="json"))


def movement_hash(movement: MovementIn, payload: str | None = None) -> str:
    """The payload hash that tells a retry (same hash) from a reused number (different):
    of what the movement says but its lot hints. `payload` is its `movement_payload`, when
    the caller has it. Most movements carry no hints, and then the text without them is the
    payload with their null entries cut out (no hint's key comes first, and a `,"` never
    occurs inside a JSON string), which is cheaper than writing the movement again."""
    if _HINTS(movement) == _NO_HINTS:
        fact = payload if payload is not None else movement_payload(movement)
        for empty in _NULL_HINTS:
            fact = fact.replace(empty, "", 1)
    else:
        fact = canonical(movement.model_dump(mode="json", exclude=set(LOT_HINTS)))
    return hashlib.sha256(fact.encode()).hexdigest()


# ---- reference rows as change data ------------------------------------------------------

REFERENCE_KINDS: dict[str, type[Base]] = {
    "part": Part,
    "location": Location,
    "operator": Operator,
    "job": Job,
    "job_component": JobComponent,
    "purchase_order": PurchaseOrder,
    "po_line": PurchaseOrderLine,
    "sales_order": SalesOrder,
    "so_line": SalesOrderLine,
    "lot": Lot,
    "serial": Serial,
}
"""Change kinds that carry a whole reference row, in the order a device applies a page's
rows of different kinds when they depend on each other (a job line needs its job)."""

SNAPSHOT_KINDS = (*REFERENCE_KINDS, STATUS_CHANGE, SETTING, "movement")
"""The kinds a snapshot carries, in the order it carries them: reference rows parents
first, then status changes, the site-wide settings, then the store's ledger by its numbers
(a reversal after the movement it reverses)."""


def row_data(row: Base) -> dict[str, Any]:
    """A reference row as change data: every column but those kept on the store alone
    (`STORE_ONLY`), as JSON values."""
    table = row.__table__
    return {
        column.key: _json_value(getattr(row, column.key))
        for column in table.columns
        if not column.info.get(STORE_ONLY)
    }


def row_key(row: Base) -> str:
    """A reference row's primary key as one string, "|"-separated."""
    mapper = inspect(type(row))
    return "|".join(str(getattr(row, str(column.key))) for column in mapper.primary_key)


def row_from_data(kind: str, data: dict[str, Any]) -> Base:
    """The reference row a change describes (not yet in any session)."""
    model = REFERENCE_KINDS[kind]
    values: dict[str, Any] = {}
    for column in model.__table__.columns:
        if column.key not in data:
            continue
        value = data[column.key]
        python_type = _python_type(column)
        if value is not None and python_type is datetime:
            value = datetime.fromisoformat(value)
        elif value is not None and python_type is date:
            value = date.fromisoformat(value)
        elif value is not None and python_type is Decimal:
            value = Decimal(value)
        values[column.key] = value
    return model(**values)


def _python_type(column: Any) -> type | None:
    try:
        return column.type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return None


def _json_value(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    return value


# ---- the handheld's rows, as it pushes them -------------------------------------------


def movement_in(session: Session, movement: Movement) -> MovementIn:
    """The movement as the device pushes it: every ledger field, plus what the store needs
    to create the lot or serial the movement names if it has never seen it."""
    lot = session.get(Lot, (movement.part, movement.lot)) if movement.lot is not None else None
    serial = (
        session.get(Serial, (movement.part, movement.serial))
        if movement.serial is not None
        else None
    )
    facts = dict(zip(PUSHED_FACTS, _RECORDED(movement), strict=True))
    facts["happened_at"] = aware(movement.happened_at)  # SQLite reads it without its zone
    return MovementIn(
        **facts,
        lot_expiry=lot.expiry if lot else None,
        supplier_lot=lot.supplier_lot if lot else None,
        lot_origin=lot.origin if lot else None,
        lot_job=lot.assigned_job if lot else None,
        serial_lot=serial.lot if serial else None,
    )


def status_change_in(change: StatusChange) -> StatusChangeIn:
    """A status change as the handheld pushes it."""
    happened_at = aware(change.happened_at)
    assert happened_at is not None  # the column is NOT NULL
    return StatusChangeIn(
        id=change.id,
        subject=change.subject,  # type: ignore[arg-type]  # the subject check holds it
        key=change.key,
        status=change.status,  # type: ignore[arg-type]  # `scanner.closing` writes these
        reason=change.reason,
        operator=change.operator,
        happened_at=happened_at,
    )
