"""A handheld's state as JSON and back: who is signed in, the workflow running with its line
in progress, and the one last finished (for CMD:UNDO).

`lotscan replay` keeps it with each scan, in the scan's transaction, so a replay killed
midway resumes at the next line as if it had never stopped (docs/architecture.md,
"Transcripts"). A workflow keeps its state in plain values (`Workflow`), so the form is
generic: plain JSON for str, int, bool, None and lists; a tagged object for a Decimal, a
date, a tuple, an enum and an object. Only classes defined in the engine's own modules are
made again, and without running their `__init__`: text from a database never names code.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from scanner.errors import LotscanError
from scanner.workflows.engine import Handheld

KEPT_UNDO_LINES = 50
"""How many recorded lines of each workflow the state keeps for CMD:UNDO. The state is
written with every scan: keeping every line of a long shift would make each write longer
than the last, and no one undoes fifty lines one by one."""

_CLASS_MODULES = ("scanner.scan", "scanner.workflows.")
_ENUM_MODULES = ("scanner.",)  # the models' enums too (Tracking)
_TAG = "$"


class StateError(LotscanError):
    """A state that does not read back: written by another version of lotscan."""


def handheld_state(handheld: Handheld) -> dict[str, Any]:
    """What `restore_state` needs to put `handheld` back as it is now."""
    return {
        "operator": handheld.operator,
        "role": handheld.role,
        "workflow": _encode(_trimmed(handheld.workflow)),
        "finished": _encode(_trimmed(handheld.finished)),
    }


def restore_state(handheld: Handheld, state: dict[str, Any]) -> None:
    """Puts `handheld` back in the state `handheld_state` gave."""
    try:
        handheld.operator = state["operator"]
        handheld.role = state["role"]
        handheld.workflow = _decode(state["workflow"])
        handheld.finished = _decode(state["finished"])
    except (KeyError, TypeError, ValueError, AttributeError) as problem:
        raise StateError(f"The handheld's state does not read: {problem}") from None


def _trimmed(workflow: object) -> object:
    lines = getattr(workflow, "lines", None)
    if workflow is None or lines is None or len(lines) <= KEPT_UNDO_LINES:
        return workflow
    copied = object.__new__(type(workflow))
    vars(copied).update(vars(workflow), lines=lines[-KEPT_UNDO_LINES:])
    return copied


def _encode(value: Any) -> Any:
    if value is None or (isinstance(value, (bool, int, str)) and not isinstance(value, Enum)):
        return value
    if isinstance(value, list):
        return [_encode(each) for each in value]
    if isinstance(value, Enum):
        return {
            _TAG: "enum",
            "class": _class_name(type(value), _ENUM_MODULES),
            "value": value.value,
        }
    if isinstance(value, Decimal):
        return {_TAG: "decimal", "value": str(value)}
    if isinstance(value, datetime):
        return {_TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {_TAG: "date", "value": value.isoformat()}
    if isinstance(value, tuple):
        return {_TAG: "tuple", "value": [_encode(each) for each in value]}
    if isinstance(value, dict):
        return {_TAG: "dict", "value": [[_encode(k), _encode(v)] for k, v in value.items()]}
    fields = {name: _encode(each) for name, each in vars(value).items()}
    return {_TAG: "object", "class": _class_name(type(value), _CLASS_MODULES), "value": fields}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(each) for each in value]
    if not isinstance(value, dict):
        return value
    tag, inner = value[_TAG], value["value"]
    if tag == "enum":
        return _class(value["class"], _ENUM_MODULES)(inner)
    if tag == "decimal":
        return Decimal(inner)
    if tag == "datetime":
        return datetime.fromisoformat(inner)
    if tag == "date":
        return date.fromisoformat(inner)
    if tag == "tuple":
        return tuple(_decode(each) for each in inner)
    if tag == "dict":
        return {_decode(k): _decode(v) for k, v in inner}
    if tag == "object":
        made: object = object.__new__(_class(value["class"], _CLASS_MODULES))
        vars(made).update({name: _decode(each) for name, each in inner.items()})
        return made
    raise ValueError(f"unknown tag {tag!r}")


def _class_name(cls: type, modules: tuple[str, ...]) -> str:
    name = f"{cls.__module__}:{cls.__qualname__}"
    if not cls.__module__.startswith(modules):
        raise StateError(f"The handheld's state holds a {name}, which it cannot keep")
    return name


def _class(name: str, modules: tuple[str, ...]) -> type:
    """A class of the engine's modules, by the name `_class_name` gave; never an import."""
    module, _, qualname = name.partition(":")
    if not module.startswith(modules) or module not in sys.modules:
        raise ValueError(f"{name} is not a class of the handheld's")
    found = getattr(sys.modules[module], qualname, None)
    if not isinstance(found, type):
        raise ValueError(f"{name} is not a class of the handheld's")
    return found
