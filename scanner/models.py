"""The data model shared by the handheld's database and the central store
(docs/architecture.md, "Data model").

Reference data is keyed by the numbers people use (part number, location code, lot number
within its part), so a movement recorded on one database means the same thing on another.

The ledger (`Movement`) is append-only. `Balance` and `JobLot` are caches derived from it in
the same transaction; `scanner.balance_check` rebuilds them from the ledger alone.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Uuid,
)
from sqlalchemy import text as sql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from scanner.ids import new_movement_id
from scanner.quantity_column import Quantity
from scanner.roles import QUALITY_ROLES as QUALITY_ROLES
from scanner.roles import Role as Role

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Shared column types. Lot and serial numbers follow GS1's (10) and (21): at most 20 characters.
code = Annotated[str, mapped_column(String(40))]
lot_number = Annotated[str, mapped_column(String(20))]
text = Annotated[str, mapped_column(String(200))]
qty = Annotated[Decimal, mapped_column(Quantity())]
timestamp = Annotated[datetime, mapped_column(DateTime(timezone=True))]

NO_LOT = ""
"""The lot (or serial) key of stock that carries none, in the derived tables' keys."""


STORE_ONLY = "store_only"
"""Marks a column (in its `info`) that never leaves the database it is written in: no
change or snapshot of its row carries it (an operator's console password hash)."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


_PARTIAL: list[tuple[Index, str]] = []
_POSTGRESQL: list[bool] = []  # [True] once the PostgreSQL predicates are attached


def partial_index(name: str, *columns: str, where: str) -> Index:
    """An index of the rows `where` holds, on SQLite and on PostgreSQL. SQLite's predicate
    is given here; PostgreSQL's, the same words, is attached when lotscan first makes a
    PostgreSQL engine (`on_postgresql`): given here, it would load SQLAlchemy's PostgreSQL
    dialect on every start of a handheld, which never talks to one (some 40 ms of a
    start that draws its first frame in under half a second)."""
    index = Index(name, *columns, sqlite_where=sql(where))
    _PARTIAL.append((index, where))
    if _POSTGRESQL:
        _give_postgresql_predicate(index, where)
    return index


def on_postgresql() -> None:
    """Gives the partial indexes their PostgreSQL predicates (`partial_index`); those
    declared later get theirs at once. Called by `scanner.db.make_engine`."""
    if not _POSTGRESQL:
        _POSTGRESQL.append(True)
        for index, where in _PARTIAL:
            _give_postgresql_predicate(index, where)


def _give_postgresql_predicate(index: Index, where: str) -> None:
    index.dialect_options["postgresql"]["where"] = sql(where)


class Tracking(StrEnum):
    NONE = "none"
    LOT = "lot"
    SERIAL = "serial"


class LotStatus(StrEnum):
    """A lot's or serial's quality status as stored (docs/architecture.md, "Quality and
    recall"): `active` is what people call released, the default. Expired is not stored:
    it follows from the lot's expiry date (`scanner.quality`)."""

    ACTIVE = "active"
    HOLD = "hold"
    RECALLED = "recalled"


class LotOrigin(StrEnum):
    RECEIVED = "received"
    PRODUCED = "produced"
    ASSIGNED = "assigned"
    SHIPPED = "shipped"
    ADJUSTED = "adjusted"


class SerialStatus(StrEnum):
    IN_STOCK = "in_stock"
    CONSUMED = "consumed"
    SHIPPED = "shipped"
    GONE = "gone"


class JobStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class LineStatus(StrEnum):
    """A purchase- or sales-order line: open, or closed (filled, or short-closed)."""

    OPEN = "open"
    CLOSED = "closed"


class MovementKind(StrEnum):
    RECEIVE = "receive"
    ISSUE = "issue"
    PRODUCE = "produce"
    SHIP = "ship"
    MOVE = "move"
    ADJUST = "adjust"
    REVERSE = "reverse"
    # Goods going back where they came from: a customer's (to a location, `so` optional) or
    # to a supplier (from a location, `po` optional), the lot or serial kept.
    RETURN = "return"


class SyncState(StrEnum):
    """Where a movement stands with the central store (docs/architecture.md, "Sync outcomes").

    A movement this device recorded is `pending` until the store answers; then it takes the
    store's outcome. A movement pulled from the store (another device's) arrives `applied` or
    `flagged`. Held, rejected and voided movements stay in the ledger as a record of the scan
    but do not count towards stock (`EFFECTIVE` is what counts).
    """

    PENDING = "pending"
    APPLIED = "applied"
    FLAGGED = "flagged"
    HELD = "held"
    REJECTED = "rejected"
    VOIDED = "voided"


NOT_EFFECTIVE = (SyncState.HELD.value, SyncState.REJECTED.value, SyncState.VOIDED.value)


class JobLotRole(StrEnum):
    CONSUMED = "consumed"
    PRODUCED = "produced"


def _enum_check(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_valid")


class Part(Base):
    __tablename__ = "parts"
    __table_args__ = (
        _enum_check("tracking", Tracking),
        # A backflush part cannot be lot- or serial-controlled.
        CheckConstraint("NOT backflush OR tracking = 'none'", name="backflush_untracked"),
        CheckConstraint("shelf_life_days IS NULL OR shelf_life_days > 0", name="shelf_life"),
    )

    number: Mapped[code] = mapped_column(primary_key=True)
    description: Mapped[text]
    tracking: Mapped[str] = mapped_column(String(10))
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    backflush: Mapped[bool] = mapped_column(default=False)
    shelf_life_days: Mapped[int | None]
    uom: Mapped[str] = mapped_column(String(10), default="ea")
    lot_pattern: Mapped[str | None] = mapped_column(String(60))


class Location(Base):
    __tablename__ = "locations"

    code: Mapped[code] = mapped_column(primary_key=True)
    name: Mapped[text]
    kind: Mapped[str] = mapped_column(String(20), default="storage")


QUARANTINE = "quarantine"
"""The location kind where a lot on hold may still be moved (and nowhere else)."""


class Operator(Base):
    __tablename__ = "operators"
    __table_args__ = (_enum_check("role", Role),)

    badge: Mapped[code] = mapped_column(primary_key=True)
    name: Mapped[text]
    role: Mapped[str] = mapped_column(String(12), default=Role.FLOOR.value)
    # The console's password, as an Argon2id hash (scanner.passwords); never synced.
    password_hash: Mapped[str | None] = mapped_column(String(200), info={STORE_ONLY: True})


class Lot(Base):
    __tablename__ = "lots"
    __table_args__ = (
        _enum_check("status", LotStatus),
        _enum_check("origin", LotOrigin),
        Index("ix_lots_expiry", "part", "expiry"),
        Index("ix_lots_assigned_job", "assigned_job"),
    )

    part: Mapped[code] = mapped_column(ForeignKey("parts.number"), primary_key=True)
    number: Mapped[lot_number] = mapped_column(primary_key=True)
    expiry: Mapped[date | None] = mapped_column(Date)
    supplier_lot: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default=LotStatus.ACTIVE.value)
    origin: Mapped[str] = mapped_column(String(10))
    assigned_job: Mapped[str | None] = mapped_column(ForeignKey("jobs.number"))
    created_at: Mapped[timestamp]


class Serial(Base):
    __tablename__ = "serials"
    __table_args__ = (
        _enum_check("status", SerialStatus),
        _enum_check("quality_status", LotStatus),
        ForeignKeyConstraint(["part", "lot"], ["lots.part", "lots.number"]),
    )

    part: Mapped[code] = mapped_column(ForeignKey("parts.number"), primary_key=True)
    number: Mapped[lot_number] = mapped_column(primary_key=True)
    lot: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    location: Mapped[str | None] = mapped_column(ForeignKey("locations.code"))
    # Held or recalled on its own (a `LotStatus`), whatever its lot's status; where it is
    # in its life is `status` above.
    quality_status: Mapped[str] = mapped_column(String(10), default=LotStatus.ACTIVE.value)


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"

    number: Mapped[code] = mapped_column(primary_key=True)
    supplier: Mapped[text]
    # What a regulator's or customer's export says of the supplier (FSMA 204's location
    # description, EPCIS's source); optional reference data.
    supplier_address: Mapped[str | None] = mapped_column(String(200))
    supplier_phone: Mapped[str | None] = mapped_column(String(40))
    supplier_gln: Mapped[str | None] = mapped_column(String(13))


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (_enum_check("status", LineStatus),)

    po: Mapped[code] = mapped_column(ForeignKey("purchase_orders.number"), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[code] = mapped_column(ForeignKey("parts.number"))
    qty: Mapped[qty]
    status: Mapped[str] = mapped_column(String(10), default=LineStatus.OPEN.value)


class SalesOrder(Base):
    __tablename__ = "sales_orders"

    number: Mapped[code] = mapped_column(primary_key=True)
    customer: Mapped[text]
    # As the purchase order's supplier columns, for the customer (the next recipient).
    customer_address: Mapped[str | None] = mapped_column(String(200))
    customer_phone: Mapped[str | None] = mapped_column(String(40))
    customer_gln: Mapped[str | None] = mapped_column(String(13))


class SalesOrderLine(Base):
    __tablename__ = "sales_order_lines"
    __table_args__ = (_enum_check("status", LineStatus),)

    so: Mapped[code] = mapped_column(ForeignKey("sales_orders.number"), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[code] = mapped_column(ForeignKey("parts.number"))
    qty: Mapped[qty]
    lot_control: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=LineStatus.OPEN.value)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (_enum_check("status", JobStatus),)

    number: Mapped[code] = mapped_column(primary_key=True)
    part: Mapped[code] = mapped_column(ForeignKey("parts.number"))
    qty: Mapped[qty]
    status: Mapped[str] = mapped_column(String(10), default=JobStatus.OPEN.value)
    # Where the job's work happens: its backflush parts are taken from here first (None:
    # the site's production location).
    location: Mapped[str | None] = mapped_column(ForeignKey("locations.code"))


class JobComponent(Base):
    __tablename__ = "job_components"

    job: Mapped[code] = mapped_column(ForeignKey("jobs.number"), primary_key=True)
    part: Mapped[code] = mapped_column(ForeignKey("parts.number"), primary_key=True)
    qty: Mapped[qty]


class Movement(Base):
    """One physical event, recorded once and never changed (docs/architecture.md,
    "Ledger rules")."""

    __tablename__ = "movements"
    __table_args__ = (
        _enum_check("kind", MovementKind),
        CheckConstraint("qty <> 0", name="qty_nonzero"),
        ForeignKeyConstraint(["part", "lot"], ["lots.part", "lots.number"]),
        ForeignKeyConstraint(
            ["po", "po_line"], ["purchase_order_lines.po", "purchase_order_lines.line"]
        ),
        ForeignKeyConstraint(["so", "so_line"], ["sales_order_lines.so", "sales_order_lines.line"]),
        Index("ix_movements_device_seq", "device_id", "device_seq", unique=True),
        # The kind last: a trace asks for a lot's or a serial's receipts or shipments, and
        # reads only those rows instead of every movement of the lot (scanner.trace).
        Index("ix_movements_part_lot", "part", "lot", "kind"),
        # Partial: most movements carry no serial, and SQLite's planner would otherwise count
        # every NULL as one value and build an automatic index instead of using this one.
        partial_index(
            "ix_movements_part_serial",
            "part",
            "serial",
            "kind",
            where="serial IS NOT NULL",
        ),
        # A recall reads every shipment of thousands of lots and serials: from these small
        # indexes of the shipments alone, each covering what the trace reads (the kind is a
        # column too, or neither planner takes them for the trace's kind = 'ship').
        partial_index(
            "ix_movements_shipped_lot",
            "part",
            "lot",
            "kind",
            "serial",
            "so",
            "qty",
            "id",
            where="kind = 'ship'",
        ),
        partial_index(
            "ix_movements_shipped_serial",
            "part",
            "serial",
            "kind",
            "lot",
            "so",
            "qty",
            "id",
            where="kind = 'ship' AND serial IS NOT NULL",
        ),
        # A recall looks for returns of every node too: these hold the returns alone (few),
        # with what the trace reads of them, so a node with none costs a probe of a tiny
        # index, not of the whole ledger's (part, lot, kind).
        partial_index(
            "ix_movements_returned_lot",
            "part",
            "lot",
            "kind",
            "serial",
            "so",
            "po",
            "to_location",
            "qty",
            "id",
            where="kind = 'return'",
        ),
        partial_index(
            "ix_movements_returned_serial",
            "part",
            "serial",
            "kind",
            "lot",
            "so",
            "po",
            "to_location",
            "qty",
            "id",
            where="kind = 'return' AND serial IS NOT NULL",
        ),
        Index("ix_movements_job", "job"),
        Index("ix_movements_reverses", "reverses", unique=True),
        Index("ix_movements_server_seq", "server_seq", unique=True),
        # The outbox: a device's movements still waiting for the store, in order.
        partial_index(
            "ix_movements_outbox",
            "device_id",
            "device_seq",
            where="sync_state = 'pending'",
        ),
        _enum_check("sync_state", SyncState),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_movement_id)
    device_id: Mapped[str] = mapped_column(String(20))
    device_seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    part: Mapped[code] = mapped_column(ForeignKey("parts.number"))
    lot: Mapped[str | None] = mapped_column(String(20))
    serial: Mapped[str | None] = mapped_column(String(20))
    qty: Mapped[qty]
    from_location: Mapped[str | None] = mapped_column(ForeignKey("locations.code"))
    to_location: Mapped[str | None] = mapped_column(ForeignKey("locations.code"))
    job: Mapped[str | None] = mapped_column(ForeignKey("jobs.number"))
    po: Mapped[str | None] = mapped_column(String(40))
    po_line: Mapped[int | None]
    so: Mapped[str | None] = mapped_column(String(40))
    so_line: Mapped[int | None]
    operator: Mapped[str | None] = mapped_column(ForeignKey("operators.badge"))
    reverses: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("movements.id"))
    reason: Mapped[str | None] = mapped_column(String(200))
    happened_at: Mapped[timestamp]
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Sync (docs/architecture.md, "Sync protocol"): the state of this movement with the
    # central store, the store's number for it once applied (its place in every device's
    # pull), the pull cursor this device had reached when the scan was made (so the store can
    # tell a stale source from a plain shortage), and the store's codes and message when it
    # flagged or held it.
    sync_state: Mapped[str] = mapped_column(String(10), default=SyncState.PENDING.value)
    server_seq: Mapped[int | None] = mapped_column(BigInteger)
    observed_cursor: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str | None] = mapped_column(String(300))


