"""GS1 DataMatrix on labels (docs/architecture.md, "Labels and the print queue"): with a
layout's `datamatrix` on, every built-in layout and item label carries its element strings in
one symbol that zxing-cpp reads back to exactly that data, beside GS1-128 symbols that still
read or instead of them; the SVG, the PDF and the ZPL `^BX` field carry the same symbol."""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from labels.compose import Drawing, Matrix, compose
from labels.content import Label, LabelKind
from labels.datamatrix import gs1_datamatrix
from labels.errors import LabelError, LayoutError
from labels.images import to_image, to_pdf, to_png, to_svg
from labels.layout import LAYOUTS, Layout, layout_named
from labels.zpl import datamatrix_data, to_zpl
from scanner.gs1 import GS, Element
from scanner.gs1_dictionary import entry
from scanner.numbering import CSET82
from scanner.scan import read_scan
from tests.labels.test_labels import CASES, GTIN
from tests.labels.test_labels_cli import database, lotscan  # noqa: F401 (a fixture)

ITEM_CASES = [name for name, label in CASES.items() if label.kind != LabelKind.LOCATION]
PLACEMENTS = ("beside", "instead")


def with_datamatrix(layout: str, placement: str) -> Layout:
    return replace(LAYOUTS[layout], datamatrix=placement)


def element_data(label: Label) -> bytes:
    """The element strings as a scanner sends them, written out from GS1's dictionary: a GS
    after each one of no predefined length that is not last."""
    parts = []
    elements = label.elements()
    for position, element in enumerate(elements):
        parts.append(element.ai + element.value)
        known = entry(element.ai)
        assert known is not None
        if not known.predefined_length and position < len(elements) - 1:
            parts.append(GS)
    return "".join(parts).encode("ascii")


def read(image: Image.Image) -> list[zxingcpp.Barcode]:
    return list(zxingcpp.read_barcodes(image))


def png_image(drawing: Drawing) -> Image.Image:
    return Image.open(io.BytesIO(to_png(drawing)))


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("case", ITEM_CASES)
def test_every_layout_and_item_label_reads_back_from_one_datamatrix(
    layout: str, placement: str, case: str
) -> None:
    label = CASES[case]
    drawing = compose(label, with_datamatrix(layout, placement))
    found = read(png_image(drawing))
    (matrix,) = [b for b in found if b.format == zxingcpp.BarcodeFormat.DataMatrix]
    assert matrix.symbology_identifier == "]d2"
    assert matrix.content_type == zxingcpp.ContentType.GS1
    assert matrix.bytes == element_data(label)
    scan = read_scan(matrix.symbology_identifier + matrix.bytes.decode("ascii"))
    assert scan.item is not None and scan.as_json()["ai"] == {
        element.ai: element.value for element in label.elements()
    }
    linear = [b for b in found if b is not matrix]
    if placement == "instead":
        assert linear == [] and drawing.bars == ()
        hri = "".join(text.text for text in drawing.texts[-2:])
        assert hri.endswith(drawing.matrices[0].symbol.hri)
    else:
        assert {b.symbology_identifier for b in linear} == {"]C1"}
        assert sorted(b.bytes.decode("ascii") for b in linear) == sorted(
            bars.symbol.data for bars in drawing.bars
        )


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_datamatrix_is_whole_dots_with_its_quiet_zone_clear(
    layout: str, placement: str
) -> None:
    chosen = with_datamatrix(layout, placement)
    for case in ITEM_CASES:
        drawing = compose(CASES[case], chosen)
        (matrix,) = drawing.matrices
        assert matrix.module == chosen.datamatrix_module
        quiet = matrix.module  # one module a side
        left, top = matrix.x - quiet, matrix.y - quiet
        right, bottom = matrix.x + matrix.side + quiet, matrix.y + matrix.side + quiet
        assert min(left, top) >= 0 and right <= drawing.width and bottom <= drawing.height
        boxes = [(t.x, t.y, t.x + t.width, t.y + round(t.size * 1.2)) for t in drawing.texts]
        boxes += [(b.x, b.y, b.x + b.width, b.y + b.height) for b in drawing.bars]
        for x0, y0, x1, y1 in boxes:
            assert x1 <= left or x0 >= right or y1 <= top or y0 >= bottom, (x0, y0, x1, y1)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_instead_puts_the_datamatrix_where_the_symbols_go_and_the_text_across_the_label(
    layout: str,
) -> None:
    chosen = with_datamatrix(layout, "instead")
    for case in ITEM_CASES:
        drawing = compose(CASES[case], chosen)
        (matrix,) = drawing.matrices
        assert abs((matrix.x + matrix.side / 2) - drawing.width / 2) <= 1  # centred
        hri = [t for t in drawing.texts if t.y > matrix.y]
        rows = [t for t in drawing.texts if t.y < matrix.y]
        assert hri and rows and len(hri) + len(rows) == len(drawing.texts)
        assert "".join(t.text for t in hri) == matrix.symbol.hri.replace(" ", "")
        quiet = matrix.module
        assert all(t.y + round(t.size * 1.2) <= matrix.y - quiet for t in rows)
        assert all(t.y >= matrix.y + matrix.side + quiet for t in hri)
        margin = chosen.dots(chosen.margin)
        assert max(t.y + round(t.size * 1.2) for t in hri) <= drawing.height - margin
        # Nothing stands beside the matrix: the rows are laid out as with no matrix at all.
        plain = compose(CASES[case], replace(chosen, datamatrix="off"))
        assert rows == list(plain.texts[: len(rows)])


