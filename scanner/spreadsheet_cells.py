"""Text for a cell of a CSV file a person opens in a spreadsheet program.

A spreadsheet reads a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage
return before one) as a formula, so a lot number or a customer's name typed as
`=HYPERLINK(...)` would run when the file is opened (OWASP, "CSV injection"). Such a cell
is written with a leading apostrophe, which the spreadsheet shows as text. Control
characters are spelled out as on a terminal (`scanner.plain_text.shown`): the file is
often read on one too.
"""

from __future__ import annotations

from scanner.plain_text import shown

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str | None) -> str:
    """Stored text as a CSV cell: empty for None, a formula's first character neutralised."""
    if value is None:
        return ""
    cell = shown(value)
    if value.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell
