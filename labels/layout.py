"""Label layouts as data: the stock (size in inches, printer dpi), margins, the text rows from
top to bottom, and the barcodes' module width and height. The barcodes fill the space below
the text.

Four layouts come with lotscan, for 4x2 in and 4x6 in thermal stock at 203 and 300 dpi. A
site adds its own as a JSON or TOML file, named by path wherever a layout name is taken.
Its keys are the fields of `Layout`; it may start from a built-in layout (`based_on`) and
change only what differs:

    based_on = "4x2-203"
    margin = 0.12
    rows = [
      { fields = ["part", "quantity"], size = 0.22, bold = true },
      { fields = ["lot", "expiry"], size = 0.2, bold = true },
    ]

Lengths are in inches, except the module widths, which are whole printer dots: a module that
is not a whole number of dots prints as bars of uneven width.

`datamatrix` adds a GS1 DataMatrix carrying all the label's item data in one symbol (the
DSCSA and UDI shape: key, dates, lot, serial, count), at the top right: `"beside"` the
GS1-128 symbols, or `"instead"` of them (its human-readable line at the foot); `"off"`, the
default, leaves the label as it was. Its module, `datamatrix_module`, is in whole dots:

    based_on = "4x2-300"
    datamatrix = "beside"
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from labels.errors import LayoutError

FIELDS = (
    "part",
    "description",
    "gtin",
    "lot",
    "serial",
    "expiry",
    "quantity",
    "job",
    "location",
    "location_name",
)
"""What a text row can show; a row shows the fields the label has and vanishes if none."""

DATAMATRIX = ("off", "beside", "instead")
"""Where a layout puts a GS1 DataMatrix of the item data: nowhere, beside the GS1-128
symbols, or instead of them."""


@dataclass(frozen=True)
class TextRow:
    """One row of text. The first field starts at the left margin; the others follow it at
    the right margin. A row of one field may wrap over `lines` lines."""

    fields: tuple[str, ...]
    size: float  # the text's height, in inches
    lines: int = 1
    bold: bool = False

    def __post_init__(self) -> None:
        unknown = [name for name in self.fields if name not in FIELDS]
        if not self.fields or unknown:
            raise LayoutError(
                f"A row shows one or more of {', '.join(FIELDS)}; not {unknown or 'nothing'}"
            )
        if self.size <= 0 or self.lines < 1:
            raise LayoutError(f"Row {', '.join(self.fields)}: size and lines must be positive")


@dataclass(frozen=True)
class Layout:
    name: str
    width: float  # the stock, in inches
    height: float
    dpi: int
    margin: float  # blank on every side; the barcodes' quiet zones may extend into it
    module: int  # the barcodes' module width (X) in dots, the widest used
    min_module: int  # the narrowest X used when a symbol would not fit at `module`
    bar_height: float  # the tallest a symbol is drawn
    min_bar_height: float  # below this, the label does not fit
    hri_size: float  # the human-readable line under each symbol
    gap: float  # between rows, and between a symbol and what follows
    rows: tuple[TextRow, ...]
    datamatrix: str  # one of DATAMATRIX
    datamatrix_module: int  # the DataMatrix's module (X) in dots

    def __post_init__(self) -> None:
        problems = []
        if self.dpi < 100 or self.dpi > 1200:
            problems.append("dpi must be between 100 and 1200")
        if not 0 <= self.margin < min(self.width, self.height) / 2:
            problems.append("the margins leave no room")
        if not 1 <= self.min_module <= self.module:
            problems.append("min_module must be at least 1 and at most module")
        if not 0 < self.min_bar_height <= self.bar_height:
            problems.append("min_bar_height must be above 0 and at most bar_height")
        if self.hri_size <= 0 or self.gap < 0:
            problems.append("hri_size must be above 0 and gap at least 0")
        if self.datamatrix not in DATAMATRIX:
            problems.append(f"datamatrix must be off, beside or instead, not {self.datamatrix!r}")
        if self.datamatrix_module < 1:
            problems.append("datamatrix_module must be at least 1 dot")
        if problems:
            raise LayoutError(f"Layout {self.name}: {'; '.join(problems)}")

    def dots(self, inches: float) -> int:
        """A length in whole printer dots."""
        return round(inches * self.dpi)


_ROWS_4X2 = (
    TextRow(("location",), 0.5, bold=True),
    TextRow(("location_name",), 0.16, lines=2),
    TextRow(("part", "quantity", "job"), 0.2, bold=True),
    TextRow(("description",), 0.13),
    TextRow(("serial",), 0.18, bold=True),
    TextRow(("lot", "expiry"), 0.18, bold=True),
)
_ROWS_4X6 = (
    TextRow(("location",), 0.75, bold=True),
    TextRow(("location_name",), 0.25, lines=2),
    TextRow(("part",), 0.34, bold=True),
    TextRow(("description",), 0.2, lines=2),
    TextRow(("serial",), 0.3, bold=True),
    TextRow(("lot",), 0.3, bold=True),
    TextRow(("expiry", "quantity"), 0.26, bold=True),
    TextRow(("job",), 0.26, bold=True),
)


def _builtin(
    name: str, height: float, dpi: int, module: int, min_module: int, datamatrix_module: int
) -> Layout:
    """4 in wide stock; the 6 in tall stock gets a row a field, bigger text, taller bars."""
    tall = height >= 4
    return Layout(
        name=name,
        width=4.0,
        height=height,
        dpi=dpi,
        margin=0.12 if tall else 0.08,
        module=module,
        min_module=min_module,
        bar_height=1.0 if tall else 0.6,
        min_bar_height=0.35 if tall else 0.25,
        hri_size=0.14 if tall else 0.1,
        gap=0.06 if tall else 0.03,
        rows=_ROWS_4X6 if tall else _ROWS_4X2,
        datamatrix="off",
        datamatrix_module=datamatrix_module,
    )


# At 203 dpi a dot is 0.125 mm, at 300 dpi 0.085 mm. The narrowest module, 2 dots (0.25 mm)
# and 3 dots (0.254 mm), is what a 20-character lot needs to fit 4 in; the widest on 6 in
# stock, 4 and 6 dots (0.50 and 0.51 mm), meets GS1's 0.495 mm for logistics labels.
# A GS1 DataMatrix wants an X of 0.255 to 0.615 mm in healthcare (GS1 General
# Specifications, symbol specification tables, 5.12.3) and a quiet zone of one module: 3 dots
# (0.375 mm) and 4 dots (0.34 mm) keep the largest symbol a label needs (32 x 32 modules)
# within an inch on 4x2 in stock; 6 in stock takes 4 and 6 dots (0.50 and 0.51 mm).
LAYOUTS = {
    layout.name: layout
    for layout in (
        _builtin("4x2-203", 2.0, 203, module=3, min_module=2, datamatrix_module=3),
        _builtin("4x2-300", 2.0, 300, module=4, min_module=3, datamatrix_module=4),
        _builtin("4x6-203", 6.0, 203, module=4, min_module=2, datamatrix_module=4),
        _builtin("4x6-300", 6.0, 300, module=6, min_module=3, datamatrix_module=6),
    )
}
DEFAULT_LAYOUT = "4x2-203"


def layout_named(name_or_path: str) -> Layout:
    """A built-in layout by name, or a site's layout file by path (.json or .toml)."""
    if name_or_path in LAYOUTS:
        return LAYOUTS[name_or_path]
    path = Path(name_or_path)
    if path.suffix.lower() not in (".json", ".toml"):
        known = ", ".join(LAYOUTS)
        raise LayoutError(
            f"Unknown layout {name_or_path}: use one of {known}, or a .json or .toml file"
        )
    return load_layout(path)


