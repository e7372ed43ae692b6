"""Code 128 symbols as labels print them: GS1-128 for item data, plain Code 128 for the site's
own prefixed codes (`LOC:A-01`).

python-barcode chooses the code sets (A, B, C) and places FNC1; its codeword list is kept,
and every output is drawn from it: the bars of the PNG, SVG and PDF, and the ZPL `^BC` field,
which forces the same start character, code-set switches and FNC1s. So a printed symbol
carries exactly the codewords of its preview.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from barcode.charsets.code128 import CODES, STOP
from barcode.codex import Code128, Gs1_128
from biip.gs1_application_identifiers import GS1ApplicationIdentifier

from labels.errors import LabelError
from scanner.gs1 import GS, Element

FNC1 = "\xf1"  # python-barcode's FNC1; "\x1d" would be encoded as a GS data character
QUIET_ZONE = 10  # modules each side, at least (GS1 General Specifications §5.4.4)
MAX_GS1_CHARACTERS = 48  # data characters in one GS1-128, AIs and separators included

START_A, START_B, START_C = 103, 104, 105
CODE_C, CODE_B, CODE_A = 99, 100, 101  # in set B, 100 is FNC4; in set A, 101 is
FNC1_CODEWORD = 102
_STARTS = {START_A: "A", START_B: "B", START_C: "C"}
_STOP_PATTERN: str = STOP + "11"  # python-barcode keeps the stop's final bar apart: 13 modules


@dataclass(frozen=True)
class Symbol:
    """One Code 128 symbol: its codewords from the start character to the last data
    character (the check character follows from them) and its human-readable line."""

    codewords: tuple[int, ...]
    hri: str

    @property
    def gs1(self) -> bool:
        """Whether FNC1 follows the start character: a GS1-128."""
        return len(self.codewords) > 1 and self.codewords[1] == FNC1_CODEWORD

    @property
    def check(self) -> int:
        weighted = sum(i * codeword for i, codeword in enumerate(self.codewords[1:], start=1))
        return (self.codewords[0] + weighted) % 103

    @property
    def modules(self) -> str:
        """The bars and spaces, one character a module (`1` a bar), quiet zones excluded."""
        patterns: tuple[str, ...] = CODES
        return "".join(patterns[c] for c in (*self.codewords, self.check)) + _STOP_PATTERN

    @property
    def width(self) -> int:
        """Modules from the first bar to the last, quiet zones excluded."""
        return 11 * (len(self.codewords) + 1) + len(_STOP_PATTERN)

    @property
    def data(self) -> str:
        """What a scanner sends for it: a GS1 separator as GS, the leading FNC1 left out."""
        return decode_codewords(self.codewords)[0]


def gs1_symbol(elements: Sequence[Element]) -> Symbol:
    """A GS1-128 carrying the element strings in order, FNC1 after each one that needs a
    separator and is not last."""
    data = element_string(elements)
    symbol = Symbol(tuple(Gs1_128(data).encoded), hri(elements))
    _check_encoding(symbol, data.replace(FNC1, GS))
    return symbol


def code128_symbol(text: str) -> Symbol:
    """A plain Code 128 (no FNC1) carrying `text`, printable ASCII only."""
    bad = [c for c in dict.fromkeys(text) if not " " <= c <= "~"]
    if not text or bad:
        shown = ", ".join(repr(c) for c in bad) or "nothing"
        raise LabelError(f"{text!r} cannot be printed as a barcode: it has {shown}")
    symbol = Symbol(tuple(Code128(text).encoded), text)
    _check_encoding(symbol, text)
    return symbol


def element_string(elements: Sequence[Element]) -> str:
    """The element strings joined as python-barcode takes them, FNC1 as separator."""
    parts = []
    for position, element in enumerate(elements):
        parts.append(element.ai + element.value)
        last = position == len(elements) - 1
        if GS1ApplicationIdentifier.extract(element.ai).separator_required and not last:
            parts.append(FNC1)
    return "".join(parts)


def gs1_characters(elements: Sequence[Element]) -> int:
    """How many of GS1-128's 48 data characters the element strings take."""
    return len(element_string(elements))


def hri(elements: Sequence[Element]) -> str:
    """The human-readable line: `(01)09506000134352(17)261231`."""
    return "".join(f"({element.ai}){element.value}" for element in elements)


def decode_codewords(codewords: Sequence[int]) -> tuple[str, bool]:
    """The data a Code 128 symbol's codewords carry, as a scanner sends it (a separator FNC1
    as GS), and whether FNC1 came first (GS1). Shift and FNC2-4 are not used on our labels
    and raise ValueError, as does anything else that is not Code 128."""
    if not codewords or codewords[0] not in _STARTS:
        raise ValueError("A Code 128 symbol begins with a start character")
    current = _STARTS[codewords[0]]
    out: list[str] = []
    gs1 = False
    for position, codeword in enumerate(codewords[1:]):
        if codeword == FNC1_CODEWORD:
            if position == 0:
                gs1 = True
            else:
                out.append(GS)
        elif current == "C" and codeword < 100:
            out.append(f"{codeword:02d}")
        elif current == "B" and codeword < 95:
            out.append(chr(codeword + 32))
        elif current == "A" and codeword < 96:
            out.append(chr(codeword + 32) if codeword < 64 else chr(codeword - 64))
        elif codeword == CODE_C and current != "C":
            current = "C"
        elif codeword == CODE_B and current != "B":
            current = "B"
        elif codeword == CODE_A and current != "A":
            current = "A"
        else:
            raise ValueError(f"Codeword {codeword} in code set {current} is not used here")
    return "".join(out), gs1


def _check_encoding(symbol: Symbol, expected: str) -> None:
    """python-barcode keeps state between encodings; one that went wrong must never reach a
    printer, so the codewords are read back before anything is drawn from them."""
    if symbol.data != expected:
        raise LabelError(f"The barcode for {expected!r} came out as {symbol.data!r}")
