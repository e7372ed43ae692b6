"""The scan field: where a keyboard-wedge scanner (or a thumb) types, one scan per line.

The stock `Input` drops GS (0x1D), the FNC1 separator of GS1 data, and reports a line in an
`Input.Submitted` message that is handled only after the keys already queued behind it, so
back-to-back scans would run together. This field keeps GS, shown as `␝` (one character
for one, so editing by hand stays exact), and finishes each scan inside the key handler:
the scan is taken and the field emptied before the next key is looked at.

A function key that stands for a command (F2 is `CMD:RECEIVE`) is turned into that scan
here too, in the same handler: a binding would run only once the key had travelled up to
the app, after scans typed behind it, so F2 pressed right after a badge scan could reach
the engine before the badge did.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import Input

GS = "\x1d"
GS_SHOWN = "\u241d"  # ␝ SYMBOL FOR GROUP SEPARATOR
# Enter (CR) or line feed ends a scan: scanners are set up to send one or the other.
END_KEYS = frozenset({"enter", "ctrl+j", "newline"})
# Ctrl+] in a classic terminal; under the Kitty keyboard protocol the key is named but
# carries no character, or is GS itself.
GS_KEYS = frozenset({"ctrl+right_square_bracket", GS})
_LINE_END = re.compile(r"\r\n|\r|\n")


class ScanField(Input):
    """One line of input; each Enter or line feed posts `ScanField.Scanned(raw)` with the
    text exactly as the scanner sent it, GS included."""

    @dataclass
    class Scanned(Message):
        """A scan, exactly as the scanner sent it (GS as 0x1D)."""

        raw: str

    def __init__(
        self,
        *,
        id: str | None = None,
        placeholder: str = "scan here",
        blink: bool = True,
        command_for: Callable[[str], str | None] = lambda key: None,
    ) -> None:
        """`command_for(key)` is the scan a key stands for (`CMD:RECEIVE` for F2), or None
        for a key that is not a command here and now."""
        super().__init__(placeholder=placeholder, compact=True, id=id, select_on_focus=False)
        self.cursor_blink = blink
        self.command_for = command_for

    @property
    def raw(self) -> str:
        """What has been typed since the last scan, with GS as the real character."""
        return self.value.replace(GS_SHOWN, GS)

    async def _on_key(self, event: events.Key) -> None:
        # Runs before Input._on_key; prevent_default() keeps that one from seeing the key.
        if event.key in END_KEYS:
            event.stop()
            event.prevent_default()
            self._finish()
        elif event.key in GS_KEYS or event.character == GS:
            event.stop()
            event.prevent_default()
            self.insert_text_at_cursor(GS_SHOWN)
        elif not event.is_printable and (command := self.command_for(event.key)) is not None:
            event.stop()
            event.prevent_default()
            self.post_message(self.Scanned(command))  # what is typed so far stays

    def _on_paste(self, event: events.Paste) -> None:
        """A paste may hold several scans, one a line; text after the last line end stays
        in the field, waiting for its Enter."""
        event.stop()
        event.prevent_default()
        *scans, rest = _LINE_END.split(event.text)
        for scan in scans:
            self.insert_text_at_cursor(scan.replace(GS, GS_SHOWN))
            self._finish()
        if rest:
            self.insert_text_at_cursor(rest.replace(GS, GS_SHOWN))

    def _finish(self) -> None:
        raw = self.raw
        self.value = ""
        if raw.strip():
            self.post_message(self.Scanned(raw))