def test_instead_keeps_the_datamatrix_at_the_top_right_where_the_foot_has_no_room() -> None:
    # 9 dots a module at 203 dpi: the text, the symbol and its line do not fit one above
    # the other on a 2-inch label, but the text fits beside the symbol.
    chosen = replace(LAYOUTS["4x2-203"], datamatrix="instead", datamatrix_module=9)
    drawing = compose(CASES["lot-with-gtin"], chosen)
    (matrix,) = drawing.matrices
    offset = max(chosen.dots(chosen.margin), matrix.module)
    assert (matrix.x + matrix.side, matrix.y) == (drawing.width - offset, offset)
    assert drawing.bars == ()
    assert read(png_image(drawing))[0].bytes == element_data(CASES["lot-with-gtin"])


def test_gs1_mm_x_dimension_on_the_built_in_layouts() -> None:
    # GS1 General Specifications, healthcare symbol specification: 0.255 to 0.615 mm.
    for layout in LAYOUTS.values():
        millimetres = layout.datamatrix_module * 25.4 / layout.dpi
        assert 0.255 <= millimetres <= 0.615, layout.name
        assert layout.datamatrix == "off"


def test_a_location_label_has_no_datamatrix() -> None:
    location = CASES["location"]
    plain = compose(location, LAYOUTS["4x2-203"])
    assert compose(location, with_datamatrix("4x2-203", "instead")) == plain


# ---- SVG and PDF ---------------------------------------------------------------------------


