"""The function keys: each sends the command a `CMD:` scan would (docs/architecture.md,
"Prefixes and commands"). Devices differ in keys; every binding has an id, so a device's
keymap can move it (`screens.keymap`), and the menu, help and footer then show the key it
moved to."""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import zip_longest

from textual.binding import Binding
from textual.keys import format_key

# (key, shown as, command, footer label)
START_KEYS = (
    ("f2", "F2", "RECEIVE", "Receive"),
    ("f3", "F3", "ISSUE", "Issue"),
    ("f4", "F4", "COMPLETE", "Complete"),
    ("f5", "F5", "SHIP", "Ship"),
    ("f6", "F6", "MOVE", "Move"),
    ("f7", "F7", "LOOKUP", "Lookup"),
    ("f8", "F8", "ASSIGN", "Assign"),
    # F1 to F12 are all taken: RETURN is Shift+F5, shipping the other way. An xterm-style
    # terminal sends it as ESC [15;2~, which Textual names "shift+f5" (not F17). A VT220-style
    # emulator sends F15 (ESC [28~), which Textual 8.2.8 does not read as a function key:
    # such a device moves RETURN to a key it has with its keymap (id "return").
    ("shift+f5", "S-F5", "RETURN", "Return"),
    # Holding, releasing and recalling is for supervisors and quality staff: shifted keys,
    # beside RETURN's, out of the way of the floor's. In HOLD, with a label in hand, HOLD's
    # key holds it.
    ("shift+f6", "S-F6", "HOLD", "Hold"),
)
# What HOLD does with the lot or serial in hand, besides holding it.
DECIDE_KEYS = (
    ("shift+f7", "S-F7", "RELEASE", "Release"),
    ("shift+f8", "S-F8", "RECALL", "Recall"),
)
STEP_KEYS = (
    ("escape", "Esc", "CANCEL", "Cancel"),
    ("f9", "F9", "UNDO", "Undo"),
    ("f10", "F10", "DONE", "Done"),
    ("f11", "F11", "OK", "OK"),
    ("f12", "F12", "GEN", "Gen"),
)
COMMAND_KEYS = START_KEYS + STEP_KEYS + DECIDE_KEYS
QUALITY_ONLY = frozenset({"HOLD"})
"""The workflows the menu and the footer offer only to supervisors and quality staff (the
key stays live for everyone: the engine answers why not)."""
# F1 to F12 are all taken: the device's queue (labels waiting to print, movements waiting to
# sync) is on Ctrl+P, the supervisor panel on Ctrl+O (Ctrl+S may freeze a terminal).
QUEUE_KEY = "ctrl+p"
SUPERVISOR_KEY = "ctrl+o"
STARTS = frozenset(command for _, _, command, _ in START_KEYS)
# While the supervisor panel is up the function keys resolve the chosen exception instead.
# (key, shown as, the action as the store calls it)
RESOLVE_KEYS = (
    ("f2", "F2", "apply"),
    ("f3", "F3", "void"),
    ("f4", "F4", "adjust"),
    ("f5", "F5", "dismiss"),
)
REFRESH_KEY = ("f6", "F6")
# What the footer keeps when the live keys do not all fit (40 columns), most wanted first:
# a warning's OK, closing a panel and the supervisor panel's own keys, the ways out of a
# step, help, the workflows in key order, then the rest.
FOOTER_RANK = (
    "ok",
    "back",
    "close",
    *(f"resolve-{action}" for _, _, action in RESOLVE_KEYS),
    "refresh",
    "cancel",
    "done",
    "undo",
    "help",
    *(command.lower() for _, _, command, _ in START_KEYS),
    "gen",
    "queue",
    "supervisor",
    "refresh",
)

# The order the footer shows the keys it keeps: as they sit on the keyboard, left to right.
FOOTER_ORDER = (
    "help",
    *(command.lower() for _, _, command, _ in START_KEYS),
    *(command.lower() for _, _, command, _ in DECIDE_KEYS),
    *(f"resolve-{action}" for _, _, action in RESOLVE_KEYS),
    "refresh",
    "back",
    "close",
    *(command.lower() for _, _, command, _ in STEP_KEYS),
    "queue",
    "supervisor",
)


def footer_rank(binding: Binding) -> int:
    """Where `binding` stands in FOOTER_RANK; keys it does not name come last."""
    return _place(FOOTER_RANK, binding)


def footer_order(binding: Binding) -> int:
    """Where `binding` sits in FOOTER_ORDER; keys it does not name come last."""
    return _place(FOOTER_ORDER, binding)


def _place(ids: tuple[str, ...], binding: Binding) -> int:
    try:
        return ids.index(binding.id or "")
    except ValueError:
        return len(ids)


_NAMES = {
    "escape": "Esc",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "up": "Up",
    "down": "Down",
    "delete": "Del",
    "insert": "Ins",
    "home": "Home",
    "end": "End",
}
_MODIFIERS = {"ctrl": "^", "shift": "S-", "alt": "A-"}


def key_label(keys: str) -> str:
    """How a handheld's keypad prints the first of `keys`, named as Textual names them:
    `F15` for f15, `^R` for ctrl+r, `S-F5` for shift+f5, `Esc` for escape."""
    *modifiers, name = keys.split(",")[0].strip().split("+")
    if re.fullmatch(r"f\d{1,2}", name) or len(name) == 1:
        shown = name.upper()
    else:
        shown = _NAMES.get(name) or format_key(name)
    return "".join(_MODIFIERS.get(each, f"{each.capitalize()}+") for each in modifiers) + shown


def key_labels(moves: Mapping[str, str]) -> dict[str, str]:
    """How the keypad prints each key a keymap moved, by binding id."""
    return {binding_id: key_label(keys) for binding_id, keys in moves.items()}


def menu_lines(moved: Mapping[str, str] | None = None, *, quality: bool = False) -> tuple[str, ...]:
    """The menu shown while no workflow runs, in two columns: a key or a `CMD:` scan
    starts each workflow. `moved` holds the keys a device's keymap moved (`key_labels`);
    HOLD is on it for supervisors and quality staff (`quality`)."""
    moved = moved or {}
    cells = [
        f"{moved.get(command.lower(), shown)} {command}".ljust(14)
        for _, shown, command, _ in START_KEYS
        if quality or command not in QUALITY_ONLY
    ]
    half = (len(cells) + 1) // 2
    return tuple(
        (left + right).rstrip()
        for left, right in zip_longest(cells[:half], cells[half:], fillvalue="")
    )