def load_layout(path: Path) -> Layout:
    """A layout file: a built-in layout (`based_on`, default 4x2-203) with its keys changed."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except OSError as error:
        raise LayoutError(f"Cannot read layout {path}: {error.strerror or error}") from None
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise LayoutError(
            f"Layout {path} is not valid {path.suffix[1:].upper()}: {error}"
        ) from None
    if not isinstance(data, dict):
        raise LayoutError(f"Layout {path} should be a table of settings")
    return layout_from(data, default_name=path.stem, where=str(path))


def layout_from(data: dict[str, Any], *, default_name: str, where: str) -> Layout:
    settings = dict(data)
    base_name = settings.pop("based_on", DEFAULT_LAYOUT)
    if base_name not in LAYOUTS:
        raise LayoutError(f"{where}: based_on {base_name!r} is not one of {', '.join(LAYOUTS)}")
    base = LAYOUTS[base_name]
    known = {each.name: each for each in fields(Layout)}
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise LayoutError(f"{where}: unknown setting {', '.join(unknown)}")
    changes: dict[str, Any] = {"name": default_name}
    for key, value in settings.items():
        changes[key] = _rows(value, where) if key == "rows" else _setting(key, value, base, where)
    try:
        return replace(base, **changes)
    except TypeError as error:
        raise LayoutError(f"{where}: {error}") from None


def _setting(key: str, value: Any, base: Layout, where: str) -> Any:
    expected = type(getattr(base, key))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not expected:
        raise LayoutError(f"{where}: {key} should be {_kind(expected)}, not {value!r}")
    return value


def _rows(value: Any, where: str) -> tuple[TextRow, ...]:
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise LayoutError(f"{where}: rows should be a list of tables")
    rows = []
    for number, row in enumerate(value, start=1):
        names = row.get("fields")
        size = row.get("size")
        lines = row.get("lines", 1)
        bold = row.get("bold", False)
        unknown = sorted(set(row) - {"fields", "size", "lines", "bold"})
        if (
            unknown
            or not isinstance(names, list)
            or not all(isinstance(name, str) for name in names)
            or not isinstance(size, int | float)
            or isinstance(size, bool)
            or not isinstance(lines, int)
            or not isinstance(bold, bool)
        ):
            raise LayoutError(
                f"{where}: row {number} should have fields (a list of names), size (inches) "
                "and may have lines and bold"
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
            )
        try:
            rows.append(TextRow(tuple(names), float(size), lines, bold))
        except LayoutError as error:
            raise LayoutError(f"{where}: row {number}: {error}") from None
    return tuple(rows)


def _kind(expected: type) -> str:
    return {float: "a number", int: "a whole number", str: "text"}.get(expected, "a value")
