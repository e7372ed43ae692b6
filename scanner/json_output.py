"""Records as the JSON that scripts read (docs/architecture.md, "JSON shapes"): field for
field, quantities as numbers; and `print_json`, the one way a command writes it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from scanner.quantity import json_quantity

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def print_json(value: Any) -> None:
    """`value` on standard output as indented JSON. ASCII only: every control character
    (C0, DEL, C1) and every bidirectional override a stored value may still hold is
    written as a `\\u` escape, so `--json` output cannot drive a terminal either
    (docs/architecture.md, "Text at the doors")."""
    json.dump(value, sys.stdout, indent=2, ensure_ascii=True)
    sys.stdout.write("\n")


def print_json_list(rows: Iterable[Any]) -> None:
    """`rows` as `print_json` writes a list of them, each written as it comes: a list of
    tens of thousands is never held whole."""
    out = sys.stdout
    first = True
    for row in rows:
        text = json.dumps(row, indent=2, ensure_ascii=True).replace("\n", "\n  ")
        out.write(("[\n  " if first else ",\n  ") + text)
        first = False
    out.write("[]\n" if first else "\n]\n")


def json_record(record: DataclassInstance) -> dict[str, Any]:
    """The record's fields in order; a Decimal becomes a JSON number, None stays null, and a
    tuple of records a list of objects."""
    return {field.name: _json_value(getattr(record, field.name)) for field in fields(record)}


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return json_quantity(value)
    if isinstance(value, tuple | list):
        return [_json_value(each) for each in value]
    if is_dataclass(value) and not isinstance(value, type):
        return json_record(value)
    return value
