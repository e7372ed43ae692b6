"""Console sessions (docs/architecture.md, "Office console"): a random token in the
`lotscan_console` cookie, kept on the store only as its SHA-256 (`console_sessions.id`)
with its operator, its CSRF token and when it was last used.

A session holds while its operator may still use the console: it ends on sign-out, once
unused for `console.idle_minutes`, when its operator's password is changed or cleared
(`scanner.passwords.set_password`), and when the operator is no longer a supervisor or
quality staff (checked on every request). The console reads only its cookie: an
`Authorization` header (a device token) is never a session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy.orm import Session

from console.guard import SignedIn
from console.models import ConsoleSession
from console.writes import writing
from scanner.clock import aware
from scanner.db import reading
from scanner.models import QUALITY_ROLES, Operator
from scanner.settings import CONSOLE_IDLE_MINUTES, read_setting

COOKIE = "lotscan_console"
TOUCH_EVERY = timedelta(minutes=1)
"""How stale `last_used_at` may get before a request writes it again (or half the idle
limit, when that is shorter): a page's every request would otherwise be a write."""
REFRESH_HEADER = "X-Lotscan-Refresh"
"""Sent by a page refreshing itself (static/refresh.js): not a person using the console,
so it never keeps a session from ending unused."""


def token_id(token: str) -> str:
    """The session id of the cookie's `token`: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, badge: str, now: datetime, address: str | None) -> str:
    """A new session of `badge`, in the caller's transaction; returns the token for the
    cookie (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id=token_id(token),
            badge=badge,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_used_at=now,
            address=address,
        )
    )
    return token


def end_session(session: Session, session_id: str, now: datetime) -> None:
    """Ends the session `session_id` (signing out), if it is still open."""
    row = session.get(ConsoleSession, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = now


def session_of(request: Request) -> SignedIn | None:
    """The signed-in operator of `request`'s session cookie, or None: no cookie, a token the
    store does not know, or a session that has ended (or ends now: idle too long, or its
    operator may no longer use the console). Worked out once per request."""
    if hasattr(request.state, "console_who"):
        found: SignedIn | None = request.state.console_who
        return found
    found = _looked_up(request)
    request.state.console_who = found
    return found


def _looked_up(request: Request) -> SignedIn | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 100:
        return None
    store = request.app.state.store
    now: datetime = store.clock()
    session_id = token_id(token)
    refreshing = bool(request.headers.get(REFRESH_HEADER))
    with reading(store.sessions) as session:
        verdict = _verdict(session, session_id, now, in_use=not refreshing)
    if isinstance(verdict, SignedIn):
        return verdict
    if verdict == "end":
        with writing(request) as session:
            end_session(session, session_id, now)
        return None
    if verdict == "touch":
        with writing(request) as session:
            row = session.get(ConsoleSession, session_id)
            if row is None or row.ended_at is not None:
                return None  # signed out meanwhile
            row.last_used_at = now
            return _who(session, row)
    return None


def _verdict(
    session: Session, session_id: str, now: datetime, *, in_use: bool = True
) -> SignedIn | str | None:
    """What the session `session_id` stands for at `now`: who (still fresh, or not `in_use`:
    a page refreshing itself), "touch" (in use, `last_used_at` to be written), "end" (to be
    ended now) or None (none, or ended)."""
    row = session.get(ConsoleSession, session_id)
    if row is None or row.ended_at is not None:
        return None
    operator = session.get(Operator, row.badge)
    if operator is None or operator.role not in QUALITY_ROLES or operator.password_hash is None:
        return "end"
    idle = now - aware(row.last_used_at)
    limit = timedelta(minutes=read_setting(session, CONSOLE_IDLE_MINUTES))
    if idle > limit:
        return "end"
    if in_use and idle >= min(TOUCH_EVERY, limit / 2):
        return "touch"
    return _who(session, row)


def _who(session: Session, row: ConsoleSession) -> SignedIn:
    operator = session.get_one(Operator, row.badge)
    return SignedIn(
        badge=operator.badge,
        name=operator.name,
        role=operator.role,
        session_id=row.id,
        csrf_token=row.csrf_token,
    )
