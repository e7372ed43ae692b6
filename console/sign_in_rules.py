"""Who may sign in to the console, and how often they may try (docs/architecture.md,
"Office console"). Every try is recorded in `console_sign_ins` with what became of it;
the person at the form reads one refusal for every reason but a wait or a lock, so the form
never tells a badge that exists from one that does not.

Per badge (typed, known or not), counting the tries whose password was checked and failed:
after `SLOW_AFTER` failures within `WINDOW`, each further try must wait a little longer
after the last failure; after `LOCK_AFTER` failures within `WINDOW`, the badge is locked
for `LOCK_FOR` after its last failure, and even the right password is refused.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import ConsoleSignIn, SignInOutcome
from scanner.clock import aware
from scanner.models import QUALITY_ROLES, Operator
from scanner.passwords import LONGEST, hash_password, password_matches

WINDOW = timedelta(minutes=15)
SLOW_AFTER = 3
LOCK_AFTER = 10
LOCK_FOR = timedelta(minutes=15)
WAIT_STEP = timedelta(seconds=5)
"""The wait after the last failure grows by this much with each failure past `SLOW_AFTER`
(5 s after the third, 10 s after the fourth...)."""
LONGEST_BADGE = 40  # operators.badge

NOT_RECOGNISED = "Badge or password not recognised"

_CHECKED_FAILURES = (
    SignInOutcome.UNKNOWN_BADGE,
    SignInOutcome.NO_PASSWORD,
    SignInOutcome.WRONG_PASSWORD,
    SignInOutcome.NOT_CONSOLE_ROLE,
)


@dataclass(frozen=True)
class Attempt:
    """What became of a try: `outcome`; for a wait or a lock, until when (`retry_at`)."""

    badge: str
    outcome: SignInOutcome
    retry_at: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome is SignInOutcome.SIGNED_IN

    def message(self, now: datetime) -> str:
        """The words the sign-in form shows for this try."""
        if self.outcome is SignInOutcome.LOCKED and self.retry_at is not None:
            until = self.retry_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            return f"Badge {self.badge} is locked after too many failed sign-ins, until {until}"
        if self.outcome is SignInOutcome.THROTTLED:
            return (
                "Too many failed sign-ins for this badge: wait"
                f" {self.wait_seconds(now)} seconds and try again"
            )
        return NOT_RECOGNISED

    def wait_seconds(self, now: datetime) -> int:
        """Whole seconds until another try is checked (at least 1)."""
        if self.retry_at is None:
            return 0
        return max(1, math.ceil((self.retry_at - now).total_seconds()))


def try_sign_in(
    session: Session, badge: str, password: str, now: datetime, address: str | None
) -> Attempt:
    """Checks a try at signing in as `badge` with `password` and records it, in the caller's
    transaction."""
    badge = badge.strip()[:LONGEST_BADGE]
    attempt = _held_back(session, badge, now) or _checked(session, badge, password[: LONGEST + 1])
    session.add(
        ConsoleSignIn(
            badge=badge,
            at=now,
            succeeded=attempt.succeeded,
            address=address[:80] if address else None,
            reason=attempt.outcome.value,
        )
    )
    return attempt


def _held_back(session: Session, badge: str, now: datetime) -> Attempt | None:
    """A lock or a wait on `badge` at `now`, if one holds."""
    failures = [
        aware(at)
        for at in session.scalars(
            select(ConsoleSignIn.at)
            .where(
                ConsoleSignIn.badge == badge,
                ConsoleSignIn.at > now - WINDOW - LOCK_FOR,
                ConsoleSignIn.reason.in_([each.value for each in _CHECKED_FAILURES]),
            )
            .order_by(ConsoleSignIn.at)
        )
    ]
    if not failures:
        return None
    last = failures[-1]
    if sum(1 for at in failures if at > last - WINDOW) >= LOCK_AFTER and now < last + LOCK_FOR:
        return Attempt(badge, SignInOutcome.LOCKED, last + LOCK_FOR)
    recent = sum(1 for at in failures if at > now - WINDOW)
    if recent >= SLOW_AFTER:
        wait_until = last + WAIT_STEP * (recent - SLOW_AFTER + 1)
        if now < wait_until:
            return Attempt(badge, SignInOutcome.THROTTLED, wait_until)
    return None


def _checked(session: Session, badge: str, password: str) -> Attempt:
    """The password checked: always once, even for a badge nobody has, so that the time an
    answer takes does not tell either."""
    operator = session.get(Operator, badge) if badge else None
    stored = operator.password_hash if operator is not None else None
    matches = password_matches(stored or _stand_in_hash(), password)
    if operator is None:
        return Attempt(badge, SignInOutcome.UNKNOWN_BADGE)
    if stored is None:
        return Attempt(badge, SignInOutcome.NO_PASSWORD)
    if not matches:
        return Attempt(badge, SignInOutcome.WRONG_PASSWORD)
    if operator.role not in QUALITY_ROLES:
        return Attempt(badge, SignInOutcome.NOT_CONSOLE_ROLE)
    return Attempt(badge, SignInOutcome.SIGNED_IN)


@functools.cache
def _stand_in_hash() -> str:
    return hash_password("no operator has this password")
