"""Help on F1: the scan language (with this site's prefixes) and the function keys."""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from scanner.scan import ScanConfig
from screens.keys import COMMAND_KEYS, REFRESH_KEY, RESOLVE_KEYS
from screens.supervisor_lines import ACTIONS


def help_text(config: ScanConfig, moved: Mapping[str, str] | None = None) -> str:
    """The scan language as the operator scans it, then the keys; `moved` holds the keys a
    device's keymap moved, by binding id (`screens.keys.key_labels`)."""
    moved = moved or {}
    command = config.command
    rows = [
        ("Sign in", f"{config.operator}<badge>"),
        ("Sign out", f"{command}SIGNOUT (also after a while unused)"),
        ("Start", f"{command}RECEIVE ISSUE COMPLETE SHIP MOVE ASSIGN LOOKUP RETURN"),
        ("Finish", f"{command}DONE"),
        ("Drop line", f"{command}CANCEL"),
        ("Reverse last", f"{command}UNDO"),
        ("Confirm warning", f"{command}OK"),
        ("Number range", f"{command}GEN, then first and last"),
        ("Close", f"{command}CLOSE: the job, or the PO/SO line"),
        ("Reopen a job", f"{command}REOPEN (supervisor, COMPLETE)"),
        ("Location", f"{config.location}<code>"),
        ("Job", f"{config.job}<number>"),
        ("Purchase order", f"{config.po}<number>"),
        ("Sales order", f"{config.so}<number>"),
        ("Item", "GS1: (01) GTIN or (240) part, (10) lot, (21) serial, (17) expiry, (30) count"),
        ("Anything else", "answers the prompt: a quantity, a lot or serial number"),
    ]
    lines = ["SCANS"]
    lines += [f"{what}: {scan}" for what, scan in rows]
    lines += ["", "KEYS", f"{moved.get('help', 'F1')}: this help (Esc closes it)"]
    lines += ["PgUp/PgDn: scroll it"]
    lines += [
        f"{moved.get(name.lower(), shown)}: {command}{name}" for _, shown, name, _ in COMMAND_KEYS
    ]
    lines += [
        "Ctrl+]: GS (field separator)",
        f"{moved.get('queue', 'Ctrl+P')}: queue; Ctrl+Q: quit",
    ]
    lines += [
        "",
        "SUPERVISORS",
        f"{moved.get('supervisor', 'Ctrl+O')}: devices and open exceptions at the central store",
        "Up/Down: choose an exception",
        *(
            f"{moved.get(f'resolve-{action}', shown)}: {ACTIONS[action].meaning}"
            for _, shown, action in RESOLVE_KEYS
        ),
        f"{moved.get('refresh', REFRESH_KEY[1])}: ask the store again",
        "",
        "QUALITY (supervisors, quality staff)",
        f"Hold: {command}HOLD, then the lot or serial label",
        f"Then {command}HOLD, {command}RELEASE or {command}RECALL",
        "Then the reason: type it, or scan a reason code",
        "A held lot moves only into quarantine",
    ]
    return "\n".join(lines)


class HelpPanel(VerticalScroll, can_focus=False):
    """Shown in place of the work area on F1; the scan field keeps the focus meanwhile, so
    a scan fired while help is up is not lost."""

    def __init__(
        self, config: ScanConfig, moved: Mapping[str, str] | None = None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.config = config
        self.moved = moved

    def compose(self) -> ComposeResult:
        yield Static(help_text(self.config, self.moved), markup=False)

    def show(self, config: ScanConfig) -> None:
        """The help for `config`, the scan settings the app now scans by."""
        self.config = config
        self.query_one(Static).update(help_text(config, self.moved))
