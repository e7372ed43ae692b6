"""A table for a spreadsheet program, written as CSV or XLSX one row at a time
(docs/architecture.md, "Exports").

Both forms open as one sortable table: a header row, then one row per record. The CSV is
UTF-8 with a BOM, so Excel reads its accents as they are, with CRLF line ends; the XLSX has
one sheet, its header bold and frozen, an autofilter over the whole table, and dates as
date cells shown as YYYY-MM-DD. Neither is ever a half file: the rows go to a temporary file
in the same folder, renamed over the target only when the last row is written.

Cells are safe to open. Text is shown with its control characters spelled out (`\\u001b`),
so a stored value can neither split a row nor break the file. A CSV cell starting with
`= + - @`, a tab or a carriage return is read by spreadsheet programs as a formula: it gets
a leading `'`, which they take as "this is text" (OWASP's advice for CSV injection). An XLSX
cell says its type, so its text is kept exactly and written as text, never as a formula.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from scanner.errors import RuleViolation
from scanner.output_files import file_mode, output_target
from scanner.plain_text import quoted, shown
from scanner.quantity import format_quantity

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

Cell = str | int | Decimal | date | None
"""What a table's cell holds: text, a number, a day, or nothing."""

WriteRow = Callable[[Sequence[Cell]], None]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a CSV cell may not start with, lest a spreadsheet program run it as a formula."""

DATE_FORMAT = "yyyy-mm-dd"
SHEET_TITLE_LIMIT = 31  # Excel's longest sheet name


class TableFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def table_format(path: Path) -> TableFormat:
    """The form `path`'s extension asks for; a clear error for any other, and for a folder
    that does not exist (checked before any work is done)."""
    ending = path.suffix.lower().lstrip(".")
    if ending not in {each.value for each in TableFormat}:
        raise RuleViolation(
            f"Cannot write {quoted(str(path))}: the file name must end in .csv or .xlsx"
        )
    folder = path.parent
    if not folder.is_dir():
        raise RuleViolation(
            f"Cannot write {quoted(str(path))}: there is no folder {quoted(str(folder))}"
        )
    return TableFormat(ending)


@contextmanager
def table_file(path: Path, header: Sequence[str], *, title: str) -> Iterator[WriteRow]:
    """Writes a table to `path` (CSV or XLSX, as its extension says): yields the function
    that writes one row. The file appears, whole, when the block ends without error; on an
    error it does not appear at all, and any earlier file of that name is left as it was.
    A link is written through; a path that is not a file is refused (`scanner.output_files`)."""
    form = table_format(path)
    target = output_target(path)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".part", dir=target.parent
    )
    try:
        with os.fdopen(handle, "w" if form == TableFormat.CSV else "wb", **_csv_open(form)) as out:
            if form == TableFormat.CSV:
                yield from _csv_rows(out, header)
            else:
                yield from _xlsx_rows(out, header, title)
        os.chmod(temporary, file_mode(target))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _csv_open(form: TableFormat) -> dict[str, Any]:
    # Excel takes a CSV for UTF-8 only when it starts with a BOM.
    return {"encoding": "utf-8-sig", "newline": ""} if form == TableFormat.CSV else {}


def _csv_rows(out: IO[Any], header: Sequence[str]) -> Iterator[WriteRow]:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(name) for name in header])

    def write(row: Sequence[Cell]) -> None:
        writer.writerow([csv_cell(value) for value in row])

    yield write


def csv_cell(value: Cell) -> str:
    """A cell's text in a CSV file: ISO dates, quantities as people write them, text shown
    plain and never read as a formula."""
    if isinstance(value, str):
        text = _plain(value)
        return f"'{text}" if text.startswith(FORMULA_START) else text
    if value is None:
        return ""
    if isinstance(value, date):
        return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return format_quantity(value)
    return str(value)


def _plain(text: str) -> str:
    """`shown`, answered at once for printable text (no control character is printable):
    a table has hundreds of thousands of cells."""
    return text if text.isprintable() else shown(text)


def _xlsx_rows(out: IO[bytes], header: Sequence[str], title: str) -> Iterator[WriteRow]:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = book.create_sheet(title[:SHEET_TITLE_LIMIT])
    sheet.freeze_panes = "A2"
    for index, name in enumerate(header, start=1):
        # Set before the first row: a write-only sheet writes its columns' widths first.
        width = max(12, min(len(name) + 4, 40))
        sheet.column_dimensions[get_column_letter(index)].width = width  # type: ignore[attr-defined]
    bold = Font(bold=True)
    sheet.append([_xlsx_cell(sheet, name, font=bold) for name in header])
    rows = 1

    def write(row: Sequence[Cell]) -> None:
        nonlocal rows
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        rows += 1

    try:
        yield write
    except BaseException:
        sheet.close()  # ends openpyxl's row writer, which would complain when collected
        raise
    # A write-only sheet keeps its filter for the end of the file, after every row.
    # (The stubs lack a write-only sheet's column_dimensions and auto_filter; openpyxl has them.)
    last = get_column_letter(max(len(header), 1))
    sheet.auto_filter.ref = f"A1:{last}{rows}"  # type: ignore[attr-defined]
    book.save(out)


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Cell, font: Any = None) -> Any:
    from openpyxl.cell import WriteOnlyCell

    written: str | float | datetime | None
    if isinstance(value, date):
        # A day is a date cell at midnight, shown as YYYY-MM-DD.
        day = value.date() if isinstance(value, datetime) else value
        written = datetime.combine(day, time())
    elif isinstance(value, Decimal):
        # Quantities have at most three decimals: a double holds them as people write them.
        written = int(value) if value == value.to_integral_value() else float(value)
    elif isinstance(value, str):
        written = _plain(value)
    else:
        written = value
    cell = WriteOnlyCell(sheet, value=written)
    if isinstance(written, str):
        cell.data_type = "s"  # text as it is: openpyxl would take "=..." for a formula
    elif isinstance(written, datetime):
        cell.number_format = DATE_FORMAT
    if font is not None:
        cell.font = font
    return cell
