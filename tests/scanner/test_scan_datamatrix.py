"""A handheld whose scanner reads GS1 DataMatrix (`]d2`): the shapes real scanners send it in
(GS as the byte, as the text `<GS>`, as a site's substitute, with or without the AIM
identifier), plain Data Matrix (`]d1`) read as plain data, and a receive from such a scan."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from scanner.db import unit_of_work
from scanner.models import Part
from scanner.scan import ScanConfig, ScanKind, read_scan
from tests.support.transcripts import Floor

GS = "\x1d"
GTIN = "09506000134352"
LABEL = {
    "kind": "item",
    "ai": {"01": GTIN, "17": "261231", "10": "LOT123", "21": "SN0001"},
    "gtin": GTIN,
    "lot": "LOT123",
    "serial": "SN0001",
    "expiry": "2026-12-31",
}
TILDE = ScanConfig(separators=("~",))


@pytest.mark.parametrize(
    ("scan", "config"),
    [
        pytest.param(f"]d201{GTIN}1726123110LOT123{GS}21SN0001", ScanConfig(), id="GS"),
        pytest.param(f"]d201{GTIN}1726123110LOT123{GS}21SN0001\r\n", ScanConfig(), id="CR LF"),
        pytest.param(f"]d201{GTIN}1726123110LOT123<GS>21SN0001", ScanConfig(), id="text <GS>"),
        pytest.param(f"]d201{GTIN}1726123110LOT123<gs>21SN0001", ScanConfig(), id="text <gs>"),
        pytest.param(f"]d201{GTIN}1726123110LOT123~21SN0001", TILDE, id="substitute"),
        pytest.param(f"01{GTIN}1726123110LOT123{GS}21SN0001", ScanConfig(), id="no AIM, GS"),
        pytest.param(
            f"{GS}01{GTIN}1726123110LOT123{GS}21SN0001", ScanConfig(), id="no AIM, FNC1 as GS"
        ),
        pytest.param(f"01{GTIN}1726123110LOT123<GS>21SN0001", ScanConfig(), id="no AIM, <GS>"),
        pytest.param(f"01{GTIN}1726123110LOT123~21SN0001", TILDE, id="no AIM, substitute"),
        pytest.param(f"~01{GTIN}1726123110LOT123~21SN0001~", TILDE, id="substitute as FNC1"),
    ],
)
def test_a_gs1_datamatrix_scan_reads_the_same_in_every_shape_a_scanner_sends(
    scan: str, config: ScanConfig
) -> None:
    assert read_scan(scan, config).as_json() == LABEL


def test_a_gs1_datamatrix_a_decoder_reads_is_the_scan_a_scanner_sends() -> None:
    """zxing-cpp encodes the label and reads it back as a scanner does: the identifier `]d2`
    and the bytes, FNC1 as GS."""
    import zxingcpp

    symbol = zxingcpp.create_barcode(
        f"(01){GTIN}(17)261231(10)LOT123(21)SN0001", zxingcpp.DataMatrix, gs1=True
    )
    (found,) = zxingcpp.read_barcodes(_picture(symbol))
    sent = found.symbology_identifier + found.bytes.decode("ascii")
    assert sent == f"]d201{GTIN}1726123110LOT123{GS}21SN0001"
    assert read_scan(sent).as_json() == LABEL


@pytest.mark.parametrize(
    ("scan", "kind", "value"),
    [
        pytest.param("]d1LOT-77", ScanKind.TEXT, "LOT-77", id="a typed answer"),
        pytest.param("]d1LOC:A-01", ScanKind.LOCATION, "A-01", id="our own code"),
        pytest.param("]d15901234123457", ScanKind.TEXT, "5901234123457", id="digits, no GTIN"),
    ],
)
def test_a_plain_data_matrix_is_plain_data(scan: str, kind: ScanKind, value: str) -> None:
    assert read_scan(scan).as_json() == {"kind": kind.value, "value": value}


@pytest.mark.parametrize(
    "scan",
    [
        pytest.param(f"]d1https://id.gs1.org/01/{GTIN}/10/LOT123", id="a Digital Link"),
        pytest.param(f"]d101{GTIN}10LOT123", id="an element string"),
        pytest.param(f"]d1(01){GTIN}(10)LOT123", id="the human-readable form"),
    ],
)
def test_a_plain_data_matrix_holding_gs1_data_reads_as_any_plain_scan_of_it(scan: str) -> None:
    """GS1's Digital Link goes in plain Data Matrix; GS1-shaped plain data is GS1 data
    whatever carried it (scanner.scan, step 4)."""
    assert read_scan(scan).as_json() == {
        "kind": "item",
        "ai": {"01": GTIN, "10": "LOT123"},
        "gtin": GTIN,
        "lot": "LOT123",
    }


def test_a_receive_takes_a_gs1_datamatrix_scan_in_each_shape(floor: Floor) -> None:
    with unit_of_work(floor.sessions) as session:
        session.get_one(Part, "RESIN").gtin = GTIN
    steps = floor.run(f"""
        OP:B1001
        CMD:RECEIVE
        ]d201{GTIN}10R-1{GS}3010
        ]d201{GTIN}10R-2<GS>3010
        {GS}01{GTIN}10R-3{GS}3010{GS}
    """)
    assert [step.message for step in steps[2:]] == ["Received RESIN"] * 3
    assert floor.stock("RESIN") == {(lot, "RCV"): 10 for lot in ("R-1", "R-2", "R-3")}
    assert floor.agrees()


def _picture(symbol: Any) -> Image.Image:
    pixels = memoryview(symbol.to_image(scale=4, add_quiet_zones=True))
    height, width = pixels.shape or (0, 0)
    return Image.frombytes("L", (width, height), bytes(pixels))
