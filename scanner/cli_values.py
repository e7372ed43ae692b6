"""The values the command line reads that no other door reads: argparse types that refuse a
bad one with argparse's own usage line and exit status 2, naming what was expected."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from scanner.plain_text import shown

LARGEST_ID = 2**31 - 1
"""The largest id or line number a row holds: PostgreSQL's `integer`. A larger one typed
would never name a row, and SQLite's driver raised OverflowError on it."""


def row_number(what: str) -> Callable[[str], int]:
    """An argparse type for the id or number of a row, as `what` names it ("a print job's
    id, like 12"): ASCII digits from 1 to `LARGEST_ID`, a leading `#` allowed, as lists
    show some."""

    def read(text: str) -> int:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"nothing given: give {what}")
        digits = text.removeprefix("#")
        if not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) <= LARGEST_ID:
            raise argparse.ArgumentTypeError(f"{shown(text)} is not {what}")
        return int(digits)

    return read