def png_modules(drawing: Drawing, matrix: Matrix) -> list[str]:
    """The symbol read off the PNG's pixels, a module at a time at its centre."""
    image = png_image(drawing)
    half = matrix.module // 2
    return [
        "".join(
            "1" if image.getpixel((matrix.x + col * matrix.module + half, y)) == 0 else "0"
            for col in range(matrix.symbol.size)
        )
        for y in range(matrix.y + half, matrix.y + matrix.side, matrix.module)
    ]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_svg_draws_the_modules_the_png_has(layout: str) -> None:
    drawing = compose(CASES["serial-with-gtin"], with_datamatrix(layout, "beside"))
    (matrix,) = drawing.matrices
    root = ET.fromstring(to_svg(drawing))
    (path,) = root.findall("{http://www.w3.org/2000/svg}path[@class='datamatrix']")
    assert path.get("data-hri") == matrix.symbol.hri
    dark = [["0"] * matrix.symbol.size for _ in range(matrix.symbol.size)]
    for x, y, width, height in re.findall(r"M(\d+) (\d+)h(\d+)v(\d+)", path.get("d") or ""):
        assert int(height) == matrix.module and int(width) % matrix.module == 0
        row = (int(y) - matrix.y) // matrix.module
        first = (int(x) - matrix.x) // matrix.module
        for col in range(first, first + int(width) // matrix.module):
            dark[row][col] = "1"
    assert ["".join(row) for row in dark] == png_modules(drawing, matrix)


def pdf_pages(pdf: bytes) -> list[Image.Image]:
    """Each page's image: Pillow writes a page as one CCITT G4 image, which its TIFF decoder
    reads once it is given a TIFF header (Group 4, photometric 1: 0 is black)."""
    pages = []
    pattern = rb"/Width (\d+)\s*/Height (\d+).*?/BlackIs1 true.*?/Length (\d+)\s*>>stream\n"
    for found in re.finditer(pattern, pdf, re.S):
        width, height, length = (int(value) for value in found.groups())
        data = pdf[found.end() : found.end() + length]
        tags = [(256, 4, width), (257, 4, height), (258, 3, 1), (259, 3, 4), (262, 3, 1)]
        tags += [(273, 4, 8 + 2 + 12 * 8 + 4), (278, 4, height), (279, 4, length)]
        ifd = struct.pack("<H", len(tags))
        ifd += b"".join(struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in tags)
        tiff = b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + data
        pages.append(Image.open(io.BytesIO(tiff)).convert("L"))
    return pages


def test_the_pdf_pages_carry_the_datamatrix() -> None:
    labels = [CASES[case] for case in ITEM_CASES]
    layout = with_datamatrix("4x2-300", "beside")
    drawings = [compose(label, layout) for label in labels]
    pages = pdf_pages(to_pdf(drawings))
    assert len(pages) == len(drawings)
    for page, drawing, label in zip(pages, drawings, labels, strict=True):
        assert page.tobytes() == to_image(drawing).point(lambda v: 255 if v >= 128 else 0).tobytes()
        (matrix,) = [b for b in read(page) if b.symbology_identifier == "]d2"]
        assert matrix.bytes == element_data(label)


# ---- ZPL -----------------------------------------------------------------------------------


def read_bx_fields(zpl: str) -> list[dict[str, object]]:
    """Each `^BX` field of our ZPL: its origin, parameters, and the data it carries with the
    hex escapes (`^FH\\`) and then the escape sequences undone, as the ZPL II Programming
    Guide orders them."""
    fields = []
    pattern = r"\^FO(\d+),(\d+)\^BX([^^]*)\^FH\\\^FD([^^~]*)\^FS"
    for x, y, params, data in re.findall(pattern, zpl):
        orientation, module, quality, columns, rows, format_id, escape, aspect = params.split(",")
        raw = re.sub(r"\\([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), data)
        out, gs1, position = [], False, 0
        while position < len(raw):
            if raw[position] == escape:
                code = raw[position + 1]
                assert code in "1" + escape, f"unexpected escape {code!r} in {data}"
                if code == "1" and position == 0:
                    gs1 = True
                else:
                    out.append(GS if code == "1" else escape)
                position += 2
            else:
                out.append(raw[position])
                position += 1
        fields.append(
            {
                "origin": (int(x), int(y)),
                "params": (orientation, int(module), int(quality), int(columns), int(rows)),
                "format_id": format_id,
                "aspect": aspect,
                "gs1": gs1,
                "data": "".join(out),
            }
        )
    return fields


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_zpl_datamatrix_carries_what_the_png_carries(layout: str, placement: str) -> None:
    for case in ITEM_CASES:
        drawing = compose(CASES[case], with_datamatrix(layout, placement))
        (matrix,) = drawing.matrices
        zpl = to_zpl([drawing])
        (field,) = read_bx_fields(zpl)
        assert zpl.count("^BX") == 1
        assert zpl.count("^BC") == (0 if placement == "instead" else len(drawing.bars))
        assert field["origin"] == (matrix.x, matrix.y)
        size = matrix.symbol.size
        assert field["params"] == ("N", matrix.module, 200, size, size)
        assert (field["format_id"], field["aspect"], field["gs1"]) == ("", "1", True)
        (found,) = [b for b in read(png_image(drawing)) if b.symbology_identifier == "]d2"]
        assert field["data"] == found.bytes.decode("ascii")


def test_the_zpl_escapes_for_a_gs1_datamatrix() -> None:
    # Written out by hand from the ZPL II Programming Guide's ^BX quality 200 rules.
    assert datamatrix_data(f"0109506000134352{GS}10A_B^C~D\\E{GS}21X") == (
        "_10109506000134352_110A__B\\5EC\\7ED\\5CE_121X"
    )


_TEXTS = st.text(alphabet=sorted(CSET82 | set("^~\\")), min_size=1, max_size=20)


@settings(max_examples=40, deadline=None)
@given(lot=_TEXTS, serial=_TEXTS)
def test_any_lot_and_serial_reach_zpl_as_the_image_carries_them(lot: str, serial: str) -> None:
    symbol = gs1_datamatrix([Element("01", GTIN), Element("10", lot), Element("21", serial)])
    matrix = Matrix(4, 4, 3, symbol)
    drawing = Drawing("test", matrix.side + 8, matrix.side + 8, 203, (), (), matrices=(matrix,))
    (found,) = read(to_image(drawing))
    assert found.bytes.decode("ascii") == f"01{GTIN}10{lot}{GS}21{serial}"
    (field,) = read_bx_fields(to_zpl([drawing]))
    assert field["gs1"] is True and field["data"] == found.bytes.decode("ascii")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("LOT[1]", r"\(10\)LOT\[1\] cannot go in a GS1 DataMatrix: it has '\[', '\]'"),
        ("ÖL-1", r"\(10\)ÖL-1 cannot go in a GS1 DataMatrix: it has 'Ö'"),
        ("A B", r"\(10\)A B cannot go in a GS1 DataMatrix: it has ' '"),
    ],
    ids=["brackets", "not-ascii", "space"],
)
def test_data_the_datamatrix_cannot_carry_is_refused_clearly(value: str, message: str) -> None:
    with pytest.raises(LabelError, match=message):
        gs1_datamatrix([Element("01", GTIN), Element("10", value)])


