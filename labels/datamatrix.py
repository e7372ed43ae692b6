"""GS1 DataMatrix symbols as labels print them: all of an item label's element strings in one
square ECC 200 symbol, FNC1 first and after each element string that needs a separator.

zxing-cpp's writer (libzint) chooses the symbol's size and encodation; its module matrix is
kept, one character a module, and every output is drawn from it at whole printer dots: the
PNG, SVG and PDF, while the ZPL `^BX` field asks the printer for the same size and data. The
writer's own read-back of the symbol is checked against the data before anything is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from labels.errors import LabelError
from labels.symbols import FNC1, element_string, hri
from scanner.gs1 import GS, Element

QUIET_ZONE = 1  # module a side, at least (GS1 General Specifications, 5.12.3)
_DARK = 0  # the writer's image: 0 a dark module, 255 a light one


@dataclass(frozen=True)
class DataMatrixSymbol:
    """One GS1 DataMatrix: its modules row by row (`1` dark) and what it carries."""

    rows: tuple[str, ...]
    data: str  # as a scanner sends it: separators as GS, the leading FNC1 left out
    hri: str

    @property
    def size(self) -> int:
        """Modules a side (a square symbol), quiet zone excluded."""
        return len(self.rows)


def gs1_datamatrix(elements: Sequence[Element]) -> DataMatrixSymbol:
    """A square GS1 DataMatrix carrying the element strings in order. Raises LabelError for
    data the symbol cannot carry."""
    import zxingcpp  # a C++ library: loaded when a label first asks for the symbol

    if not elements:
        raise LabelError("A GS1 DataMatrix needs at least one element string")
    data = element_string(elements).replace(FNC1, GS)
    bad = sorted({c for e in elements for c in e.value if c in "[]" or not " " < c <= "~"})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise LabelError(f"{hri(elements)} cannot go in a GS1 DataMatrix: it has {shown}")
    # libzint's own GS1 syntax, AIs in square brackets, which GS1 data never holds: the
    # parenthesised HRI would misread a lot number with a "(" in it.
    text = "".join(f"[{element.ai}]{element.value}" for element in elements)
    try:
        barcode = zxingcpp.create_barcode(text, zxingcpp.DataMatrix, gs1=True, force_square=True)
    except ValueError as error:
        raise LabelError(f"{hri(elements)} cannot go in a GS1 DataMatrix: {error}") from None
    carried = barcode.bytes.decode("latin-1")
    if carried != data or barcode.symbology_identifier != "]d2":
        raise LabelError(f"The GS1 DataMatrix for {data!r} came out as {carried!r}")
    image = barcode.to_image(scale=1, add_quiet_zones=False)  # a pixel a module
    height, width = image.shape
    # zxing-cpp's type stub leaves out the buffer protocol its Image has.
    pixels = memoryview(image).tobytes().translate(_MODULES)  # type: ignore[arg-type]
    rows = tuple(pixels[row * width : (row + 1) * width].decode("ascii") for row in range(height))
    return DataMatrixSymbol(rows, data, hri(elements))


_MODULES = bytes.maketrans(bytes([_DARK, 255]), b"10")
