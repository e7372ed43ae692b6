"""A device's keymap: the keys it moves, read from `keymap.toml` beside its database.

Devices differ in keys. A terminal in VT220 mode sends Shift+F5 as F15, which Textual does
not read, so such a device moves `return` to a key it has. A site writes the moves once and
copies the file to each device of that kind, into the folder of its database (the
workspace, `scanner.workspace.device_folder`):

    # binding id = the key, or a list of keys
    return = "ctrl+r"
    supervisor = ["f13", "ctrl+o"]

The ids are the handheld screen's bindings (`screens/keys.py`, `screens/handheld.py`); a key
is named as Textual names it (`f13`, `ctrl+r`, `shift+f5`). The file is checked before the
app starts, and refused with one line saying what is wrong: an id no key has, a key Textual
has no name for, a key the scan field needs (anything that types, Enter, the editing keys),
or two keys on one that do not share it already (F2 is both `receive` and, over the
supervisor panel, `resolve-apply`; a move may not add a third).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.keys import REPLACED_KEYS, Keys, key_to_character
from textual.widgets import Input

from scanner.errors import LotscanError
from screens.handheld import HandheldScreen
from screens.scan_field import END_KEYS, GS_KEYS

KEYMAP_FILE = "keymap.toml"

_MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_NAMED = frozenset(
    name for key in Keys if not (name := key.value.rpartition("+")[2]).startswith("<")
) | frozenset(REPLACED_KEYS)


class KeymapError(LotscanError):
    """A keymap file the handheld cannot use."""


def _keys_of(binding: Binding) -> tuple[str, ...]:
    return tuple(key.strip() for key in binding.key.split(","))


def _bindings(owner: type[object]) -> list[Binding]:
    return [each for each in getattr(owner, "BINDINGS", []) if isinstance(each, Binding)]


DEFAULT_KEYS: dict[str, tuple[str, ...]] = {
    binding.id: _keys_of(binding) for binding in _bindings(HandheldScreen) if binding.id
}
"""Every binding a keymap can move, by id, with its keys as shipped."""

_TAKEN = {
    **{key: "is the scan field's (it edits or ends a scan)" for key in END_KEYS | GS_KEYS},
    **{key: "is the scan field's" for b in _bindings(Input) for key in _keys_of(b)},
    "tab": "moves the focus",
    "shift+tab": "moves the focus",
    **{key: "quits" for b in _bindings(App) for key in _keys_of(b)},
}
"""Keys no binding of the handheld screen may take, and why."""


def load_keymap(folder: Path) -> dict[str, str]:
    """The moves `keymap.toml` in `folder` makes, as {binding id: keys}; none without the
    file. `KeymapError` when the file cannot be read or is wrong."""
    path = folder / KEYMAP_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise KeymapError(f"Cannot read {path}: {getattr(error, 'strerror', error)}") from None
    import tomllib  # only a device with a keymap pays for the import

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise KeymapError(f"{path} is not valid TOML: {error}") from None
    return checked_keymap(data, str(path))


def checked_keymap(data: Mapping[str, object], where: str) -> dict[str, str]:
    """The moves in `data` ({binding id: a key or a list of keys}), each refused with a
    message naming `where`, the id and the key."""
    moves: dict[str, str] = {}
    for binding_id, given in data.items():
        if binding_id not in DEFAULT_KEYS:
            ids = ", ".join(sorted(DEFAULT_KEYS))
            raise KeymapError(f"{where}: no key has the id {binding_id!r}; the ids are {ids}")
        keys = _key_list(given, f"{where}: {binding_id}")
        for key in keys:
            _check_key(key, f"{where}: {binding_id} = {key!r}")
        moves[binding_id] = ",".join(keys)
    _refuse_sharing(moves, where)
    return moves


def full_keymap(moves: Mapping[str, str]) -> dict[str, str]:
    """Every binding's keys, `moves` applied. The app hands Textual all of them: moving one
    binding off a key, Textual drops every binding on that key, and F2 to F6 each carry
    two (a workflow, and a supervisor's action while that panel is up)."""
    shipped = {binding_id: ",".join(keys) for binding_id, keys in DEFAULT_KEYS.items()}
    return shipped | dict(moves)


def _key_list(given: object, where: str) -> list[str]:
    if isinstance(given, str):
        keys = given.split(",")
    elif isinstance(given, list) and all(isinstance(key, str) for key in given):
        keys = list(given)
    else:
        raise KeymapError(f'{where}: give a key as text, such as "ctrl+r", or a list of them')
    if not keys or any(not key.strip() for key in keys):
        raise KeymapError(f"{where}: a key is missing")
    return [_lower(key.strip()) for key in keys]


def _lower(key: str) -> str:
    """`F13` as Textual names it, `f13`; a single character keeps its case (`R` is not
    `r`)."""
    *modifiers, name = key.split("+")
    if len(name) > 1:
        name = name.lower()
    return "+".join([*(each.lower() for each in modifiers), name])


def _check_key(key: str, where: str) -> None:
    """Refuses a key Textual has no name for, and one the scan field or the app needs."""
    *modifiers, name = key.split("+")
    if any(each not in _MODIFIERS for each in modifiers) or len(set(modifiers)) < len(modifiers):
        allowed = ", ".join(sorted(_MODIFIERS))
        raise KeymapError(f"{where}: a key's modifiers are {allowed}, each once, joined by +")
    single = len(name) == 1 and name.isprintable() and not name.isspace()
    if not (single or name in _NAMED or key_to_character(name) is not None):
        raise KeymapError(
            f"{where}: no key is named {name!r}; name keys as Textual does: f13, ctrl+r, "
            "shift+f5, pageup, question_mark"
        )
    if key in _TAKEN:
        raise KeymapError(f"{where}: {key} {_TAKEN[key]}")
    typing = single or key_to_character(REPLACED_KEYS.get(name, name)) is not None
    if typing and set(modifiers) <= {"shift"}:
        raise KeymapError(
            f"{where}: it types into the scan field; use a function key or a Ctrl+ key"
        )


def _refuse_sharing(moves: Mapping[str, str], where: str) -> None:
    """Two bindings may share a key only when they share one as shipped: they are live at
    different times (Esc backs out of a question, closes a panel or cancels a line)."""
    shipped: dict[str, set[str]] = {}
    for binding_id, keys in DEFAULT_KEYS.items():
        for key in keys:
            shipped.setdefault(key, set()).add(binding_id)
    now: dict[str, set[str]] = {}
    for binding_id, joined in full_keymap(moves).items():
        for key in joined.split(","):
            now.setdefault(key, set()).add(binding_id)
    for key, ids in now.items():
        if len(ids) > 1 and not any(ids <= together for together in shipped.values()):
            *others, last = sorted(ids)
            named = f"{', '.join(others)} and {last}"
            raise KeymapError(f"{where}: {named} would share {key}; move one of them too")
