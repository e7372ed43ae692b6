"""Reading a reference-data CSV file into rows whose cells are checked one by one.

Every problem is an `ImportRowError` that names the file, the row as a spreadsheet numbers
it (the header is row 1, blank lines count, a cell spanning lines is still one row) and the
column, so a clerk can open the file and go straight to the cell.
"""

from __future__ import annotations

import csv
import io
import re
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from scanner.errors import ImportRowError, NotFound, RuleViolation
from scanner.numbering import check_number, check_pattern
from scanner.plain_text import character_name, control_character, quoted
from scanner.quantity import format_quantity, to_quantity
from scanner.settings import Phone

T = TypeVar("T")

_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?=\.?[0-9])(?P<whole>[0-9]*)(\.[0-9]*)?")
_QUANTITY_DIGITS = 15  # what a quantity column holds (`scanner.quantity`)
_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0"})
_WIDE = re.compile(r"[0-9]{3}")


class BadValue(Exception):
    """A cell's value is not what its column needs; the message says why, for a clerk."""


@dataclass(frozen=True)
class Columns:
    """The columns a kind of file has; optional ones may be left out of the header."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional

    def describe(self) -> str:
        return ", ".join([*self.required, *(f"[{name}]" for name in self.optional)])


class Row:
    """One data row: its cells by column name, already trimmed."""

    def __init__(self, file: str, number: int, cells: dict[str, str]) -> None:
        self.file = file
        self.number = number
        self.cells = cells

    def has(self, column: str) -> bool:
        """Whether the file has this column at all (a left-out column keeps stored values)."""
        return column in self.cells

    def error(self, column: str | None, message: str) -> ImportRowError:
        return ImportRowError(self.file, self.number, column, message)

    def required(self, column: str, parse: Callable[[str], T]) -> T:
        value = self.optional(column, parse)
        if value is None:
            raise self.error(column, f"the {column} is empty; every row needs one")
        return value

    def given(
        self, values: dict[str, Any], column: str, parse: Callable[[str], Any], default: Any
    ) -> None:
        """Sets `values[column]` when the file has the column: the cell's value, or the
        default when it is empty. A column left out of the file stays out of `values`, so
        the stored value is kept."""
        if self.has(column):
            value = self.optional(column, parse)
            values[column] = default if value is None else value

    def optional(self, column: str, parse: Callable[[str], T]) -> T | None:
        """The cell read by `parse`, or None when it is empty or the column is left out."""
        raw = self.cells.get(column, "")
        if not raw:
            return None
        try:
            return parse(raw)
        except (BadValue, RuleViolation) as problem:
            raise self.error(column, str(problem)) from None


@dataclass(frozen=True)
class Record:
    """A checked row: the key it is stored under and the attribute values it sets."""

    row: Row
    key: tuple[Any, ...]
    values: dict[str, Any]


def unique(records: Iterable[Record], column: str, name: Callable[[Any], str]) -> None:
    """A key may appear once in a file: a repeat is an error on its row."""
    first: dict[tuple[Any, ...], Row] = {}
    for record in records:
        seen = first.setdefault(record.key, record.row)
        if seen is not record.row:
            raise record.row.error(column, f"{name(record.key)} is already on row {seen.number}")


def read_rows(path: Path, columns: Columns, kind: str) -> list[Row]:
    """The data rows of a CSV file with a header row, UTF-8 with or without a BOM (Excel),
    separated by commas or, as the header shows, semicolons.

    Column names are matched without regard to case or surrounding spaces; blank lines are
    skipped but still counted, so row numbers match the spreadsheet.
    """
    file = path.name
    records = _records(path, file)
    first = next(records, None)
    names = _header(file, first[1] if first else [], columns, kind)
    rows: list[Row] = []
    for number, record in records:
        cells: dict[str, str] = {}
        for index, raw in enumerate(record):
            value = raw.strip()
            name = names[index] if index < len(names) else ""
            if not name:
                if value:
                    raise ImportRowError(
                        file, number, None, f"{quoted(value)} is under no column of the header"
                    )
                continue
            control = control_character(value)
            if control is not None:
                # A cell that would break a line on a label, a message or a terminal.
                raise ImportRowError(
                    file, number, name,
                    f"{quoted(value)} has a line break or a control character"
                    f" ({character_name(control)})",
                )  # fmt: skip
            cells[name] = value
        if any(cells.values()):
            for name in names:
                if name:
                    cells.setdefault(name, "")
            rows.append(Row(file, number, cells))
    return rows


def _records(path: Path, file: str) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) for every record, the header first."""
    try:
        data = path.read_bytes()
    except OSError as problem:
        raise NotFound(f"Cannot read {path}: {problem.strerror}") from None
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        row = data.count(b"\n", 0, problem.start) + 1
        raise ImportRowError(
            file, row, None, "this is not UTF-8 text: save the file as CSV UTF-8"
        ) from None
    # Excel in many European locales separates with semicolons; the header row tells.
    header = content.partition("\n")[0]
    delimiter = ";" if ";" in header and "," not in header else ","
    # Strict: a quote never closed took the rest of the file into one cell, which was then
    # refused for whatever column it left empty ("the tracking is empty").
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter, strict=True)
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as problem:
            why = _QUOTING.get(str(problem), str(problem))
            raise ImportRowError(file, number + 1, None, f"the CSV is malformed: {why}") from None
        number += 1
        yield number, record