MOVEMENT_STANDING = frozenset({"device_id", "recorded_at", "sync_state", "server_seq", "outcome"})
"""The columns of a movement that are not what its scan said: the device that numbered it
(a push names it once for all its movements), and where the movement stands with the
central store (when the store recorded it, its sync state, the store's number and words)."""

MOVEMENT_FACTS: tuple[str, ...] = tuple(
    column.key for column in Movement.__table__.columns if column.key not in MOVEMENT_STANDING
)
"""What a movement says, as the device that scanned it recorded it: every other column, in
the table's order. The one list of them: a handheld pushes these (`sync.protocol.MovementIn`,
which calls `device_seq` `seq`), and the store's ledger and a handheld pulling another's
movement copy them by these names. A new column is a fact unless it is named in
`MOVEMENT_STANDING`, and then the protocol's tests fail until the wire carries it."""


class Balance(Base):
    """Stock on hand per part, lot or serial and location; a cache of the ledger."""

    __tablename__ = "balances"
    __table_args__ = (Index("ix_balances_location", "location"),)

    part: Mapped[code] = mapped_column(ForeignKey("parts.number"), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20), primary_key=True)
    serial: Mapped[str] = mapped_column(String(20), primary_key=True)
    location: Mapped[code] = mapped_column(ForeignKey("locations.code"), primary_key=True)
    qty: Mapped[qty]


class JobLot(Base):
    """Net quantity of each part, lot or serial a job consumed or produced; a ledger cache.

    The genealogy lives here: what a job consumed is the parent of what it produced. Trace
    walks these rows with one recursive query per direction.
    """

    __tablename__ = "job_lots"
    __table_args__ = (
        _enum_check("role", JobLotRole),
        # Covering (job and qty too): the trace's walk finds the jobs that used or made a
        # node from this index alone, without reading the table.
        Index("ix_job_lots_node", "part", "lot", "serial", "role", "job", "qty"),
        # The other way, a job's rows with their quantities: the walk's next step and a
        # family's relatives, also without reading the table (the primary key lacks qty).
        Index("ix_job_lots_job", "job", "role", "part", "lot", "serial", "qty"),
    )

    job: Mapped[code] = mapped_column(ForeignKey("jobs.number"), primary_key=True)
    role: Mapped[str] = mapped_column(String(10), primary_key=True)
    part: Mapped[code] = mapped_column(ForeignKey("parts.number"), primary_key=True)
    lot: Mapped[str] = mapped_column(String(20), primary_key=True)
    serial: Mapped[str] = mapped_column(String(20), primary_key=True)
    qty: Mapped[qty]


class StatusSubject(StrEnum):
    """What a status change is about, and how its `key` is written."""

    JOB = "job"  # the job's number
    PO_LINE = "po_line"  # "PO|line"
    SO_LINE = "so_line"  # "SO|line"
    LOT = "lot"  # "PART|lot": held, released or recalled (a `LotStatus`)
    SERIAL = "serial"  # "PART|serial"


