"""The console's own tables: who is signed in (`console_sessions`) and every try at signing
in (`console_sign_ins`), docs/architecture.md, "Office console".

They share `scanner.models.Base`, so the one migration chain (scanner/migrations, 0011)
creates them in every database; only the central store's are ever written.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from scanner.models import Base, _enum_check, timestamp


class SignInOutcome(StrEnum):
    """What became of a try at signing in, as `console_sign_ins.reason` keeps it. The person
    at the form reads the same words for every refusal but a lock."""

    SIGNED_IN = "signed_in"
    UNKNOWN_BADGE = "unknown_badge"
    NO_PASSWORD = "no_password"  # the operator has none set (lotscan operators password)
    WRONG_PASSWORD = "wrong_password"
    NOT_CONSOLE_ROLE = "not_console_role"  # a floor operator, right password or not
    THROTTLED = "throttled"  # too soon after the last failure: not checked
    LOCKED = "locked"  # too many failures: not checked


class ConsoleSession(Base):
    """A browser signed in as `badge`: `id` is the SHA-256 of the token in its cookie (the
    token itself is never stored). Ended on sign-out, when its operator's password or role
    changes, or once unused for `console.idle_minutes`."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_badge", "badge"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    badge: Mapped[str] = mapped_column(ForeignKey("operators.badge"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[timestamp]
    last_used_at: Mapped[timestamp]
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(String(80))


class ConsoleSignIn(Base):
    """One try at signing in, whether it went through or not. `badge` is what was typed, not
    a reference to an operator: a badge nobody has is recorded too."""

    __tablename__ = "console_sign_ins"
    __table_args__ = (
        _enum_check("reason", SignInOutcome),
        Index("ix_console_sign_ins_badge", "badge", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    badge: Mapped[str] = mapped_column(String(40))
    at: Mapped[timestamp]
    succeeded: Mapped[bool] = mapped_column(Boolean)
    address: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(20))
