"""The extremes of each kind of value a sync request carries, for the tests that feed them
to the service (tests/sync/central/test_sync_extremes.py, test_sync_push_property.py): the
ends of a field's range and one past them, the ends of what Python and the databases hold,
the wrong JSON type, text a terminal or a database chokes on. A field's kind is read from
the service's own JSON schema, so a field added to a body is fed without a change here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

TIMES = [
    "1900-01-01T00:00:00Z",
    "1899-12-31T23:59:59.999999Z",
    "2999-12-31T23:59:59.999999Z",
    "3000-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999Z",
    "2026-11-02T08:30:00",
    "2026-11-02T08:30:00-23:59",
    "2026-02-30T08:30:00Z",
    1_700_000_000,
    "",
]
DATES = ["1900-01-01", "2999-12-31", "0001-01-01", "9999-12-31", "2026-02-30", 20261102, ""]
WHOLES = [
    -1, 0, 1, 2**31 - 1, 2**31, 2**62, 2**63 - 1, 2**63, 2**64, -(2**63) - 1,
    10**30, True, 1.5, 1e300, "1",
]  # fmt: skip
QUANTITIES = [
    "999999999999.999", "-999999999999.999", "1000000000000", "0", "0.001", "0.0001",
    "1E+3", "1e400", "NaN", "-Infinity", "9" * 100, 1e308, 5e-324, 0.1, True, "1_000",
    "\u0661\u0660",
]  # fmt: skip
UUIDS = ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "x", 0]
FLAGS = [True, False, 1, "true"]
TEXT_EVERYWHERE = [
    "", " ", "\x00", "\x1b]0;owned\x07", "\x1b[2J", "\u202e", "\ud800", "\U0001f600" * 300,
    "İ" * 300, "x" * 10_000, 12, [], {},
]  # fmt: skip


def _texts(limit: int | None) -> list[Any]:
    """Text at and one past the field's own length limit, beside what any text field meets."""
    sized = ["x" * limit, "x" * (limit + 1), "\U0001f600" * limit] if limit else []
    return sized + TEXT_EVERYWHERE


def extremes(prop: dict[str, Any]) -> list[Any]:
    """The values a field of this JSON schema is fed: its kind's extremes, and null."""
    options = [option for option in prop.get("anyOf", [prop]) if option.get("type") != "null"]
    kind = options[0] if len(options) == 1 else {"anyOf": options}
    values: list[Any]
    if "enum" in kind:
        values = [*kind["enum"], "other", "", 1]
    elif kind.get("format") == "date-time":
        values = TIMES
    elif kind.get("format") == "date":
        values = DATES
    elif kind.get("format") == "uuid":
        values = UUIDS
    elif kind.get("type") == "integer":
        values = WHOLES
    elif kind.get("type") == "boolean":
        values = FLAGS
    elif kind.get("type") == "string":
        values = _texts(kind.get("maxLength"))
    elif "anyOf" in kind:  # a decimal: a JSON number or its text
        values = QUANTITIES
    else:
        raise AssertionError(f"no extremes for a field of schema {prop}")
    return [*values, None]


def fields(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """The model's fields as its JSON schema gives them."""
    properties: dict[str, dict[str, Any]] = model.model_json_schema()["properties"]
    return properties


LISTS = {"movements", "status_changes"}
"""The lists of bodies a push carries: their fields are fed one by one."""


def each_extreme(model: type[BaseModel]) -> Iterator[tuple[str, Any]]:
    for name, prop in fields(model).items():
        if name in LISTS:
            continue
        for value in extremes(prop):
            yield name, value
