"""Text that cannot drive a terminal or a page (docs/architecture.md, "Text at the doors").

Every door refuses a control character in text it stores (a scan, a CSV cell, a pushed
movement, a supervisor's words): `control_character` finds one, `refuse_control` raises
naming the field. Every place that shows text from the database passes it through `shown`
(or `quoted`), so that even old data holding ESC or BEL is spelled out instead of moving
the cursor, retitling the window or clearing the screen.

"Control" here is what a terminal may act on or a reader cannot see: the C0 and C1 controls
and DEL (Unicode category Cc), the bidirectional overrides and isolates that reorder what a
reader sees (U+202A-U+202E, U+2066-U+2069), and the line and paragraph separators
(U+2028, U+2029). A tab is one of them too: a stored value is one line of plain text.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable

from scanner.errors import RuleViolation

_INVISIBLE = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\u200e\u200f\ufeff"
)
SHOWN_LONGEST = 40
"""The most of a value a message repeats: past it, its start and an ellipsis, so that the
reason after it still fits a handheld's four lines of feedback."""
CSET82 = frozenset(string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_")
"""GS1 character set 82: what (10) and (21) on a label may carry."""


def is_control(ch: str) -> bool:
    """Whether one character is one a stored value may not hold (see the module)."""
    return ch in _INVISIBLE or unicodedata.category(ch) == "Cc"


def control_character(text: str) -> str | None:
    """The first character of `text` a stored value may not hold, or None. Plain printable
    text (nearly all of it) is answered without looking at each character."""
    if text.isprintable() and text.isascii():
        return None
    for ch in text:
        if is_control(ch):
            return ch
    return None


def character_name(ch: str) -> str:
    """A character as a message names it: `U+001B (ESC)`."""
    name = unicodedata.name(ch, "") or _C0_NAMES.get(ord(ch), "control character")
    return f"U+{ord(ch):04X} ({name})"


def refuse_control(text: str, field: str) -> str:
    """`text`, or RuleViolation naming `field` and the character it may not hold."""
    ch = control_character(text)
    if ch is not None:
        raise RuleViolation(
            f"{field} holds {character_name(ch)}, a control character: it takes plain"
            " text on one line"
        )
    return text


def shown(text: str) -> str:
    """Text from the database for a terminal or a log line: every control character, and
    every `UNSEEN` one, spelled out as `\\u001b`, everything else as it is."""
    if text.isascii() and text.isprintable():
        return text
    if not any(_spelled_out(ch) for ch in text):
        return text
    return "".join(f"\\u{ord(ch):04x}" if _spelled_out(ch) else ch for ch in text)


UNSEEN = frozenset("\u200b\u2060\u2061\u2062\u2063\u2064\u180e")
"""Characters of no width that no script needs, which a stored value may hold (`PART\\u200bX`
reads as `PARTX`): spelled out on the way out, not refused at the doors, where a handheld's
queue already holding one would be refused whole. (The joiners U+200C and U+200D stay:
scripts and emoji need them.)"""


def _spelled_out(ch: str) -> bool:
    return is_control(ch) or ch in UNSEEN


def shown_lines(lines: Iterable[str]) -> str:
    """Lines built from stored text, for a terminal: each `shown` before they are joined,
    so a value can neither drive the terminal nor start a line of its own."""
    return "\n".join(shown(line) for line in lines)


def quoted(text: str, limit: int = SHOWN_LONGEST) -> str:
    """A value quoted for a message: control characters spelled out, long values cut."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return f'"{shown(cut)}"'


_C0_NAMES = {
    0x00: "NUL", 0x07: "BEL", 0x08: "BACKSPACE", 0x09: "TAB", 0x0A: "LINE FEED",
    0x0D: "CARRIAGE RETURN", 0x1B: "ESC", 0x1D: "GS", 0x7F: "DEL",
}  # fmt: skip


def clipped(text: str, limit: int = SHOWN_LONGEST) -> str:
    """`text` as a message repeats it: its start and an ellipsis when longer than `limit`."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
