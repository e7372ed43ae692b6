r"""Labels as ZPL II for Zebra-compatible thermal printers: one `^XA`...`^XZ` format a label.

Each barcode is `^BC` in mode N with no interpretation line of its own. Its field data is
the symbol's own codewords written as Zebra's invocation codes (ZPL II Programming Guide,
^BC, "Code 128 Invocation Characters"): the start character (`>;` C, `>:` B, `>9` A), each
code-set switch (`>5` C, `>6` B, `>7` A) and FNC1 (`>8`) where python-barcode put them,
digit pairs in set C, characters in set B. The printer so draws exactly the codewords of
the preview, and never chooses a code set itself. The three characters set B cannot take
as text have invocation codes of their own: `>0` for `>`, `><` for `^`, `>=` for `~`.

A GS1 DataMatrix is `^BX` at quality 200 (ECC 200), its module in dots, forced to the
preview's rows and columns so printer and preview agree on its size, square. Its data uses
the escape character `^BX` names (ZPL II Programming Guide, ^BX, parameter g and "Field Data
(^FD) for ^BX", quality 200): we name `_`, since older firmware took `_` and newer `~` by
default, and `~` starts a ZPL command. `_1` is FNC1, first (GS1) and in place of each GS;
`_` in the data is `__`. The field also takes `^FH\` hex escapes, which the printer undoes
before the escape sequences: `^`, `~`, `\` and anything outside printable ASCII go as
`\XX`, so no data can end the field or start a command.

Text fields are ZPL's scalable font 0, UTF-8 (`^CI28`), with `^FH` hex escapes for `^`,
`~`, the escape character `_` itself and anything outside printable ASCII, so no text can
end a field or start a command.
"""

from __future__ import annotations

from collections.abc import Sequence

from labels.compose import Align, Bars, Drawing, Matrix, Text
from labels.symbols import CODE_A, CODE_B, CODE_C, FNC1_CODEWORD, START_A, START_B, START_C
from scanner.gs1 import GS

_STARTS = {START_A: (">9", "A"), START_B: (">:", "B"), START_C: (">;", "C")}
_SWITCHES = {CODE_C: (">5", "C"), CODE_B: (">6", "B"), CODE_A: (">7", "A")}
# Set B values that ZPL would read as something else: '>' (30), '^' (62), '~' (94).
_SET_B_SPECIAL = {30: ">0", 62: "><", 94: ">="}
_HEX_ESCAPED = frozenset("^~_")
_MATRIX_ESCAPE = "_"  # ^BX's g: the escape character of quality 200 data
_MATRIX_HEX = "\\"  # ^FH's indicator in a ^BX field
_MATRIX_HEX_ESCAPED = frozenset("^~\\")


def to_zpl(drawings: Sequence[Drawing]) -> str:
    return "".join(_label(drawing) for drawing in drawings)


def field_data(bars: Bars) -> str:
    """The `^FD` data that makes a Zebra printer draw this symbol's codewords."""
    codewords = bars.symbol.codewords
    start, current = _STARTS[codewords[0]]
    out = [start]
    for codeword in codewords[1:]:
        if codeword == FNC1_CODEWORD:
            out.append(">8")
        elif current == "C" and codeword < 100:
            out.append(f"{codeword:02d}")
        elif current == "B" and codeword in _SET_B_SPECIAL:
            out.append(_SET_B_SPECIAL[codeword])
        elif current == "B" and codeword < 95:
            out.append(chr(codeword + 32))
        elif codeword in _SWITCHES and _SWITCHES[codeword][1] != current:
            code, current = _SWITCHES[codeword]
            out.append(code)
        else:
            # Set A data and FNC2-4 never reach our labels (printable ASCII only).
            raise ValueError(f"Codeword {codeword} in code set {current} has no ZPL form here")
    return "".join(out)


def datamatrix_data(data: str) -> str:
    """The `^FD` data of a GS1 DataMatrix carrying `data` (separators as GS): FNC1 first and
    for each GS, the escape character doubled, and `^FH\\` hex escapes where ZPL would read
    a command."""
    out = [_MATRIX_ESCAPE + "1"]
    for c in data:
        if c == GS:
            out.append(_MATRIX_ESCAPE + "1")
        elif c == _MATRIX_ESCAPE:
            out.append(_MATRIX_ESCAPE * 2)
        elif " " <= c <= "~" and c not in _MATRIX_HEX_ESCAPED:
            out.append(c)
        else:
            out.extend(f"{_MATRIX_HEX}{byte:02X}" for byte in c.encode("utf-8"))
    return "".join(out)


def text_data(text: str) -> str:
    """Text for a `^FH` field: printable ASCII as it is, the rest as `_XX` UTF-8 bytes."""
    out = []
    for c in text:
        if " " <= c <= "~" and c not in _HEX_ESCAPED:
            out.append(c)
        else:
            out.extend(f"_{byte:02X}" for byte in c.encode("utf-8"))
    return "".join(out)


def _label(drawing: Drawing) -> str:
    lines = [
        "^XA",
        "^CI28",
        f"^PW{drawing.width}",
        f"^LL{drawing.height}",
        "^LH0,0",
    ]
    lines += [_text(text) for text in drawing.texts]
    lines += [_barcode(bars) for bars in drawing.bars]
    lines += [_datamatrix(matrix) for matrix in drawing.matrices]
    lines += ["^PQ1", "^XZ"]
    return "\n".join(lines) + "\n"


def _text(text: Text) -> str:
    block = ""
    if text.align != Align.LEFT:
        justify = "R" if text.align == Align.RIGHT else "C"
        block = f"^FB{text.width},1,0,{justify},0"
    return f"^FO{text.x},{text.y}^A0N,{text.size},{text.size}{block}^FH^FD{text_data(text.text)}^FS"


def _barcode(bars: Bars) -> str:
    return (
        f"^BY{bars.module},3,{bars.height}^FO{bars.x},{bars.y}"
        f"^BCN,{bars.height},N,N,N,N^FD{field_data(bars)}^FS"
    )


def _datamatrix(matrix: Matrix) -> str:
    size = matrix.symbol.size
    return (
        f"^FO{matrix.x},{matrix.y}"
        f"^BXN,{matrix.module},200,{size},{size},,{_MATRIX_ESCAPE},1"
        f"^FH{_MATRIX_HEX}^FD{datamatrix_data(matrix.symbol.data)}^FS"
    )
