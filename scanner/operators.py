"""The people who may sign in, one added at a time (`lotscan operators add`): a fresh
workspace has nobody until an operator is added here or imported from the ERP.

A badge is scanned as `OP:<badge>`, so it is checked as a scanner would send it: printable
ASCII without spaces, as long as the column holds. A name is any text without line breaks
or control characters, as long as its column holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, func, select
from sqlalchemy.orm import Session

from scanner.errors import RuleViolation
from scanner.models import Operator, Role
from scanner.plain_text import quoted
from scanner.row_by_key import find


def _length(column: str) -> int:
    kind = Operator.__table__.c[column].type
    assert isinstance(kind, String) and kind.length is not None
    return kind.length


BADGE_LENGTH = _length("badge")
NAME_LENGTH = _length("name")
_SHOWN = 24


def add_operator(
    session: Session,
    badge: str,
    name: str,
    *,
    supervisor: bool = False,
    role: Role | None = None,
) -> Operator:
    """A new operator, a floor operator unless `role` (or `supervisor`) says otherwise;
    refuses a badge already given to someone."""
    badge, name = checked_badge(badge), checked_name(name)
    existing = find(session, Operator, badge)
    if existing is not None:
        raise RuleViolation(f"Badge {badge} is already {existing.name}'s ({existing.role})")
    refuse_badge_twin(session, badge)
    if role is None:
        role = Role.SUPERVISOR if supervisor else Role.FLOOR
    elif supervisor and role != Role.SUPERVISOR:
        raise RuleViolation(f"--supervisor and role {role.value} disagree: give one of them")
    operator = Operator(badge=badge, name=name, role=role.value)
    session.add(operator)
    session.flush()
    return operator


def badge_spelled_otherwise(session: Session, badge: str) -> Operator | None:
    """The operator whose badge is `badge` in another case (`B1001` for `b1001`), if any:
    typed by hand, a badge may come in the other case; it is matched exactly."""
    return session.scalars(
        select(Operator)
        .where(func.lower(Operator.badge) == badge.lower(), Operator.badge != badge)
        .order_by(Operator.badge)
        .limit(1)
    ).first()


def refuse_badge_twin(session: Session, badge: str) -> None:
    """Refuses a new badge that differs from someone's only in case: a person reading or
    typing it could not tell the two apart, and a sign-in typed in the wrong case would
    name the other person."""
    twin = badge_spelled_otherwise(session, badge)
    if twin is not None:
        raise RuleViolation(
            f"Badge {badge} differs from {twin.badge} ({twin.name}'s) only in case: give a"
            " badge of its own"
        )


def list_operators(session: Session) -> Sequence[Operator]:
    return session.scalars(select(Operator).order_by(Operator.badge)).all()


def has_operators(session: Session) -> bool:
    """Whether anyone at all can sign in."""
    return session.scalar(select(Operator.badge).limit(1)) is not None


def checked_badge(badge: str) -> str:
    badge = badge.strip()
    if not badge:
        raise RuleViolation("The badge is empty: give the number on the badge")
    if len(badge) > BADGE_LENGTH:
        raise RuleViolation(
            f"The badge {_shown(badge)} is {len(badge)} characters; at most {BADGE_LENGTH} fit"
        )
    odd = next((ch for ch in badge if not ("!" <= ch <= "~")), None)
    if odd is not None:
        raise RuleViolation(
            f"The badge {_shown(badge)} holds {_named(odd)}: a badge is scanned as OP:<badge>,"
            " so it holds letters, digits and signs such as - or /, and no spaces"
        )
    if badge.startswith("-"):
        # `lotscan operators password -x1` read it as an option, and could not name it.
        raise RuleViolation(
            f"The badge {_shown(badge)} starts with -, which a command reads as an option:"
            " start it with a letter or digit"
        )
    return badge


def checked_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise RuleViolation("The name is empty: give the operator's name")
    if len(name) > NAME_LENGTH:
        raise RuleViolation(
            f"The name {_shown(name)} is {len(name)} characters; at most {NAME_LENGTH} fit"
        )
    odd = next((ch for ch in name if not ch.isprintable()), None)
    if odd is not None:
        raise RuleViolation(
            f"The name {_shown(name)} holds {_named(odd)}: a name is one line of text"
        )
    return name


def _named(ch: str) -> str:
    if ch == " ":
        return "a space"
    if ch.isprintable():
        return f"the character {ch}"
    return f"the control character U+{ord(ch):04X}"


def _shown(value: str) -> str:
    return quoted(value, _SHOWN)
