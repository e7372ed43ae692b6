"""Labels (docs/architecture.md, "Labels and the print queue"): every built-in layout and
kind, rendered to PNG, reads back with pyzbar to exactly the data it was given, and as a
scan to the same part, lot, serial, expiry and count; SVG and PDF carry the same drawing."""

from __future__ import annotations

import ast
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from labels import images
from labels.compose import Drawing, compose, plan_symbols
from labels.content import Label, LabelKind
from labels.errors import LabelError
from labels.images import to_image, to_pdf, to_png, to_svg
from labels.layout import LAYOUTS, Layout
from labels.symbols import QUIET_ZONE, decode_codewords, gs1_symbol
from labels.text_masks import TextMasks
from scanner.decode import DecodedBarcode, decode_image
from scanner.gs1 import GS, Element
from scanner.numbering import CSET82
from scanner.scan import ScanKind

ROOT = Path(__file__).resolve().parents[2]
GTIN = "09506000134352"
LONGEST = "ABCDEFGHIJKLMNOPQRST"  # 20 characters, the most (10) and (21) hold
assert len(LONGEST) == 20

CASES: dict[str, Label] = {
    "lot-with-gtin": Label(
        LabelKind.LOT,
        part="HOSE-12",
        description="Hydraulic hose assembly 1/2 in, 1 m, JIC ends",
        gtin=GTIN,
        lot=LONGEST,
        expiry=date(2027, 3, 31),
        qty=Decimal(12345678),
        uom="ea",
    ),
    "lot-by-part-number": Label(
        LabelKind.LOT,
        part="SEAL-GP10",
        description="Shaft seal kit GP-10, NBR",
        lot="SK-0302",
        expiry=date(2028, 10, 2),
        qty=Decimal(25),
        uom="ea",
    ),
    "lot-longest-by-part-number": Label(
        LabelKind.LOT,
        part="OIL-HM46",
        description="Hydraulic oil HM 46, 208 L drum",
        lot=LONGEST,
        expiry=date(2027, 12, 31),
        qty=Decimal(208),
        uom="L",
    ),
    "serial-with-gtin": Label(
        LabelKind.SERIAL,
        part="MOT-5K5",
        description="Electric motor 5.5 kW, 4-pole, IE3",
        gtin=GTIN,
        lot="VM55-L7",
        serial=LONGEST,
        expiry=date(2030, 1, 31),
    ),
    "serial-by-part-number": Label(
        LabelKind.SERIAL,
        part="MOT-5K5",
        description="Electric motor 5.5 kW, 4-pole, IE3",
        serial=LONGEST,
    ),
    "assembly": Label(
        LabelKind.ASSEMBLY,
        part="GP-10",
        description="Gear pump GP-10, 10 cc/rev",
        lot=LONGEST,
        job="J-1001",
    ),
    "location": Label(LabelKind.LOCATION, location="RACK-A1", location_name="Rack A1, components"),
}


def expected_ai(label: Label) -> dict[str, str]:
    return {element.ai: element.value for element in label.elements()}


def decode(drawing: Drawing, path: Path) -> list[DecodedBarcode]:
    path.write_bytes(to_png(drawing))
    return decode_image(path)


def merged_items(found: list[DecodedBarcode]) -> dict[str, Any]:
    """What the scans of every symbol on the label say together."""
    merged: dict[str, Any] = {}
    for barcode in found:
        assert barcode.error is None, barcode.error
        assert barcode.scan is not None and barcode.scan.item is not None
        shape = barcode.scan.as_json()
        for key, value in shape.items():
            if key == "ai":
                assert not set(value) & set(merged.get("ai", {})), "an AI printed twice"
                merged.setdefault("ai", {}).update(value)
            elif key != "kind":
                assert merged.setdefault(key, value) == value
    return merged


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("case", list(CASES))
def test_every_layout_and_kind_reads_back_as_the_data_it_was_given(
    tmp_path: Path, layout: str, case: str
) -> None:
    label = CASES[case]
    drawing = compose(label, LAYOUTS[layout])
    found = decode(drawing, tmp_path / "label.png")
    assert sorted(b.data for b in found) == sorted(bars.symbol.data for bars in drawing.bars)
    if label.kind == LabelKind.LOCATION:
        (barcode,) = found
        assert barcode.symbology == "CODE128" and barcode.data == "LOC:RACK-A1"
        assert barcode.scan is not None
        assert (barcode.scan.kind, barcode.scan.value) == (ScanKind.LOCATION, "RACK-A1")
        return
    assert {b.symbology for b in found} == {"GS1-128"}
    item = merged_items(found)
    assert item["ai"] == expected_ai(label)
    assert item.get("gtin") == label.gtin
    assert item.get("part") == (None if label.gtin else label.part)
    assert item.get("lot") == (None if label.kind == LabelKind.SERIAL else label.lot)
    assert item.get("serial") == label.serial
    assert item.get("expiry") == (label.expiry.isoformat() if label.expiry else None)
    assert item.get("count") == (int(label.qty) if label.qty else None)