def test_a_datamatrix_too_big_for_the_stock_is_refused_clearly() -> None:
    layout = replace(LAYOUTS["4x2-203"], datamatrix="beside", datamatrix_module=20)
    with pytest.raises(LabelError, match=r"DataMatrix .* 24 modules a side, 480 dots .* 4x2-203"):
        compose(CASES["lot-with-gtin"], layout)


# ---- layouts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('datamatrix = "maybe"', "datamatrix must be off, beside or instead, not 'maybe'"),
        ("datamatrix = true", "datamatrix should be text, not True"),
        ("datamatrix_module = 0", "datamatrix_module must be at least 1 dot"),
        ("datamatrix_module = 0.5", "datamatrix_module should be a whole number, not 0.5"),
    ],
    ids=["unknown", "not-text", "zero", "fraction"],
)
def test_a_layout_file_with_a_wrong_datamatrix_setting_says_what_is_wrong(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "site.toml"
    path.write_text(f'based_on = "4x2-300"\n{text}\n', encoding="utf-8")
    with pytest.raises(LayoutError) as raised:
        layout_named(str(path))
    assert message in str(raised.value)


def test_a_layout_file_turns_the_datamatrix_on(tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    path.write_text('{"based_on": "4x6-203", "datamatrix": "instead"}', encoding="utf-8")
    layout = layout_named(str(path))
    assert (layout.datamatrix, layout.datamatrix_module, layout.dpi) == ("instead", 4, 203)


def test_lotscan_label_prints_a_datamatrix_from_a_layout_file(
    database: str,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    (tmp_path / "dm.toml").write_text(
        'based_on = "4x2-300"\ndatamatrix = "instead"\n', encoding="utf-8"
    )
    args = ["--part", "SEAL-GP10", "--lot", "SK-0302", "--qty", "25", "--layout", "dm.toml"]
    result = lotscan("label", "lot", *args, "-o", "lot.png", "--db", database, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Wrote the lot label (dm, ")
    (found,) = read(Image.open(tmp_path / "lot.png"))
    assert found.symbology_identifier == "]d2"
    assert found.bytes == f"240SEAL-GP10{GS}1728100210SK-0302{GS}3025".encode("ascii")
