"""ZPL read back field by field: the field origins, the `^BC` data with Zebra's invocation
codes decoded back to codewords and to the element string, and the text. It must carry
exactly what the PNG of the same label carries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labels.compose import Align, Bars, compose
from labels.content import Label, LabelKind
from labels.layout import LAYOUTS
from labels.symbols import code128_symbol, gs1_symbol
from labels.zpl import field_data, text_data, to_zpl
from scanner.gs1 import GS, Element
from scanner.numbering import CSET82
from scanner.scan import read_scan
from tests.labels.test_labels import CASES, decode

# Zebra's Code 128 invocation codes (ZPL II Programming Guide, ^BC), read independently of
# labels/zpl.py: code -> (codeword, the code set it switches to, if any).
STARTS = {">9": (103, "A"), ">:": (104, "B"), ">;": (105, "C")}
INVOCATIONS = {">5": (99, "C"), ">6": (100, "B"), ">7": (101, "A"), ">8": (102, None)}
SET_B_CHARACTERS = {">0": 30, "><": 62, ">=": 94}


@dataclass
class ZplBarcode:
    x: int
    y: int
    module: int
    height: int
    codewords: list[int]
    data: str  # as a scanner sends it: separators as GS, no leading FNC1
    gs1: bool


@dataclass
class ZplText:
    x: int
    y: int
    size: int
    text: str
    block: tuple[int, str] | None  # ^FB width and justification


@dataclass
class ZplLabel:
    width: int
    height: int
    barcodes: list[ZplBarcode]
    texts: list[ZplText]


def read_zpl(zpl: str) -> list[ZplLabel]:
    """Our own ZPL, command by command. None of its field data holds a caret."""
    labels: list[ZplLabel] = []
    field: dict[str, str] = {}
    module = 0
    for command in re.split(r"\^", zpl.replace("\n", "")):
        code, rest = command[:2], command[2:]
        if code == "XA":
            labels.append(ZplLabel(0, 0, [], []))
        elif code == "PW":
            labels[-1].width = int(rest)
        elif code == "LL":
            labels[-1].height = int(rest)
        elif code == "BY":
            module = int(rest.split(",")[0])
        elif code in ("FO", "A0", "FB", "BC", "FD"):
            field[code] = rest
        elif code == "FH":
            field["FH"] = ""
        elif code == "FS":
            x, y = (int(v) for v in field["FO"].split(","))
            if "BC" in field:
                assert field["BC"].split(",")[2:] == ["N", "N", "N", "N"]
                height = int(field["BC"].split(",")[1])
                codewords, data, gs1 = read_bc_data(field["FD"])
                labels[-1].barcodes.append(ZplBarcode(x, y, module, height, codewords, data, gs1))
            else:
                assert "FH" in field
                size = int(field["A0"].split(",")[1])
                block = None
                if "FB" in field:
                    width, _, _, justify, _ = field["FB"].split(",")
                    block = (int(width), justify)
                labels[-1].texts.append(ZplText(x, y, size, unhex(field["FD"]), block))
            field = {}
    return labels


def read_bc_data(data: str) -> tuple[list[int], str, bool]:
    """A `^BC` mode N field's codewords and what they carry."""
    codewords, current = [STARTS[data[:2]][0]], STARTS[data[:2]][1]
    out: list[str] = []
    position = 2
    while position < len(data):
        two = data[position : position + 2]
        if two in INVOCATIONS:
            codeword, switch = INVOCATIONS[two]
            codewords.append(codeword)
            if switch is None:
                out.append("<FNC1>")
            else:
                current = switch
            position += 2
        elif current == "C":
            assert two.isdigit() and len(two) == 2, f"unpaired digit in set C: {data}"
            codewords.append(int(two))
            out.append(two)
            position += 2
        elif current == "B" and two in SET_B_CHARACTERS:
            codewords.append(SET_B_CHARACTERS[two])
            out.append(chr(SET_B_CHARACTERS[two] + 32))
            position += 2
        else:
            assert current == "B" and data[position] not in "^~>"
            codewords.append(ord(data[position]) - 32)
            out.append(data[position])
            position += 1
    text = "".join(out)
    gs1 = text.startswith("<FNC1>")
    return codewords, text.removeprefix("<FNC1>").replace("<FNC1>", GS), gs1


