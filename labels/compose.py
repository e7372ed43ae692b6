"""Placing a label's content on its layout: text lines and barcode symbols at whole printer
dots. The result (`Drawing`) is what every output draws, so a PNG preview and the ZPL a
printer gets show the same lines and the same symbols in the same places.

The item data goes in as few GS1-128 symbols as fit the stock (one scan reading as much as
possible), each at the widest module the stock allows. Where one symbol would be too wide
(or over GS1-128's 48 data characters), the element strings are split, in order, across
two or more symbols, each with its own human-readable line.

A layout with `datamatrix` on puts all the item data in one GS1 DataMatrix. "beside": at
the top right, the text rows beside it narrower, the GS1-128 symbols below. "instead": in
the symbols' place, centred at the foot above its human-readable lines, the text rows
across the whole width; where they leave it no room there, at the top right as "beside"
puts it, with only its human-readable lines at the foot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from labels import fonts
from labels.content import Label
from labels.datamatrix import QUIET_ZONE as MATRIX_QUIET_ZONE
from labels.datamatrix import DataMatrixSymbol, gs1_datamatrix
from labels.errors import LabelError
from labels.layout import Layout, TextRow
from labels.symbols import (
    MAX_GS1_CHARACTERS,
    QUIET_ZONE,
    Symbol,
    code128_symbol,
    gs1_characters,
    gs1_symbol,
)
from scanner.gs1 import Element, field_name

# Identifiers are never cut short while their row can shrink: a cut lot number is no lot
# number, nor a cut date a date. Other fields (description, location name) wrap or are cut.
_IDENTIFIERS = frozenset({"part", "gtin", "lot", "serial", "expiry", "job", "location"})
_NUMBER_AIS = frozenset({"10", "21"})  # where a split label's second symbol should start
_SMALLEST = 0.6  # how far a row may shrink to fit, as a share of its size

_FIELD_TEXT: dict[str, Callable[[Label], str | None]] = {
    "part": lambda label: label.part,
    "description": lambda label: label.description,
    "gtin": lambda label: label.gtin and f"GTIN {label.gtin}",
    "lot": lambda label: label.lot and f"LOT {label.lot}",
    "serial": lambda label: label.serial and f"S/N {label.serial}",
    "expiry": lambda label: f"EXP {label.expiry.isoformat()}" if label.expiry else None,
    "quantity": lambda label: label.quantity_text and f"QTY {label.quantity_text}",
    "job": lambda label: label.job and f"JOB {label.job}",
    "location": lambda label: label.location,
    "location_name": lambda label: label.location_name,
}


class Align(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    CENTER = "center"


@dataclass(frozen=True)
class Text:
    """One line of text, aligned within its box: `x`, `y` the box's top left, in dots."""

    x: int
    y: int
    width: int
    size: int
    text: str
    align: Align = Align.LEFT
    bold: bool = False


@dataclass(frozen=True)
class Bars:
    """One symbol: `x`, `y` the top left of its first bar (the quiet zones lie outside)."""

    x: int
    y: int
    module: int
    height: int
    symbol: Symbol

    @property
    def width(self) -> int:
        return self.symbol.width * self.module

    def runs(self) -> Iterator[tuple[int, int]]:
        """Each bar as (left edge, width), in dots."""
        modules = self.symbol.modules
        start = 0
        while start < len(modules):
            end = start
            while end < len(modules) and modules[end] == modules[start]:
                end += 1
            if modules[start] == "1":
                yield self.x + start * self.module, (end - start) * self.module
            start = end


@dataclass(frozen=True)
class Matrix:
    """One 2D symbol: `x`, `y` the top left of its first module (the quiet zone lies outside),
    `module` the side of a module in dots."""

    x: int
    y: int
    module: int
    symbol: DataMatrixSymbol

    @property
    def side(self) -> int:
        return self.symbol.size * self.module

    def runs(self) -> Iterator[tuple[int, int, int]]:
        """Each horizontal run of dark modules as (left edge, top, width), in dots."""
        for number, row in enumerate(self.symbol.rows):
            top = self.y + number * self.module
            start = row.find("1")
            while start != -1:
                end = row.find("0", start)
                end = len(row) if end == -1 else end
                yield self.x + start * self.module, top, (end - start) * self.module
                start = row.find("1", end)