_CLOSE_IT = 'a cell opened with " is never closed: close it with "'
_GOES_ON = 'a quoted cell goes on after its closing ": write "" for a " inside a quoted cell'
_QUOTING = {
    "unexpected end of data": _CLOSE_IT,
    "',' expected after '\"'": _GOES_ON,
    "';' expected after '\"'": _GOES_ON,
}
"""The csv module's words for a quote out of place, as a person fixing the file reads them."""


def _header(file: str, cells: list[str], columns: Columns, kind: str) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    if not any(names):
        raise ImportRowError(
            file, 1, None, f"the first row must name the columns: {columns.describe()}"
        )
    seen: set[str] = set()
    for name in names:
        if not name:
            continue
        label = quoted(name)[1:-1]
        if name in seen:
            raise ImportRowError(file, 1, label, "this column appears twice in the header")
        if name not in columns.all:
            raise ImportRowError(
                file, 1, label, f"not a column of a {kind} file (columns: {columns.describe()})"
            )
        seen.add(name)
    for name in columns.required:
        if name not in seen:
            raise ImportRowError(
                file, 1, name, f"the header has no {name} column; a {kind} file needs it"
            )
    return names


# ---- cell readers: each takes the trimmed, non-empty text of a cell ---------------------


def limited(max_length: int) -> Callable[[str], str]:
    """Text of at most `max_length` characters."""

    def read(value: str) -> str:
        if len(value) > max_length:
            raise BadValue(f"{quoted(value)} is {len(value)} characters; at most {max_length} fit")
        return value

    return read


def choice(values: type[StrEnum]) -> Callable[[str], str]:
    """One of an enumeration's values, in any case; returned as the enumeration spells it."""
    allowed = [member.value for member in values]

    def read(value: str) -> str:
        if value.lower() not in allowed:
            raise BadValue(f"{quoted(value)} is not one of {', '.join(allowed)}")
        return value.lower()

    return read


def yes_no(value: str) -> bool:
    answer = value.lower()
    if answer in _YES:
        return True
    if answer in _NO:
        return False
    raise BadValue(f"{quoted(value)} is not yes or no")


def whole_number(low: int, high: int) -> Callable[[str], int]:
    def read(value: str) -> int:
        digits = value.lstrip("0") or "0"
        if (
            not _WHOLE.fullmatch(value)
            or len(digits) > len(str(high))
            or not low <= int(digits) <= high
        ):
            raise BadValue(f"{quoted(value)} is not a whole number from {low} to {high}")
        return int(digits)

    return read


def quantity(value: str) -> Decimal:
    """A quantity above zero with at most three decimals, written with a decimal point."""
    match = _DECIMAL.fullmatch(value)
    if not match:
        raise BadValue(f"{quoted(value)} is not a quantity (write it like 12 or 2.5)")
    if len(match.group("whole").lstrip("0")) > _QUANTITY_DIGITS:
        raise BadValue(f"{quoted(value)} is too large for a quantity")
    amount = to_quantity(value)
    if amount <= 0:
        raise BadValue(f"the quantity must be more than zero, not {format_quantity(amount)}")
    return amount


def phone_number(value: str) -> str:
    """A phone number as people write it (`scanner.settings.Phone`, as the site's)."""
    try:
        return Phone().parse(value)
    except ValueError as problem:
        raise BadValue(str(problem)) from None


def lot_number(value: str) -> str:
    return check_number(value, "Lot")


def gtin(value: str) -> str:
    """A GTIN-8, -12, -13 or -14 with a correct check digit, as 14 digits."""
    if not _WHOLE.fullmatch(value) or len(value) not in (8, 12, 13, 14):
        raise BadValue(f"{quoted(value)} is not a GTIN: it must be 8, 12, 13 or 14 digits")
    padded = value.zfill(14)
    body = [int(digit) for digit in padded[:-1]]
    # GS1 mod 10: from the right of the body, weights 3, 1, 3, 1...
    total = sum(digit * (3 if position % 2 == 0 else 1) for position, digit in enumerate(body))
    expected = (10 - total % 10) % 10
    if int(padded[-1]) != expected:
        raise BadValue(f"GTIN {value} has a wrong check digit: it should end in {expected}")
    return padded


def numbering_pattern(part: str) -> Callable[[str], str]:
    """A numbering pattern whose numbers fit on a GS1 label (checked on a sample number)."""

    def read(value: str) -> str:
        check_pattern(limited(60)(value))
        for _, _, spec, _ in string.Formatter().parse(value):
            if spec and ("{" in spec or _WIDE.search(spec)):
                raise BadValue(
                    f"numbering pattern {quoted(value)} has a field format that cannot be used:"
                    f" {quoted(spec)}"
                )
        try:
            sample = value.format(
                part=part, device="XXXX", yy="26", yyyy="2026", mm="12", dd="31", seq=1
            )
        except (ValueError, LookupError, TypeError, AttributeError) as problem:
            raise BadValue(
                f"numbering pattern {quoted(value)} cannot be filled in: {problem}"
            ) from None
        try:
            check_number(sample, "Lot")
        except RuleViolation as problem:
            raise BadValue(
                f"pattern {quoted(value)} makes numbers like {quoted(sample)}: {problem}"
            ) from None
        return value

    return read