def unhex(data: str) -> str:
    raw = re.sub(r"_([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), data)
    return raw.encode("latin-1").decode("utf-8")


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("case", list(CASES))
def test_the_zpl_of_every_layout_carries_what_the_png_carries(
    tmp_path: Path, layout: str, case: str
) -> None:
    drawing = compose(CASES[case], LAYOUTS[layout])
    (label,) = read_zpl(to_zpl([drawing]))
    assert (label.width, label.height) == (drawing.width, drawing.height)
    assert [(b.x, b.y, b.module, b.height) for b in label.barcodes] == [
        (b.x, b.y, b.module, b.height) for b in drawing.bars
    ]
    # The same codewords as the preview: the printer chooses no code set of its own.
    assert [b.codewords for b in label.barcodes] == [list(b.symbol.codewords) for b in drawing.bars]
    png = decode(drawing, tmp_path / "label.png")
    assert sorted(b.data for b in label.barcodes) == sorted(found.data for found in png)
    for barcode in label.barcodes:
        aim = "]C1" if barcode.gs1 else "]C0"
        scanned = read_scan(aim + barcode.data)
        (same,) = [found for found in png if found.data == barcode.data]
        assert same.scan is not None and scanned.as_json() == same.scan.as_json()
    assert [(t.x, t.y, t.size, t.text) for t in label.texts] == [
        (t.x, t.y, t.size, t.text) for t in drawing.texts
    ]


def test_text_is_placed_as_in_the_preview() -> None:
    drawing = compose(CASES["lot-with-gtin"], LAYOUTS["4x2-203"])
    (label,) = read_zpl(to_zpl([drawing]))
    for text, placed in zip(label.texts, drawing.texts, strict=True):
        if placed.align == Align.LEFT:
            assert text.block is None
        else:
            assert text.block == (placed.width, "R" if placed.align == Align.RIGHT else "C")


def test_several_labels_are_several_formats() -> None:
    drawings = [compose(label, LAYOUTS["4x2-203"]) for label in CASES.values()]
    zpl = to_zpl(drawings)
    assert zpl.count("^XA") == zpl.count("^XZ") == len(drawings)
    assert len(read_zpl(zpl)) == len(drawings)


def test_the_zebra_example_for_gs1_128_is_what_we_write() -> None:
    # The field data was written out by hand from the codewords and Zebra's table of
    # invocation codes, not by our encoder.
    elements = [Element("01", "09506000134352"), Element("17", "261231")]
    elements += [Element("10", "LOT123"), Element("21", "SN0001")]
    bars = Bars(0, 0, 2, 50, gs1_symbol(elements))
    assert field_data(bars) == ">;>801095060001343521726123110>6LOT123>821SN>50001"
    odd = [Element("01", "09506000134352"), Element("10", "12345"), Element("3103", "000125")]
    assert field_data(Bars(0, 0, 2, 50, gs1_symbol(odd))) == (
        ">;>80109506000134352101234>65>8>53103000125"
    )


def test_characters_zpl_reads_as_commands_never_reach_the_printer_raw() -> None:
    bars = Bars(0, 0, 2, 50, code128_symbol("LOC:A>1^~_"))
    assert field_data(bars) == ">:LOC:A>01><>=_"
    assert read_bc_data(field_data(bars))[1] == "LOC:A>1^~_"
    assert text_data("Ölfass ^1~2_3 (µm)") == "_C3_96lfass _5E1_7E2_5F3 (_C2_B5m)"
    label = Label(
        LabelKind.LOCATION, location="A-1", location_name="Bay ^XZ~JA", location_prefix="LOC:"
    )
    (read,) = read_zpl(to_zpl([compose(label, LAYOUTS["4x2-203"])]))
    assert "Bay ^XZ~JA" in [text.text for text in read.texts]


@given(lot=st.text(alphabet=sorted(CSET82), min_size=1, max_size=20))
def test_any_lot_survives_the_trip_through_zpl(lot: str) -> None:
    symbol = gs1_symbol([Element("01", "09506000134352"), Element("10", lot)])
    codewords, data, gs1 = read_bc_data(field_data(Bars(0, 0, 2, 50, symbol)))
    assert (codewords, data, gs1) == (list(symbol.codewords), symbol.data, True)
