"""The central store's own tables: devices, enrollment, what each device pushed, exceptions,
and the change log devices pull from (docs/architecture.md, "Data model").

They share `scanner.models.Base`, so one migration chain (scanner/migrations) creates them
in every database; on a handheld they stay empty.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from scanner.models import Base, _enum_check, partial_index
from sync.exception_codes import ExceptionCode


class DeviceStatus(StrEnum):
    PENDING = "pending"  # a code was issued; the device has not enrolled yet
    ACTIVE = "active"
    REVOKED = "revoked"


class DeviceRole(StrEnum):
    HANDHELD = "handheld"
    SUPERVISOR = "supervisor"


class Outcome(StrEnum):
    """What the store did with a pushed movement (docs/architecture.md, "Sync outcomes")."""

    APPLIED = "applied"
    FLAGGED = "flagged"  # applied, with an exception for a supervisor
    HELD = "held"  # recorded, not applied, until master data arrives or a supervisor decides
    REJECTED = "rejected"  # a protocol violation: never applied
    VOIDED = "voided"  # a held movement a supervisor decided not to apply


class ExceptionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    AUTO_CLEARED = "auto_cleared"


class Device(Base):
    """An enrolled handheld (or a supervisor's terminal), with what it last reported."""

    __tablename__ = "sync_devices"
    __table_args__ = (
        _enum_check("status", DeviceStatus),
        _enum_check("role", DeviceRole),
        Index("ix_sync_devices_token_hash", "token_hash", unique=True),
    )

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(12), default=DeviceRole.HANDHELD.value)
    status: Mapped[str] = mapped_column(String(10), default=DeviceStatus.PENDING.value)
    # sha256 of the bearer token; the token itself is never stored here.
    token_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who revoked it, as the history names people: a supervisor's device, the console's
    # operator, or the central machine's user.
    revoked_by: Mapped[str | None] = mapped_column(String(80))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_push_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_pull_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_applied_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # What the device said about its own queue in its last request.
    queue_depth: Mapped[int | None] = mapped_column(Integer)
    max_local_seq: Mapped[int | None] = mapped_column(BigInteger)
    oldest_pending_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Device clock minus store clock at its last request, in seconds; recorded, never trusted.
    clock_offset: Mapped[int | None] = mapped_column(Integer)
    app_version: Mapped[str | None] = mapped_column(String(40))


class EnrollmentCode(Base):
    """A one-time code a supervisor hands to a device; only its hash is kept. The role it
    was issued for is the device's once it is redeemed, not before."""

    __tablename__ = "sync_enrollment_codes"
    __table_args__ = (_enum_check("role", DeviceRole),)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("sync_devices.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    role: Mapped[str] = mapped_column(String(12), default=DeviceRole.HANDHELD.value)
    issued_by: Mapped[str | None] = mapped_column(String(80))


class DeviceRoleChange(Base):
    """A device's role changed: by redeeming a code issued for another role, or by a
    supervisor's explicit command. Who, when and how, for the supervisors' view."""

    __tablename__ = "sync_device_roles"
    __table_args__ = (
        _enum_check("role", DeviceRole),
        Index("ix_sync_device_roles_device", "device_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("sync_devices.id"))
    role: Mapped[str] = mapped_column(String(12))
    was: Mapped[str] = mapped_column(String(12))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str] = mapped_column(String(80))
    how: Mapped[str] = mapped_column(String(200))


class SyncEntry(Base):
    """Every movement a device pushed, as it was pushed, with the store's outcome.

    Applied and flagged entries are also in the ledger (`movements`, same id); held and
    voided ones are only here, so the ledger never holds a movement that does not count.
    """

    __tablename__ = "sync_entries"
    __table_args__ = (
        _enum_check("status", Outcome),
        Index("ix_sync_entries_movement_id", "movement_id", unique=True),
        Index("ix_sync_entries_status", "status"),
    )

    device_id: Mapped[str] = mapped_column(ForeignKey("sync_devices.id"), primary_key=True)
    device_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    movement_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    payload: Mapped[str] = mapped_column(Text)
    payload_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))
    codes: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(String(300), default="")
    # The change that last told devices about this entry's outcome.
    change_seq: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SyncException(Base):
    """Something a supervisor should look at: a flagged or held movement, or an alert."""

    __tablename__ = "sync_exceptions"
    __table_args__ = (
        _enum_check("code", ExceptionCode),
        _enum_check("status", ExceptionStatus),
        ForeignKeyConstraint(
            ["device_id", "device_seq"], ["sync_entries.device_id", "sync_entries.device_seq"]
        ),
        partial_index(
            "ix_sync_exceptions_open",
            "part",
            "lot",
            "serial",
            "location",
            where="status = 'open'",
        ),
        # A page of the list: the exceptions grouped under no summary (or one), by id.
        Index("ix_sync_exceptions_summary", "summary_id", "id"),
        Index("ix_sync_exceptions_device_opened", "device_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str | None] = mapped_column(String(20))
    device_seq: Mapped[int | None] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(String(300))
    part: Mapped[str | None] = mapped_column(String(40))
    lot: Mapped[str | None] = mapped_column(String(20))
    serial: Mapped[str | None] = mapped_column(String(20))
    location: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default=ExceptionStatus.OPEN.value)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(String(300))
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    # Opened past its device's cap per minute: grouped under this summary exception, which
    # the supervisors' list shows in its place until the summary closes (then None).
    summary_id: Mapped[int | None] = mapped_column(ForeignKey("sync_exceptions.id"))


class SyncRejection(Base):
    """A pushed movement the store refused outright (a protocol violation), kept as sent."""

    __tablename__ = "sync_rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(20))
    device_seq: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SyncClock(Base):
    """The store's one counter. Taking a number locks this row until the transaction ends,
    so numbers are handed out in commit order and the pull cursor never skips a change."""

    __tablename__ = "sync_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


class Change(Base):
    """One thing devices must learn, numbered by `SyncClock`: reference data, a lot's status,
    a movement and its outcome. Pulls page through these by number."""

    __tablename__ = "sync_changes"
    # Publishing reference data compares each row with its last published change.
    __table_args__ = (Index("ix_sync_changes_kind_key", "kind", "key", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
