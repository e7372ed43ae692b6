"""Console passwords, kept only as Argon2id hashes (argon2-cffi's `PasswordHasher`, with
its defaults: the OWASP recommendation). argon2 is imported when a password is first
hashed or checked, so that starting the CLI or the handheld does not load it."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.orm import Session

from scanner.errors import LotscanError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from scanner.models import Operator

SHORTEST = 12
"""The fewest characters a console password may have."""
LONGEST = 1000
"""The most characters a console password may have: the sign-in form takes no more."""


def refuse_weak(password: str) -> None:
    """`LotscanError` saying why `password` will not do: empty, shorter than `SHORTEST` or
    longer than `LONGEST`."""
    if not password:
        raise LotscanError("The password is empty: give one of 12 characters or more")
    if len(password) < SHORTEST:
        raise LotscanError(
            f"The password has {len(password)} characters: give one of {SHORTEST} or more"
        )
    if len(password) > LONGEST:
        raise LotscanError(
            f"The password has {len(password)} characters: the console's sign-in takes at most"
            f" {LONGEST}"
        )


def hash_password(password: str) -> str:
    """The Argon2id hash of `password`, with its own salt and parameters, to store."""
    return _hasher().hash(password)


def password_matches(stored: str, password: str) -> bool:
    """Whether `password` is the one `stored` (a `hash_password` result) was made from."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


def set_password(session: Session, badge: str, password: str, now: datetime) -> Operator:
    """Gives the operator of `badge` the console password `password` (kept as its hash),
    in the caller's transaction, and ends the console sessions they had: whoever knew the
    old password is signed out. Refuses a weak password, an unknown badge and a floor
    operator, who never signs in to the console."""
    from scanner.models import QUALITY_ROLES, Operator

    operator = session.get(Operator, badge)
    if operator is None:
        raise LotscanError(f"No operator has badge {badge!r}: lotscan operators list shows them")
    if operator.role not in QUALITY_ROLES:
        raise LotscanError(
            f"{operator.name} (badge {operator.badge}) is a {operator.role} operator: only"
            " supervisors and quality staff sign in to the console"
        )
    refuse_weak(password)
    operator.password_hash = hash_password(password)
    end_sessions_of(session, badge, now)
    return operator


def end_sessions_of(session: Session, badge: str, now: datetime) -> None:
    """Ends every console session of `badge` still open. The console's table is named, not
    imported: the domain never imports the console (pyproject.toml's contracts)."""
    ending = text(
        "UPDATE console_sessions SET ended_at = :now WHERE badge = :badge AND ended_at IS NULL"
    ).bindparams(bindparam("now", type_=DateTime(timezone=True)))
    session.execute(ending, {"now": now, "badge": badge})