def test_a_full_lot_label_is_split_into_two_symbols_each_with_its_own_hri(
    tmp_path: Path,
) -> None:
    drawing = compose(CASES["lot-with-gtin"], LAYOUTS["4x2-203"])
    assert [bars.symbol.hri for bars in drawing.bars] == [
        f"(01){GTIN}(17)270331",
        f"(10){LONGEST}(30)12345678",
    ]
    assert [text.text for text in drawing.texts][-2:] == [bars.symbol.hri for bars in drawing.bars]
    halves = decode(drawing, tmp_path / "label.png")
    assert sorted(b.data for b in halves) == sorted(
        [f"01{GTIN}17270331", f"10{LONGEST}{GS}3012345678"]
    )


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_a_split_label_starts_its_second_symbol_at_the_lot_or_serial(layout: Layout) -> None:
    for case in ("lot-with-gtin", "lot-longest-by-part-number", "serial-with-gtin"):
        first, *rest = [bars.symbol.hri for bars in compose(CASES[case], layout).bars]
        assert first.startswith(("(01)", "(240)")) and "(17)" in first
        assert [hri[:4] for hri in rest] in (["(10)"], ["(21)"])


def test_a_label_that_fits_one_symbol_is_one_scan(tmp_path: Path) -> None:
    label = CASES["lot-by-part-number"]
    drawing = compose(label, LAYOUTS["4x2-203"])
    (found,) = decode(drawing, tmp_path / "label.png")
    assert found.data == f"240SEAL-GP10{GS}1728100210SK-0302{GS}3025"


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_bars_are_whole_dots_inside_the_margins_with_quiet_zones_on_the_label(
    layout: Layout,
) -> None:
    margin = layout.dots(layout.margin)
    for label in CASES.values():
        drawing = compose(label, layout)
        for bars in drawing.bars:
            assert layout.min_module <= bars.module <= layout.module
            assert all(width % bars.module == 0 for _, width in bars.runs())
            assert margin <= bars.x and bars.x + bars.width <= drawing.width - margin
            quiet = QUIET_ZONE * bars.module
            assert bars.x >= quiet and bars.x + bars.width + quiet <= drawing.width
        bottoms = [t.y + t.size for t in drawing.texts] + [b.y + b.height for b in drawing.bars]
        assert max(bottoms) <= drawing.height - margin


def test_the_widest_module_that_fits_is_used() -> None:
    # (01)(17) is 178 modules: 4 dots (0.50 mm, GS1's logistics X) fit 4 in at 203 dpi.
    symbols = plan_symbols(CASES["lot-with-gtin"], LAYOUTS["4x6-203"])
    assert [(symbol.width, module) for symbol, module in symbols] == [(178, 4), (365, 2)]


def test_a_fractional_quantity_is_printed_but_not_encoded() -> None:
    label = Label(LabelKind.LOT, part="OIL-HM46", lot="OL-0401", qty=Decimal("2.5"), uom="L")
    assert [element.ai for element in label.elements()] == ["240", "10"]
    drawing = compose(label, LAYOUTS["4x2-203"])
    assert "QTY 2.5 L" in [text.text for text in drawing.texts]


def test_text_a_person_reads_at_arms_length() -> None:
    drawing = compose(CASES["lot-with-gtin"], LAYOUTS["4x2-203"])
    texts = {text.text: text for text in drawing.texts}
    assert {"HOSE-12", "QTY 12345678 ea", f"LOT {LONGEST}", "EXP 2027-03-31"} <= set(texts)
    assert texts["HOSE-12"].size >= 0.18 * 203  # about 13 pt
    assert texts[f"LOT {LONGEST}"].size >= 0.1 * 203
    assert any(text.startswith("Hydraulic hose") for text in texts)


def test_a_long_description_is_wrapped_then_cut_short() -> None:
    label = Label(LabelKind.LOT, part="P-1", lot="L1", description="word " * 80)
    small = [t.text for t in compose(label, LAYOUTS["4x2-203"]).texts if "word" in t.text]
    tall = [t.text for t in compose(label, LAYOUTS["4x6-203"]).texts if "word" in t.text]
    assert len(small) == 1 and small[0].endswith("...")
    assert len(tall) == 2 and tall[1].endswith("...")


def test_a_part_number_a_gs1_barcode_cannot_carry_asks_for_a_gtin() -> None:
    label = Label(LabelKind.LOT, part="P 100", lot="L1")
    with pytest.raises(LabelError, match="give P 100 a GTIN"):
        label.elements()


def test_a_part_number_too_long_for_the_stock_is_refused_clearly() -> None:
    label = Label(LabelKind.LOT, part="P" * 30, lot="L1")
    with pytest.raises(LabelError, match=r"part number P+ is too long .* on 4x2-203"):
        compose(label, LAYOUTS["4x2-203"])
    finer = replace(LAYOUTS["4x2-300"], min_module=2)  # 0.17 mm bars: a site's choice
    assert compose(label, finer).bars