@dataclass(frozen=True)
class Drawing:
    """A label placed on its stock, in printer dots."""

    layout: str
    width: int
    height: int
    dpi: int
    texts: tuple[Text, ...]
    bars: tuple[Bars, ...]
    matrices: tuple[Matrix, ...] = ()


def compose(label: Label, layout: Layout) -> Drawing:
    """The label laid out on `layout`. Raises LabelError when it does not fit."""
    width, height = layout.dots(layout.width), layout.dots(layout.height)
    margin = layout.dots(layout.margin)
    usable = width - 2 * margin
    matrix = _place_matrix(label, layout)
    instead = matrix is not None and layout.datamatrix == "instead"
    if matrix is not None and instead:
        at_foot = _matrix_at_foot(label, layout, matrix)
        if at_foot is not None:
            return at_foot
    symbols = [] if instead else plan_symbols(label, layout)
    texts, y = _place_rows(label, layout, matrix)
    hri_size = layout.dots(layout.hri_size)
    if matrix is not None and instead:
        texts += _matrix_hri(label, layout, matrix.symbol, y)
        return Drawing(layout.name, width, height, layout.dpi, tuple(texts), (), matrices=(matrix,))
    hri_gap = max(2, hri_size // 4)
    below = hri_gap + line_height(hri_size)
    gap = layout.dots(layout.gap)
    room = height - margin - y - len(symbols) * below - (len(symbols) - 1) * gap
    bar_height = min(layout.dots(layout.bar_height), room // len(symbols))
    if bar_height < layout.dots(layout.min_bar_height):
        raise LabelError(
            f"This {label.kind.value} label does not fit {layout.name}: its text and "
            f"{len(symbols)} barcode{'s' if len(symbols) > 1 else ''} need a taller label"
        )
    # The barcodes sit at the foot of the label; spare room goes between them and the text.
    y = height - margin - len(symbols) * (bar_height + below) - (len(symbols) - 1) * gap
    bars: list[Bars] = []
    for symbol, module in symbols:
        placed_bars = Bars((width - symbol.width * module) // 2, y, module, bar_height, symbol)
        bars.append(placed_bars)
        top = y + bar_height + hri_gap
        texts.append(Text(margin, top, usable, hri_size, symbol.hri, Align.CENTER))
        y = top + line_height(hri_size) + gap
    matrices = (matrix,) if matrix else ()
    return Drawing(
        layout.name, width, height, layout.dpi, tuple(texts), tuple(bars), matrices=matrices
    )


def _place_rows(label: Label, layout: Layout, matrix: Matrix | None) -> tuple[list[Text], int]:
    """The text rows from the top margin down, those beside `matrix` (at the top right)
    ending short of it by its quiet zone or the gap; and the height below them and the
    matrix, where the rest of the label starts."""
    margin = layout.dots(layout.margin)
    usable = layout.dots(layout.width) - 2 * margin
    texts: list[Text] = []
    y = margin
    beside_matrix = usable - (matrix.side + _matrix_clearance(layout) if matrix else 0)
    matrix_bottom = matrix.y + matrix.side + _matrix_clearance(layout) if matrix else y
    for row in layout.rows:
        values = [(name, text) for name in row.fields if (text := _FIELD_TEXT[name](label))]
        if values:
            room = beside_matrix if y < matrix_bottom else usable
            placed = _place_row(values, row, layout, margin, y, room)
            texts += placed
            y = max(line.y + line_height(line.size) for line in placed) + layout.dots(layout.gap)
    return texts, max(y, matrix_bottom)


def _matrix_at_foot(label: Label, layout: Layout, matrix: Matrix) -> Drawing | None:
    """A label whose DataMatrix is there "instead" of the GS1-128 symbols, in their place:
    centred at the foot, just above its human-readable lines, with the text rows above it
    across the label's whole width. None when the rows and the matrix do not both fit so:
    the matrix then stays at the top right, the rows beside it."""
    width, height = layout.dots(layout.width), layout.dots(layout.height)
    texts, y = _place_rows(label, layout, None)
    try:
        hri = _matrix_hri(label, layout, matrix.symbol, y)
    except LabelError:
        return None  # said by the placement at the top right, if that does not fit either
    clearance = _matrix_clearance(layout)
    top = min(line.y for line in hri) - clearance - matrix.side
    if top - clearance < y:
        return None
    placed = Matrix((width - matrix.side) // 2, top, matrix.module, matrix.symbol)
    return Drawing(
        layout.name, width, height, layout.dpi, tuple(texts + hri), (), matrices=(placed,)
    )


def _place_matrix(label: Label, layout: Layout) -> Matrix | None:
    """The label's GS1 DataMatrix at the top right, inside the margins; None when the layout
    has none or the label has no item data."""
    if layout.datamatrix == "off" or label.location_scan() is not None:
        return None
    symbol = gs1_datamatrix(label.elements())
    module = layout.datamatrix_module
    width, height = layout.dots(layout.width), layout.dots(layout.height)
    margin = layout.dots(layout.margin)
    side = symbol.size * module
    quiet = MATRIX_QUIET_ZONE * module
    if side > min(width, height) - 2 * max(margin, quiet):
        raise LabelError(
            f"The GS1 DataMatrix of this {label.kind.value} label is {symbol.size} modules a "
            f"side, {side} dots at {module} a module: too big for {layout.name}; "
            "use a smaller datamatrix_module or a larger label"
        )
    offset = max(margin, quiet)
    return Matrix(width - offset - side, offset, module, symbol)


def _matrix_clearance(layout: Layout) -> int:
    """What keeps other content off the DataMatrix: its quiet zone, or the gap if wider."""
    return max(MATRIX_QUIET_ZONE * layout.datamatrix_module, layout.dots(layout.gap))


def _matrix_hri(label: Label, layout: Layout, symbol: DataMatrixSymbol, top: int) -> list[Text]:
    """The DataMatrix's human-readable lines at the foot of the label, centred, broken
    between element strings where one line would be too wide."""
    margin = layout.dots(layout.margin)
    usable = layout.dots(layout.width) - 2 * margin
    size = layout.dots(layout.hri_size)
    lines: list[str] = []
    for element in label.elements():
        part = f"({element.ai}){element.value}"
        if lines and fonts.text_width(lines[-1] + part, size) <= usable:
            lines[-1] += part
        else:
            lines.append(part)
    step = line_height(size)
    y = layout.dots(layout.height) - margin - len(lines) * step
    if y < top:
        raise LabelError(
            f"This {label.kind.value} label does not fit {layout.name}: its text, DataMatrix "
            f"and {symbol.hri} need a taller label"
        )
    return [
        Text(margin, y + i * step, usable, size, line, Align.CENTER) for i, line in enumerate(lines)
    ]


def plan_symbols(label: Label, layout: Layout) -> list[tuple[Symbol, int]]:
    """The label's symbols and the module width of each: the fewest symbols that fit the
    stock; then splits that start a symbol at the lot or serial, so the part and expiry
    read together and the number with its count, (01)(17) / (10)(30); then the widest
    modules."""
    scan = label.location_scan()
    if scan is not None:
        symbol = code128_symbol(scan)
        module = module_for(symbol, layout)
        if module is None:
            raise LabelError(f"{scan} is too long for a barcode on {layout.name}")
        return [(symbol, module)]
    elements = label.elements()
    best: tuple[tuple[int, int, int, tuple[int, ...]], list[tuple[Symbol, int]]] | None = None
    # Fewest symbols first (a stable sort keeps ties in order): once a split fits, no split
    # into more symbols can win, and encoding them was most of composing a label.
    for groups in sorted(_splits(elements), key=len):
        if best is not None and len(groups) > best[0][0]:
            break
        chosen = []
        for group in groups:
            if gs1_characters(group) > MAX_GS1_CHARACTERS:
                break
            symbol = gs1_symbol(group)
            module = module_for(symbol, layout)
            if module is None:
                break
            chosen.append((symbol, module))
        else:
            shortfall = sum(layout.module - module for _, module in chosen)
            odd_cuts = sum(group[0].ai not in _NUMBER_AIS for group in groups[1:])
            key = (len(chosen), odd_cuts, shortfall, tuple(-len(group) for group in groups))
            if best is None or key < best[0]:
                best = (key, chosen)
    if best is None:
        raise LabelError(_too_wide(elements, layout))
    return best[1]


def module_for(symbol: Symbol, layout: Layout) -> int | None:
    """The widest module, in dots, at which the symbol's bars stay inside the margins and
    its quiet zones (10 modules a side) on the label; None if none does."""
    width = layout.dots(layout.width)
    usable = width - 2 * layout.dots(layout.margin)
    for module in range(layout.module, layout.min_module - 1, -1):
        bars = symbol.width * module
        if bars <= usable and bars + 2 * QUIET_ZONE * module <= width:
            return module
    return None


def line_height(size: int) -> int:
    return round(size * 1.2)


def _splits(elements: Sequence[Element]) -> Iterator[list[list[Element]]]:
    """Every way to cut the element strings, in order, into consecutive groups."""
    count = len(elements)
    for cuts in range(2 ** max(count - 1, 0)):
        groups: list[list[Element]] = [[elements[0]]] if elements else []
        for position in range(1, count):
            if cuts & (1 << (position - 1)):
                groups.append([])
            groups[-1].append(elements[position])
        yield groups


def _too_wide(elements: Sequence[Element], layout: Layout) -> str:
    for element in elements:
        symbol = gs1_symbol([element])
        if module_for(symbol, layout) is None:
            return (
                f"The {field_name(element.ai)} {element.value} is too long for one barcode "
                f"on {layout.name}: use a wider or finer layout"
            )
    return f"The label's data does not fit {layout.name}"


def _place_row(
    values: list[tuple[str, str]], row: TextRow, layout: Layout, left: int, y: int, usable: int
) -> list[Text]:
    """A row's text: wrapped when it is one field given several lines; otherwise the whole
    row shrinks (to 60%) until its fields fit side by side, and only then is the first
    field cut short, unless it is an identifier."""
    size = layout.dots(row.size)
    (first_name, first), *others = values
    if not others and row.lines > 1 and first_name not in _IDENTIFIERS:
        lines = fonts.wrap(first, size, usable, row.lines, row.bold)
        return [
            Text(left, y + i * line_height(size), usable, size, line, bold=row.bold)
            for i, line in enumerate(lines)
        ]
    spacing = size // 2
    shrinking = [text for name, text in values if name in _IDENTIFIERS or name != first_name]

    def needed(at: int) -> int:
        return sum(fonts.text_width(text, at, row.bold) for text in shrinking) + spacing * (
            len(values) - 1
        )

    size = fonts.fitting(needed, size, usable, smallest=round(size * _SMALLEST))
    placed: list[Text] = []
    right = left + usable
    for _, text in reversed(others):
        text = fonts.fit(text, size, right - left, row.bold)
        box = fonts.text_width(text, size, row.bold)
        placed.append(Text(right - box, y, box, size, text, Align.RIGHT, row.bold))
        right -= box + spacing
    text = fonts.fit(first, size, right - left, row.bold)
    placed.insert(0, Text(left, y, right - left, size, text, Align.LEFT, row.bold))
    return placed
