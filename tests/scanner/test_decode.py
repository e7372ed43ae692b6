"""Barcodes in images (`lotscan decode`): rendered here with python-barcode, read back with
zbar and zxing-cpp, and each read as a scan, GS1-128 included (the readers' GS1 flag stands in
for `]C1`). Data Matrix and photos of it: tests/scanner/test_decode_datamatrix.py."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import barcode
import pytest
from barcode.writer import ImageWriter
from PIL import Image, ImageOps

from scanner.cli import main
from scanner.decode import READERS_HELP, ImageUnreadable, ReadersMissing, decode_image
from scanner.scan import ScanConfig
from scanner.workspace import sqlite_url

GS = "\x1d"
FNC1 = "\xf1"  # python-barcode's FNC1; a GS would be encoded as a data character
GTIN = "09506000134352"
OPTIONS = {"module_width": 0.33, "module_height": 12, "quiet_zone": 6.5, "dpi": 200}


def render(kind: str, data: str) -> Image.Image:
    """A barcode as a PNG would show it, without the human-readable line."""
    symbol = barcode.get_barcode_class(kind)(data, writer=ImageWriter())
    out = io.BytesIO()
    symbol.write(out, options={**OPTIONS, "write_text": False})
    return Image.open(io.BytesIO(out.getvalue()))


def save(image: Image.Image, path: Path) -> Path:
    image.save(path)
    return path


def png(tmp_path: Path, kind: str, data: str, name: str = "label.png") -> Path:
    return save(render(kind, data), tmp_path / name)


def test_a_gs1_128_label_reads_back_as_the_item_it_was_printed_for(tmp_path: Path) -> None:
    path = png(tmp_path, "gs1_128", f"01{GTIN}1726123110LOT123{FNC1}21SN0001")
    (found,) = decode_image(path)
    assert (found.symbology, found.data, found.error) == (
        "GS1-128",
        f"01{GTIN}1726123110LOT123{GS}21SN0001",
        None,
    )
    assert found.as_json()["scan"] == {
        "kind": "item",
        "ai": {"01": GTIN, "17": "261231", "10": "LOT123", "21": "SN0001"},
        "gtin": GTIN,
        "lot": "LOT123",
        "serial": "SN0001",
        "expiry": "2026-12-31",
    }


def test_zbars_gs1_flag_tells_a_gs1_lot_from_plain_code_128_text(tmp_path: Path) -> None:
    (gs1,) = decode_image(png(tmp_path, "gs1_128", "10LOT123", "gs1.png"))
    (plain,) = decode_image(png(tmp_path, "code128", "10LOT123", "plain.png"))
    assert gs1.scan is not None and gs1.scan.as_json() == {
        "kind": "item",
        "ai": {"10": "LOT123"},
        "lot": "LOT123",
    }
    assert plain.scan is not None and plain.scan.as_json() == {"kind": "text", "value": "10LOT123"}


def test_a_code_128_location_label_is_a_location(tmp_path: Path) -> None:
    (found,) = decode_image(png(tmp_path, "code128", "LOC:A-01"))
    assert found.as_json() == {
        "symbology": "CODE128",
        "data": "LOC:A-01",
        "scan": {"kind": "location", "value": "A-01"},
        "error": None,
    }


def test_an_ean_13_is_a_gtin_of_14_digits(tmp_path: Path) -> None:
    (found,) = decode_image(png(tmp_path, "ean13", "590123412345"))
    assert found.symbology == "EAN13"
    assert found.scan is not None and found.scan.as_json()["gtin"] == "05901234123457"


def test_a_label_that_breaks_a_gs1_rule_is_reported_not_dropped(tmp_path: Path) -> None:
    (found,) = decode_image(png(tmp_path, "gs1_128", "0109506000134353"))
    assert found.scan is None
    assert found.error == "The GTIN's check digit is wrong: 09506000134353 should end in 2"


def test_every_barcode_in_the_image_is_read_with_the_sites_separators(tmp_path: Path) -> None:
    first = render("code128", f"01{GTIN}10LOT7|21SN9")
    second = render("code128", "CMD:RECEIVE")
    sheet = Image.new(
        "RGB", (max(first.width, second.width), first.height + second.height), "white"
    )
    sheet.paste(first, (0, 0))
    sheet.paste(second, (0, first.height))
    found = decode_image(save(sheet, tmp_path / "sheet.png"), ScanConfig(separators=("|",)))
    scans = sorted(json.dumps(each.as_json()["scan"]) for each in found)
    assert [json.loads(each) for each in scans] == [
        {"kind": "command", "value": "RECEIVE"},
        {
            "kind": "item",
            "ai": {"01": GTIN, "10": "LOT7", "21": "SN9"},
            "gtin": GTIN,
            "lot": "LOT7",
            "serial": "SN9",
        },
    ]


def test_a_screenshot_with_a_transparent_background_still_reads(tmp_path: Path) -> None:
    # Black bars on a transparent background: read as grey as it is, the background is black.
    bars = ImageOps.invert(render("code128", "JOB:J-100").convert("L"))
    black = Image.new("L", bars.size, 0)
    label = Image.merge("RGBA", (black, black, black, bars))
    (found,) = decode_image(save(label, tmp_path / "screenshot.png"))
    assert found.scan is not None and found.scan.value == "J-100"


def test_a_photo_saved_as_jpeg_reads(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    render("code128", "SO:SO-77").convert("RGB").save(path, quality=85)
    (found,) = decode_image(path)
    assert found.scan is not None and found.scan.value == "SO-77"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder / "missing.png", "no such file"),
        (lambda folder: folder, "it is a folder"),
        (lambda folder: write(folder / "notes.png", b"shopping list"), "not a PNG, JPEG"),
        (lambda folder: write(folder / "cut.png", half_a_png()), "Cannot read"),
    ],
)
def test_a_file_that_is_not_an_image_is_refused_clearly(
    tmp_path: Path, make: Any, message: str
) -> None:
    with pytest.raises(ImageUnreadable) as refused:
        decode_image(make(tmp_path))
    assert message in str(refused.value)


def half_a_png() -> bytes:
    out = io.BytesIO()
    render("code128", "LOC:A-01").save(out, format="PNG")
    return out.getvalue()[: len(out.getvalue()) // 2]


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_an_image_without_a_barcode_is_an_empty_list(tmp_path: Path) -> None:
    assert decode_image(save(Image.new("L", (200, 100), "white"), tmp_path / "blank.png")) == []


def import_without(prefix: str, error: Exception) -> Any:
    real = importlib.import_module

    def fake(name: str, package: str | None = None) -> ModuleType:
        if name.startswith(prefix):
            raise error
        return real(name, package)

    return fake


@pytest.mark.parametrize(
    "error",
    [ImportError("Unable to find zbar shared library"), OSError("libzbar.so.0")],
    ids=["no-library", "library-unloadable"],
)
def test_without_zbar_zxing_still_reads_the_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    path = png(tmp_path, "gs1_128", f"01{GTIN}10LOT123")
    monkeypatch.setattr(importlib, "import_module", import_without("pyzbar", error))
    (found,) = decode_image(path)
    assert (found.symbology, found.data, found.error) == ("GS1-128", f"01{GTIN}10LOT123", None)


def test_without_zxing_zbar_still_reads_the_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = png(tmp_path, "code128", "LOC:A-01")
    monkeypatch.setitem(sys.modules, "zxingcpp", None)  # `import` now raises ImportError
    (found,) = decode_image(path)
    assert (found.symbology, found.data) == ("CODE128", "LOC:A-01")


def test_without_either_reader_the_refusal_says_how_to_install_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = png(tmp_path, "code128", "LOC:A-01")
    monkeypatch.setitem(sys.modules, "zxingcpp", None)
    monkeypatch.setattr(importlib, "import_module", import_without("pyzbar", OSError("libzbar")))
    with pytest.raises(ReadersMissing) as refused:
        decode_image(path)
    for hint in ("pip install zxing-cpp", "apt-get install libzbar0", "brew install zbar"):
        assert hint in str(refused.value)


def test_decode_without_either_reader_is_one_clear_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = png(tmp_path, "code128", "LOC:A-01")
    monkeypatch.setitem(sys.modules, "pyzbar.pyzbar", None)
    monkeypatch.setitem(sys.modules, "zxingcpp", None)
    status = main(["decode", str(path), "--db", sqlite_url(tmp_path / "lotscan.db")])
    captured = capsys.readouterr()
    assert (status, captured.out, captured.err) == (1, "", f"lotscan: {READERS_HELP}\n")


def lotscan(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        env={"LOTSCAN_HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_decode_json_lists_each_barcode_and_text_shows_a_block_each(tmp_path: Path) -> None:
    path = png(tmp_path, "gs1_128", f"01{GTIN}10LOT123")
    as_json = lotscan("decode", str(path), "--json", home=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [
        {
            "symbology": "GS1-128",
            "data": f"01{GTIN}10LOT123",
            "scan": {
                "kind": "item",
                "ai": {"01": GTIN, "10": "LOT123"},
                "gtin": GTIN,
                "lot": "LOT123",
            },
            "error": None,
        }
    ]
    as_text = lotscan("decode", str(path), home=tmp_path)
    assert as_text.stdout.splitlines() == [
        f"GS1-128: 01{GTIN}10LOT123",
        "  kind: item",
        f"  ai: (01){GTIN} (10)LOT123",
        f"  gtin: {GTIN}",
        "  lot: LOT123",
    ]


def test_decode_of_an_image_without_a_barcode_says_so_and_exits_1(tmp_path: Path) -> None:
    blank = save(Image.new("RGB", (300, 120), "white"), tmp_path / "blank.png")
    result = lotscan("decode", str(blank), "--json", home=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"lotscan: no barcode found in {blank}")
    assert len(result.stderr.splitlines()) == 1
