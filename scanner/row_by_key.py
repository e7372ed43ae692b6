"""Rows by primary key as `Session.get` finds them, for a fraction of its cost per call.

A scan reads a handful of rows by key (its part, lot, serial, job) and the handheld commits it
before the operator's next scan, so these lookups are a visible share of the scan's time.
`Session.get` builds, caches-keys and compiles a new statement on every call that misses the
identity map, and an ORM query that loads one row costs several times the SQL it runs. `find`
reads the row's columns with one prepared statement per model (`scanner.cursor_statements`) and puts
the object into the session as if the query had loaded it; it goes through `Session.get`
only when the session already holds the object, which then costs nothing. The answer is the
same object either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, inspect, select
from sqlalchemy.orm import Mapper, Session, configure_mappers
from sqlalchemy.orm.base import instance_state

from scanner.cursor_statements import Prepared

Row = TypeVar("Row")


@dataclass(frozen=True)
class _ByKey:
    mapper: Mapper[Any]
    attributes: tuple[str, ...]
    """The mapped attribute of each column the statement reads, in its order."""
    key_attributes: tuple[str, ...]
    """The mapped attribute of each primary-key column, in the key's order."""
    statement: Prepared


_BY_KEY: dict[type[Any], _ByKey] = {}


def find(session: Session, model: type[Row], key: object) -> Row | None:
    """`session.get(model, key)`: the row with that primary key (a tuple for a composite
    key, in the table's key order), or None."""
    by_key = _by_key(model)
    values = key if isinstance(key, tuple) else (key,)
    session.flush()  # as a query would (autoflush): a pending object with this key counts
    held = session.identity_map.get(by_key.mapper.identity_key_from_primary_key(values))
    if held is not None:
        # What `Session.get` answers for an object it holds, in its own words when the
        # object was expired (it reads it again, and answers None if it is gone).
        return held if not inspect(held).expired else session.get(model, key)
    found = by_key.statement.first(session, {f"key_{i}": value for i, value in enumerate(values)})
    if found is None:
        return None
    return as_loaded(session, model, dict(zip(by_key.attributes, found, strict=True)))


def as_loaded(session: Session, model: type[Row], values: Mapping[str, Any]) -> Row:
    """An object of `model` with these column values (every column's), held by the session
    as if a query had just loaded it: persistent, with no changes to flush. Made as the ORM's
    loader makes a loaded object (`sqlalchemy.orm.loading`): a new instance without the
    constructor, its identity key set and its state put straight into the identity map.
    The constructor's attribute events (the history of each value) cost more than the row's
    INSERT or SELECT, and `Session.add` of a detached object (its cascades, its attach
    events) as much again. Only column attributes: these models have no relationships. An
    object of that key the session already holds is answered instead, as a query would."""
    by_key = _by_key(model)
    identity = by_key.mapper.identity_key_from_primary_key(
        tuple(values[name] for name in by_key.key_attributes)
    )
    held = session.identity_map.get(identity)
    if held is not None:
        found: Row = held
        return found
    row: Row = by_key.mapper.class_manager.new_instance()
    vars(row).update(values)
    state = instance_state(row)
    state.key = identity
    state.session_id = session.hash_key
    session.identity_map._add_unpresent(state, identity)
    return row


def _by_key(model: type[Any]) -> _ByKey:
    known = _BY_KEY.get(model)
    if known is None:
        configure_mappers()  # as a first query would: an object made without one needs it
        mapper = inspect(model)
        columns = [column for column in mapper.local_table.columns]
        matches = [column == bindparam(f"key_{i}") for i, column in enumerate(mapper.primary_key)]
        known = _BY_KEY[model] = _ByKey(
            mapper=mapper,
            attributes=tuple(mapper.get_property_by_column(column).key for column in columns),
            key_attributes=tuple(
                mapper.get_property_by_column(column).key for column in mapper.primary_key
            ),
            statement=Prepared(select(*columns).where(and_(*matches))),
        )
    return known
