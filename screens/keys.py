"""The function keys: each sends the command a `CMD:` scan would (DESIGN §4). Devices
differ in keys; every binding has an id, so a keymap can move it (`App.set_keymap`)."""

from __future__ import annotations

from itertools import zip_longest

# (key, shown as, command, footer label)
START_KEYS = (
    ("f2", "F2", "RECEIVE", "Receive"),
    ("f3", "F3", "ISSUE", "Issue"),
    ("f4", "F4", "COMPLETE", "Complete"),
    ("f5", "F5", "SHIP", "Ship"),
    ("f6", "F6", "MOVE", "Move"),
    ("f7", "F7", "LOOKUP", "Lookup"),
    ("f8", "F8", "ASSIGN", "Assign"),
)
STEP_KEYS = (
    ("escape", "Esc", "CANCEL", "Cancel"),
    ("f9", "F9", "UNDO", "Undo"),
    ("f10", "F10", "DONE", "Done"),
    ("f11", "F11", "OK", "OK"),
    ("f12", "F12", "GEN", "Gen"),
)
COMMAND_KEYS = START_KEYS + STEP_KEYS
# F1 to F12 are all taken: the device's queue (labels waiting to print) is on Ctrl+P.
QUEUE_KEY = "ctrl+p"
STARTS = frozenset(command for _, _, command, _ in START_KEYS)


def menu_lines() -> tuple[str, ...]:
    """The menu shown while no workflow runs, in two columns: a key or a `CMD:` scan
    starts each workflow."""
    cells = [f"{shown} {command}".ljust(14) for _, shown, command, _ in START_KEYS]
    half = (len(cells) + 1) // 2
    return tuple(
        (left + right).rstrip()
        for left, right in zip_longest(cells[:half], cells[half:], fillvalue="")
    )