def test_a_label_with_more_than_its_stock_holds_is_refused() -> None:
    crowded = LAYOUTS["4x2-203"].rows * 2
    layout = replace(LAYOUTS["4x2-203"], rows=crowded)
    with pytest.raises(LabelError, match="does not fit 4x2-203"):
        compose(CASES["serial-with-gtin"], layout)


def test_an_expiry_beyond_gs1s_century_window_is_refused() -> None:
    with pytest.raises(LabelError, match="too far from today"):
        Label(LabelKind.LOT, part="P-1", lot="L1", expiry=date(2099, 1, 1)).elements()


def test_svg_is_well_formed_and_draws_the_same_bars_and_text() -> None:
    drawing = compose(CASES["lot-with-gtin"], LAYOUTS["4x2-300"])
    root = ET.fromstring(to_svg(drawing))
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == (
        "4in",
        "2in",
        "0 0 1200 600",
    )
    paths = root.findall("svg:path[@class='barcode']", ns)
    assert [p.get("data-hri") for p in paths] == [b.symbol.hri for b in drawing.bars]
    for path, bars in zip(paths, drawing.bars, strict=True):
        runs = re.findall(r"M(\d+) (\d+)h(\d+)", path.get("d") or "")
        assert [(int(x), int(w)) for x, _, w in runs] == list(bars.runs())
    texts = [text.text for text in root.findall("svg:text", ns)]
    assert texts == [text.text for text in drawing.texts]


def test_pdf_has_one_page_a_label() -> None:
    drawings = [compose(label, LAYOUTS["4x6-203"]) for label in CASES.values()]
    pdf = to_pdf(drawings)
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == len(drawings)
    # Each page is the label's size, 4 x 6 in (288 x 432 points), stored without loss.
    assert len(re.findall(rb"/MediaBox \[ 0 0 288.0 432.0 \]", pdf)) == len(drawings)
    assert b"/DCTDecode" not in pdf


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_png_is_the_drawing_pixel_for_pixel_in_grey_at_the_printers_dpi(layout: Layout) -> None:
    drawing = compose(CASES["lot-with-gtin"], layout)
    png = to_png(drawing)
    Image.open(io.BytesIO(png)).verify()  # every chunk's CRC
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.mode, image.size) == ("PNG", "L", (drawing.width, drawing.height))
    assert image.info["dpi"] == pytest.approx((layout.dpi, layout.dpi), abs=0.01)
    assert image.tobytes() == to_image(drawing).tobytes()


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_text_drawn_from_a_kept_mask_is_the_text_drawn_straight(
    monkeypatch: pytest.MonkeyPatch, layout: Layout
) -> None:
    monkeypatch.setattr(images, "TEXT_MASKS", TextMasks(kept=64, remembered=256))
    for label in CASES.values():
        drawing = compose(label, layout)
        straight, rendered, kept = (to_image(drawing).tobytes() for _ in range(3))
        assert straight == rendered == kept


def test_text_masks_keep_no_more_lines_than_they_are_given() -> None:
    masks = TextMasks(kept=3, remembered=5)
    draw = ImageDraw.Draw(Image.new("L", (400, 60), 255))
    for number in range(20):
        for _ in range(2):
            masks.draw(draw, (0, 0), f"LOT {number}", 20, bold=True)
    assert len(masks) == 3


# ---- the symbols themselves ----------------------------------------------------------------

_numbers = st.text(alphabet=sorted(CSET82), min_size=1, max_size=20)


@given(lot=_numbers, serial=_numbers)
def test_any_lot_and_serial_encode_to_codewords_that_decode_back(lot: str, serial: str) -> None:
    symbol = gs1_symbol([Element("10", lot), Element("21", serial)])
    assert decode_codewords(symbol.codewords) == (f"10{lot}{GS}21{serial}", True)
    assert symbol.hri == f"(10){lot}(21){serial}"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lot=_numbers)
def test_any_lot_prints_at_the_narrowest_module_and_reads_back(tmp_path: Path, lot: str) -> None:
    label = Label(LabelKind.LOT, part="P-1", gtin=GTIN, lot=lot, qty=Decimal(3))
    drawing = compose(label, LAYOUTS["4x2-203"])
    item = merged_items(decode(drawing, tmp_path / "label.png"))
    assert item["ai"] == {"01": GTIN, "10": lot, "30": "3"}


# ---- layering ------------------------------------------------------------------------------


def test_scanner_never_imports_labels_except_in_the_cli_handlers() -> None:
    offences = []
    for path in sorted((ROOT / "scanner").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            if not any(module.split(".")[0] == "labels" for module in modules):
                continue
            relative = path.relative_to(ROOT).as_posix()
            # The command line, the composition root: its handlers import labels when run.
            handlers = ("scanner/cli.py", "scanner/cli_settings.py", "scanner/cli_replay.py")
            if relative not in handlers or id(node) in top_level:
                offences.append(f"{relative}:{node.lineno}")
    assert offences == []
