"""Settings kept in the database itself, so a `--db URL` carries everything it needs.

`device_id` names this database's device in the ledger and in minted lot numbers; it is made
once, at random, and never changes. `expiry_policy` is the site's answer to an expired lot at
issue or shipping: warn (the default), block or ignore.
"""

from __future__ import annotations

import secrets
from enum import StrEnum

from sqlalchemy.orm import Session

from scanner.errors import RuleViolation
from scanner.models import Setting

# Crockford's base32 without I, L, O and U: nothing to misread on a label.
_DEVICE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class ExpiryPolicy(StrEnum):
    WARN = "warn"
    BLOCK = "block"
    IGNORE = "ignore"


def get_setting(session: Session, key: str) -> str | None:
    row = session.get(Setting, key)
    return row.value if row else None


def put_setting(session: Session, key: str, value: str) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
    session.flush()


DEVICE_ID = "device_id"


def device_id(session: Session) -> str:
    """This database's device id, made on first use: four characters such as `H7KQ`."""
    value = get_setting(session, DEVICE_ID)
    if value is None:
        value = "".join(secrets.choice(_DEVICE_ALPHABET) for _ in range(4))
        put_setting(session, DEVICE_ID, value)
    return value


PULL_CURSOR = "sync.pull_cursor"


def pull_cursor(session: Session) -> int | None:
    """How far this device has pulled from the central store (None: never pulled)."""
    return cursor_value(get_setting(session, PULL_CURSOR))


def cursor_value(value: str | None) -> int | None:
    return int(value) if value is not None else None


SEQ_FLOOR = "sync.seq_floor"
"""The last number the central store has from this device id, as enrollment told it: a
replacement handheld enrolled under a broken one's name numbers its movements after the old
one's, even those the store held (which never reach this ledger)."""


def seq_floor(session: Session) -> int:
    return int(get_setting(session, SEQ_FLOOR) or 0)


def put_seq_floor(session: Session, last: int) -> None:
    """This device numbers its next movement after `last`, or after the last in its ledger
    when that is higher. Exactly the store's number, never more: a number skipped would be
    a gap the store waits on."""
    put_setting(session, SEQ_FLOOR, str(last))


def expiry_policy(session: Session) -> ExpiryPolicy:
    return ExpiryPolicy(get_setting(session, "expiry_policy") or ExpiryPolicy.WARN)


def set_expiry_policy(session: Session, policy: str) -> None:
    try:
        chosen = ExpiryPolicy(policy)
    except ValueError:
        raise RuleViolation(f"Expiry policy {policy!r} is not one of warn, block, ignore") from None
    put_setting(session, "expiry_policy", chosen.value)