class StatusChange(Base):
    """A job or an order line closed or reopened, or a lot or serial held, released or
    recalled: who decided, when, why, on which device.

    Like a movement, a record of what someone did, never edited: the subject's status is that
    of its latest change (by `happened_at`), and the others stay as its history. Recorded on
    a handheld it waits (`sync_state` pending) for the next push; the store keeps every
    device's and sends the subject's row, with its status, to every handheld.
    """

    __tablename__ = "status_changes"
    __table_args__ = (
        _enum_check("subject", StatusSubject),
        Index("ix_status_changes_subject", "subject", "key", "happened_at"),
        partial_index("ix_status_changes_outbox", "happened_at", where="sync_state = 'pending'"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_movement_id)
    device_id: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(200))
    operator: Mapped[str | None] = mapped_column(String(40))
    happened_at: Mapped[timestamp]
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sync_state: Mapped[str] = mapped_column(String(10), default=SyncState.PENDING.value)


class Setting(Base):
    """Per-database settings: this device's id, the site's expiry policy, numbering counters."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class ReplayPlace(Base):
    """Where a `lotscan replay` of a transcript got to (scanner.replay): written with each
    scan it ran, in the scan's transaction, and forgotten when the replay ends; a replay
    killed or stopped midway resumes after it."""

    __tablename__ = "replay_places"

    transcript: Mapped[str] = mapped_column(String(1000), primary_key=True)
    """The transcript's absolute path."""
    line: Mapped[int] = mapped_column(Integer)
    """The last line whose scan committed."""
    digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the transcript's inputs up to that line, so a changed file is not resumed."""
    state: Mapped[str] = mapped_column(Text)
    """The handheld's state after that line, as JSON (scanner.workflows.state)."""


class PrintJobStatus(StrEnum):
    WAITING = "waiting"
    PRINTED = "printed"
    DROPPED = "dropped"


class PrintJob(Base):
    """One label on its way to a printer (labels.queue): rendered when it fell due, so what
    prints is what the scan recorded, and kept here until the printer took it. A printer
    that is off or unreachable only leaves the job waiting; a restart changes nothing."""

    __tablename__ = "print_jobs"
    __table_args__ = (
        _enum_check("status", PrintJobStatus),
        # labels.output.LabelFormat; the models cannot import labels (docs/architecture.md,
        # "Layers and arrows").
        CheckConstraint("format IN ('png', 'svg', 'pdf', 'zpl')", name="format_valid"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_print_jobs_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[timestamp]
    printer: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(10))
    layout: Mapped[str] = mapped_column(String(200))
    description: Mapped[text]
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10), default=PrintJobStatus.WAITING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    printed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set while a deliverer is sending the job, so another one leaves it alone.
    sending_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
