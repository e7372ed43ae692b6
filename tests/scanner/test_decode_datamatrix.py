"""Data Matrix in images (`lotscan decode`), read by zxing-cpp beside zbar: symbols made with
zxing-cpp's writer (libzint), then photographed in Pillow (turned, scaled, noisy, blurred,
JPEG'd, skewed, on a sheet with text), each read to exactly the data encoded, GS1 DataMatrix
as `]d2`; the other symbologies zxing-cpp adds, each by its name. Two readers, one report: a
symbol both find is listed once, and two identical labels are two symbols."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import barcode
import pytest
import zxingcpp
from barcode.writer import ImageWriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFilter

import scanner.decode
from scanner.db import open_database, unit_of_work
from scanner.decode import decode_image
from scanner.ledger import Ledger
from scanner.scan import ScanError, read_scan
from scanner.workspace import sqlite_url
from tests.support.builders import add_location, add_part
from tests.support.demo_workspace import lotscan

GS = "\x1d"
GTIN = "09506000134352"
SITE_LABEL = "(240)SEAL-GP10(10)SK-0302(21)VM55-24101"
SITE_DATA = f"240SEAL-GP10{GS}10SK-0302{GS}21VM55-24101"


def datamatrix(text: str, *, gs1: bool = True, scale: int = 6) -> Image.Image:
    """A Data Matrix as a label printer draws it: `text` is HRI, `(01)...(10)...`, when gs1."""
    symbol = zxingcpp.create_barcode(text, zxingcpp.DataMatrix, gs1=gs1, force_square=True)
    return Image.fromarray(symbol.to_image(scale=scale, add_quiet_zones=True))


def gs1_128(data: str) -> Image.Image:
    """A GS1-128 as python-barcode draws it (FNC1 as \\xf1), without its text line."""
    symbol = barcode.get_barcode_class("gs1_128")(data, writer=ImageWriter())
    out = io.BytesIO()
    symbol.write(out, options={"module_width": 0.33, "module_height": 12, "write_text": False})
    return Image.open(io.BytesIO(out.getvalue())).convert("L")


def save(image: Image.Image, path: Path) -> Path:
    image.save(path)
    return path


def side_by_side(*images: Image.Image, gap: int = 0) -> Image.Image:
    width = sum(image.width for image in images) + gap * (len(images) - 1)
    sheet = Image.new("L", (width, max(image.height for image in images)), 255)
    x = 0
    for image in images:
        sheet.paste(image, (x, 0))
        x += image.width + gap
    return sheet


# Photo-like variants: what a phone or a screenshot does to a printed symbol.
def turned(degrees: float) -> Callable[[Image.Image], Image.Image]:
    return lambda image: image.rotate(
        degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255
    )


def scaled(factor: float) -> Callable[[Image.Image], Image.Image]:
    return lambda image: image.resize(
        (round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS
    )


def noisy(image: Image.Image) -> Image.Image:
    grain = random.Random(7).randbytes(image.width * image.height)  # the same grain every run
    return Image.blend(image, Image.frombytes("L", image.size, grain), 0.3)


def blurred(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(2))


def as_jpeg(image: Image.Image) -> Image.Image:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=25)
    return Image.open(io.BytesIO(out.getvalue()))


def padded(image: Image.Image) -> Image.Image:
    margin = image.width // 3
    out = Image.new("L", (image.width + 2 * margin, image.height + 2 * margin), 255)
    out.paste(image, (margin, margin))
    return out


def skewed(image: Image.Image) -> Image.Image:
    """Sheared and squeezed, as a label photographed from the side."""
    image = padded(image)
    cx, cy = image.width / 2, image.height / 2
    shear = (1, 0.25, -0.25 * cy, 0.1, 1, -0.1 * cx)
    return image.transform(
        image.size, Image.Transform.AFFINE, shear, Image.Resampling.BICUBIC, fillcolor=255
    )


def keystoned(image: Image.Image) -> Image.Image:
    """Narrower at the top than at the bottom, as a label photographed from below."""
    image = padded(image)
    w, h = image.size
    corners = (0, 0, -0.12 * w, h, 1.12 * w, h, w, 0)
    return image.transform(
        image.size, Image.Transform.QUAD, corners, Image.Resampling.BICUBIC, fillcolor=255
    )


def on_a_grey_sheet_with_text(image: Image.Image) -> Image.Image:
    sheet = Image.new("L", (image.width * 3 + 80, image.height * 2), 200)
    draw = ImageDraw.Draw(sheet)
    for line in range(6):
        draw.text((10, 10 + 18 * line), "Shaft seal kit GP-10 NBR (10) SK-0302 (21)", fill=30)
    sheet.paste(image, (image.width * 2 + 40, image.height // 2))
    return sheet


def everything(image: Image.Image) -> Image.Image:
    sheet = turned(17)(on_a_grey_sheet_with_text(scaled(0.8)(image)))
    return as_jpeg(noisy(sheet.filter(ImageFilter.GaussianBlur(1.2))))


PHOTOS = {
    "as-printed": lambda image: image,
    "turned-17": turned(17),
    "turned-90": turned(90),
    "turned-200": turned(200),
    "scaled-down-3px-modules": scaled(0.5),
    "scaled-up": scaled(2.5),
    "noisy": noisy,
    "blurred": blurred,
    "jpeg-quality-25": as_jpeg,
    "skewed": skewed,
    "keystoned": keystoned,
    "on-a-grey-sheet-with-text": on_a_grey_sheet_with_text,
    "all-of-it": everything,
}


def test_a_gs1_datamatrix_reads_back_as_the_item_it_was_printed_for(tmp_path: Path) -> None:
    path = save(datamatrix(f"(01){GTIN}(17)261231(10)LOT123(21)SN0001"), tmp_path / "dm.png")
    (found,) = decode_image(path)
    assert found.as_json() == {
        "symbology": "GS1 DataMatrix",
        "data": f"01{GTIN}1726123110LOT123{GS}21SN0001",
        "scan": {
            "kind": "item",
            "ai": {"01": GTIN, "17": "261231", "10": "LOT123", "21": "SN0001"},
            "gtin": GTIN,
            "lot": "LOT123",
            "serial": "SN0001",
            "expiry": "2026-12-31",
        },
        "error": None,
    }


@pytest.mark.parametrize(
    ("text", "scan"),
    [
        ("LOC:A-01", {"kind": "location", "value": "A-01"}),
        # Without FNC1 first (`]d1`) digits that look like AIs are text, never GS1 data.
        ("10LOT123", {"kind": "text", "value": "10LOT123"}),
    ],
    ids=["location-label", "ai-shaped-text"],
)
def test_a_plain_data_matrix_is_read_as_plain_data(
    tmp_path: Path, text: str, scan: dict[str, str]
) -> None:
    (found,) = decode_image(save(datamatrix(text, gs1=False), tmp_path / "dm.png"))
    assert found.as_json() == {
        "symbology": "Data Matrix",
        "data": text,
        "scan": scan,
        "error": None,
    }


def zxing_symbol(text: str, kind: zxingcpp.BarcodeFormat, gs1: bool) -> Image.Image:
    symbol = zxingcpp.create_barcode(text, kind, gs1=gs1)
    return Image.fromarray(symbol.to_image(scale=4, add_quiet_zones=True))


@pytest.mark.parametrize(
    ("kind", "text", "gs1", "symbology", "data"),
    [
        (zxingcpp.QRCode, f"(01){GTIN}(10)LOT123", True, "GS1-QR", f"01{GTIN}10LOT123"),
        (zxingcpp.DataBar, GTIN[1:-1], False, "DATABAR", f"01{GTIN}"),
        (zxingcpp.DataBarExp, f"(01){GTIN}(10)LOT123", True, "DATABAR_EXP", f"01{GTIN}10LOT123"),
        (zxingcpp.PDF417, "LOC:A-01", False, "PDF417", "LOC:A-01"),
        (zxingcpp.Aztec, "LOC:A-01", False, "Aztec", "LOC:A-01"),
        (zxingcpp.Aztec, f"(01){GTIN}(10)LOT123", True, "GS1 Aztec", f"01{GTIN}10LOT123"),
    ],
    ids=[
        "gs1-qr-both-read",
        "databar-both-read",
        "databar-expanded-both-read",
        "pdf417",
        "aztec",
        "gs1-aztec",
    ],
)
def test_each_symbology_reads_once_by_the_name_lotscan_gives_it(
    tmp_path: Path,
    kind: zxingcpp.BarcodeFormat,
    text: str,
    gs1: bool,
    symbology: str,
    data: str,
) -> None:
    (found,) = decode_image(save(zxing_symbol(text, kind, gs1), tmp_path / "symbol.png"))
    assert (found.symbology, found.data, found.error) == (symbology, data, None)


def test_a_gs1_datamatrix_that_breaks_a_gs1_rule_is_reported_not_dropped(
    tmp_path: Path,
) -> None:
    (found,) = decode_image(save(datamatrix("(01)09506000134353"), tmp_path / "dm.png"))
    assert (found.symbology, found.scan) == ("GS1 DataMatrix", None)
    assert found.error == "The GTIN's check digit is wrong: 09506000134353 should end in 2"


@pytest.mark.parametrize("photo", PHOTOS.values(), ids=PHOTOS.keys())
def test_a_photographed_gs1_datamatrix_reads_to_exactly_its_data(
    tmp_path: Path, photo: Callable[[Image.Image], Image.Image]
) -> None:
    path = save(photo(datamatrix(SITE_LABEL)), tmp_path / "photo.png")
    (found,) = decode_image(path)
    assert (found.symbology, found.data, found.error) == ("GS1 DataMatrix", SITE_DATA, None)


def test_lotscan_decode_reads_a_gs1_datamatrix_photo_for_people_and_programs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "photo.jpg"
    everything(datamatrix(SITE_LABEL)).convert("RGB").save(path, quality=70)
    as_json = lotscan("decode", str(path), "--json", home=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [
        {
            "symbology": "GS1 DataMatrix",
            "data": SITE_DATA,
            "scan": {
                "kind": "item",
                "ai": {"240": "SEAL-GP10", "10": "SK-0302", "21": "VM55-24101"},
                "part": "SEAL-GP10",
                "lot": "SK-0302",
                "serial": "VM55-24101",
            },
            "error": None,
        }
    ]
    as_text = lotscan("decode", str(path), home=tmp_path)
    assert as_text.stdout.splitlines() == [
        "GS1 DataMatrix: 240SEAL-GP10<GS>10SK-0302<GS>21VM55-24101",
        "  kind: item",
        "  ai: (240)SEAL-GP10 (10)SK-0302 (21)VM55-24101",
        "  part: SEAL-GP10",
        "  lot: SK-0302",
        "  serial: VM55-24101",
    ]


# Element strings GS1 DataMatrix carries on the site's labels. `(` and `)` are left out of
# the values: in the HRI text the writer takes, they would open another AI.
VALUE_CHARACTERS = (
    "!\"%&'*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)


def with_check_digit(digits: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return digits + str(-total % 10)


FIELDS = {
    "01": st.text("0123456789", min_size=13, max_size=13).map(with_check_digit),
    # Any six digits: 261231 is a date, 260231 is not and must be refused alike.
    "17": st.text("0123456789", min_size=6, max_size=6),
    "10": st.text(VALUE_CHARACTERS, min_size=1, max_size=20),
    "21": st.text(VALUE_CHARACTERS, min_size=1, max_size=20),
    "240": st.text(VALUE_CHARACTERS, min_size=1, max_size=30),
    "30": st.text("0123456789", min_size=1, max_size=8),
}
FIXED_LENGTH = {"01", "17"}


@st.composite
def element_strings(draw: st.DrawFn) -> list[tuple[str, str]]:
    ais = draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=4, unique=True))
    return [(ai, draw(FIELDS[ai])) for ai in ais]


def as_sent(fields: list[tuple[str, str]]) -> str:
    """The element string with FNC1 as GS after each variable-length field but the last."""
    parts = []
    for index, (ai, value) in enumerate(fields):
        last = index == len(fields) - 1
        parts.append(ai + value + ("" if ai in FIXED_LENGTH or last else GS))
    return "".join(parts)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=element_strings())
def test_any_element_string_reads_back_as_read_scan_reads_it_after_d2(
    tmp_path: Path, fields: list[tuple[str, str]]
) -> None:
    hri = "".join(f"({ai}){value}" for ai, value in fields)
    (found,) = decode_image(save(datamatrix(hri, scale=4), tmp_path / "dm.png"))
    data = as_sent(fields)
    assert (found.symbology, found.data) == ("GS1 DataMatrix", data)
    try:
        expected, refusal = read_scan("]d2" + data).as_json(), None
    except ScanError as error:
        expected, refusal = None, str(error)
    assert (found.as_json()["scan"], found.error) == (expected, refusal)


@pytest.mark.parametrize(
    "label",
    [
        lambda: datamatrix(SITE_LABEL),
        lambda: gs1_128(f"01{GTIN}10LOT123\xf121SN0001"),  # zbar and zxing both read these
    ],
    ids=["gs1-datamatrix", "gs1-128"],
)
def test_two_identical_labels_in_one_image_are_two_symbols(
    tmp_path: Path, label: Callable[[], Image.Image]
) -> None:
    image = label()
    found = decode_image(save(side_by_side(image, image), tmp_path / "two.png"))
    assert len(found) == 2
    assert found[0].as_json() == found[1].as_json()


def test_the_same_data_as_gs1_128_and_as_gs1_datamatrix_is_two_symbols(tmp_path: Path) -> None:
    data = f"01{GTIN}10LOT123"
    sheet = side_by_side(gs1_128(data), datamatrix(f"(01){GTIN}(10)LOT123"), gap=20)
    found = decode_image(save(sheet, tmp_path / "both.png"))
    assert sorted((each.symbology, each.data) for each in found) == [
        ("GS1 DataMatrix", data),
        ("GS1-128", data),
    ]


# zbar and zxing both read these; zbar's corners are sometimes one edge of the bars only.
BOTH_READ = ["turned-90", "blurred", "jpeg-quality-25", "skewed", "keystoned"]


@pytest.mark.parametrize("photo", [PHOTOS[name] for name in BOTH_READ], ids=BOTH_READ)
def test_a_photographed_gs1_128_both_readers_find_is_reported_once(
    tmp_path: Path, photo: Callable[[Image.Image], Image.Image]
) -> None:
    path = save(photo(gs1_128(f"01{GTIN}10LOT123")), tmp_path / "photo.png")
    (found,) = decode_image(path)
    assert (found.symbology, found.data) == ("GS1-128", f"01{GTIN}10LOT123")


def test_a_zbar_that_cannot_report_fnc1_still_gives_gs1_128_through_zxing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zbar before 0.23 has no zbar_symbol_get_modifiers: its GS1-128 looks like Code 128.
    monkeypatch.setattr(scanner.decode, "_modifiers_function", lambda wrapper: None)
    (found,) = decode_image(save(gs1_128("10LOT123"), tmp_path / "gs1.png"))
    assert found.symbology == "GS1-128"
    assert found.scan is not None and found.scan.as_json()["ai"] == {"10": "LOT123"}


def test_a_label_lotscan_prints_today_decodes_once_with_two_readers(tmp_path: Path) -> None:
    database = sqlite_url(tmp_path / "plant.db")
    sessions = open_database(database)
    with unit_of_work(sessions) as session:
        add_part(session, "SEAL-GP10", description="Shaft seal kit GP-10, NBR")
        add_location(session, "RACK-A1")
        ledger = Ledger(session, lambda: datetime(2026, 11, 2, tzinfo=UTC))
        ledger.receive("SEAL-GP10", 50, "RACK-A1", lot="SK-0302")
    sessions.kw["bind"].dispose()
    label = tmp_path / "lot.png"
    printed = lotscan(
        "label", "lot", "--part", "SEAL-GP10", "--lot", "SK-0302", "-o", str(label),
        "--db", database, home=tmp_path,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    decoded = lotscan("decode", str(label), "--json", "--db", database, home=tmp_path)
    assert decoded.returncode == 0, decoded.stderr
    (found,) = json.loads(decoded.stdout)
    assert (found["symbology"], found["data"]) == ("GS1-128", f"240SEAL-GP10{GS}10SK-0302")
