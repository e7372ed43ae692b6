"""Barcodes in a photo or a screenshot, each read like a scan (`lotscan decode`).

Two readers look at every image, and a symbol both find is reported once:
- zbar (through pyzbar) reads linear codes and QR. It drops the leading FNC1 of a GS1 symbol
  and sends no AIM symbology identifier, so a GS1-128 holding `10LOT123` would look like a
  plain Code 128 holding the same text. zbar does know (its symbol's GS1 modifier); pyzbar
  does not pass it on, so the symbols are walked here through pyzbar's ctypes wrapper, and
  each gets back the AIM identifier a handheld would have sent (`]C1`, `]Q3`, `]E0`...).
- zxing-cpp reads Data Matrix, Aztec and PDF417 besides, and a photo's rotated or blurred
  symbol that zbar misses. It gives the AIM identifier itself (`]d2` for GS1 DataMatrix)
  and the raw bytes with each FNC1 as GS, which is what a handheld sends.
The same data at the same place (the centre of one reader's box inside the other's) is one
symbol; two identical labels side by side are two. A symbol both read is reported as zbar
reads it, as `lotscan decode` always did, unless only zxing saw its FNC1 (a zbar too old to
report it). `read_scan` then reads each as a scan.

Both readers are imported only when an image is read, so the rest of lotscan works without
them; either one missing leaves the other reading.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from ctypes import POINTER, c_uint, c_void_p, cast, create_string_buffer, string_at
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from biip import ParseError
from biip.upc import Upc
from PIL import Image, UnidentifiedImageError

from scanner.errors import LotscanError
from scanner.gs1 import GS
from scanner.plain_text import shown
from scanner.scan import DEFAULT, Scan, ScanConfig, ScanError, format_scan, read_scan

READERS_HELP = (
    "Reading barcodes from images needs zxing-cpp (`pip install zxing-cpp`) or the zbar "
    "library: install zbar with `apt-get install libzbar0` (Debian/Ubuntu) or "
    "`brew install zbar` (macOS)"
)
_GRAY = 808466521  # zbar's fourcc for 8-bit grey, 'Y800'
_ZBAR_GS1 = 1 << 0  # ZBAR_MOD_GS1: the symbol started with FNC1
# zbar's symbology (and whether it was GS1) -> the AIM identifier a handheld sends.
_AIM = {
    ("CODE128", True): "]C1",
    ("CODE128", False): "]C0",
    ("QRCODE", True): "]Q3",
    ("QRCODE", False): "]Q1",
    ("DATABAR", True): "]e0",
    ("DATABAR", False): "]e0",
    ("DATABAR_EXP", True): "]e0",
    ("EAN13", False): "]E0",
    ("UPCA", False): "]E0",
    ("ISBN13", False): "]E0",
    ("EAN8", False): "]E4",
    ("CODE39", False): "]A0",
    ("CODE93", False): "]G0",
    ("CODABAR", False): "]F0",
}
_NAMES = {
    ("CODE128", True): "GS1-128",
    ("QRCODE", True): "GS1-QR",
    ("Data Matrix", True): "GS1 DataMatrix",
    ("Aztec", True): "GS1 Aztec",
}
# zxing's format -> zbar's name for it, so a symbol is named alike whichever reader found it.
_ZBAR_NAMES = {
    "Code128": "CODE128",
    "QRCode": "QRCODE",
    "EAN13": "EAN13",
    "ISBN": "EAN13",
    "UPCA": "UPCA",
    "UPCE": "UPCE",
    "EAN8": "EAN8",
    "ITF": "I25",
    "ITF14": "I25",
    "DataBar": "DATABAR",
    "DataBarOmni": "DATABAR",
    "DataBarStk": "DATABAR",
    "DataBarStkOmni": "DATABAR",
    "DataBarLtd": "DATABAR",
    "DataBarExp": "DATABAR_EXP",
    "DataBarExpStk": "DATABAR_EXP",
    "Code39": "CODE39",
    "Code39Std": "CODE39",
    "Code93": "CODE93",
    "Codabar": "CODABAR",
    "PDF417": "PDF417",
}
# How far (pixels) a box is widened before another symbol's centre is looked for in it: zbar's
# box for a linear code can be a single scan line.
_SLACK = 4


class ReadersMissing(LotscanError):
    """Neither zxing-cpp nor the zbar library can be loaded."""

    def __init__(self) -> None:
        super().__init__(READERS_HELP)


class ImageUnreadable(LotscanError):
    """The file is not an image lotscan can open."""


@dataclass(frozen=True)
class DecodedBarcode:
    """One barcode found in an image: its symbology, the data read, and what that data means
    as a scan (or why it cannot be read)."""

    symbology: str
    data: str
    scan: Scan | None
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "symbology": self.symbology,
            "data": self.data,
            "scan": self.scan.as_json() if self.scan else None,
            "error": self.error,
        }


@dataclass(frozen=True)
class Box:
    """Where a reader saw a symbol: the bounds of its corners, in pixels."""

    left: int
    top: int
    right: int
    bottom: int

    @classmethod
    def around(cls, points: list[tuple[int, int]]) -> Box:
        xs, ys = [x for x, _ in points], [y for _, y in points]
        return cls(min(xs), min(ys), max(xs), max(ys))

    def holds_centre_of(self, other: Box) -> bool:
        x, y = (other.left + other.right) / 2, (other.top + other.bottom) / 2
        return (
            self.left - _SLACK <= x <= self.right + _SLACK
            and self.top - _SLACK <= y <= self.bottom + _SLACK
        )


@dataclass(frozen=True)
class Symbol:
    """One symbol as one reader found it: its symbology by zbar's name (`CODE128`; `Data
    Matrix`, which zbar cannot read), whether it carried GS1 data, the data with each FNC1
    as GS, the AIM identifier a handheld would send before it, and where it is."""

    symbology: str
    gs1: bool
    data: str
    aim: str
    box: Box

    @property
    def name(self) -> str:
        """The symbology as people call it: `GS1-128`, `GS1 DataMatrix`, `EAN13`..."""
        return _NAMES.get((self.symbology, self.gs1), self.symbology)

    def same_as(self, other: Symbol) -> bool:
        """Whether `other` is this symbol as the other reader saw it: the same data where
        either box holds the other's centre."""
        return self.data == other.data and (
            self.box.holds_centre_of(other.box) or other.box.holds_centre_of(self.box)
        )


def decode_image(path: Path, config: ScanConfig = DEFAULT) -> list[DecodedBarcode]:
    """Every barcode zbar or zxing-cpp finds in the image at `path`, each once, each read as a
    scan; an empty list when there is none. Raises ImageUnreadable or ReadersMissing."""
    image = open_image(path)
    found = []
    for symbol in read_symbols(image):
        try:
            scan, error = read_scan(_as_sent(symbol), config), None
        except ScanError as refusal:
            scan, error = None, str(refusal)
        found.append(DecodedBarcode(symbol.name, symbol.data, scan, error))
    return found


def open_image(path: Path) -> Image.Image:
    """The image at `path` in 8-bit grey, transparency flattened onto white (a screenshot's
    transparent background would otherwise turn black and hide the bars)."""
    try:
        with Image.open(path) as opened:
            opened.load()
            image = opened.convert("RGBA")
    except (OSError, EOFError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ImageUnreadable(f"Cannot read {path} as an image: {_reason(error)}") from None
    background = Image.new("RGBA", image.size, "white")
    return Image.alpha_composite(background, image).convert("L")


def read_symbols(image: Image.Image) -> list[Symbol]:
    """The symbols both readers found, each once: zbar's in its order, then those only zxing
    found. Raises ReadersMissing when neither reader is installed."""
    zbar, zxing = _installed("pyzbar.pyzbar"), _installed("zxingcpp")
    if zbar is None and zxing is None:
        raise ReadersMissing()
    return merged(
        read_with_zbar(zbar, image) if zbar else [],
        read_with_zxing(zxing, image) if zxing else [],
    )


def merged(zbar: list[Symbol], zxing: list[Symbol]) -> list[Symbol]:
    """One symbol for each pair the two readers both found (zbar's, with zxing's GS1 flag
    when only zxing saw the FNC1), then the rest of each."""
    unmatched = list(zxing)
    found = []
    for symbol in zbar:
        twin = next((other for other in unmatched if symbol.same_as(other)), None)
        if twin is not None:
            unmatched.remove(twin)
            if twin.gs1 and not symbol.gs1:
                symbol = twin
        found.append(symbol)
    return found + unmatched


def read_with_zbar(zbar: ModuleType, image: Image.Image) -> list[Symbol]:
    """The symbols zbar (`pyzbar.pyzbar`) finds, each with the GS1 flag zbar saw."""
    wrapper = importlib.import_module("pyzbar.wrapper")
    modifiers = _modifiers_function(wrapper)
    width, height = image.size
    pixels = create_string_buffer(image.tobytes(), width * height)  # kept alive while zbar reads
    found = []
    with _scanner(wrapper) as scanner, _zbar_image(wrapper) as zimage:
        wrapper.zbar_image_set_format(zimage, _GRAY)
        wrapper.zbar_image_set_size(zimage, width, height)
        wrapper.zbar_image_set_data(zimage, cast(pixels, c_void_p), len(pixels), None)
        if wrapper.zbar_scan_image(scanner, zimage) < 0:
            raise ImageUnreadable("zbar could not scan the image")
        symbol = wrapper.zbar_image_first_symbol(zimage)
        while symbol:
            found.append(_zbar_symbol(zbar, wrapper, modifiers, symbol))
            symbol = wrapper.zbar_symbol_next(symbol)
    return found


def read_with_zxing(zxingcpp: ModuleType, image: Image.Image) -> list[Symbol]:
    """The symbols zxing-cpp finds, each with the AIM identifier it read from the symbol."""
    found = []
    for barcode in zxingcpp.read_barcodes(image):
        at = barcode.position
        points = [at.top_left, at.top_right, at.bottom_right, at.bottom_left]
        found.append(
            Symbol(
                symbology=_ZBAR_NAMES.get(barcode.format.name, str(barcode.format)),
                gs1=barcode.content_type == zxingcpp.ContentType.GS1,
                data=barcode.bytes.decode("utf-8", errors="replace"),
                aim=barcode.symbology_identifier,
                box=Box.around([(point.x, point.y) for point in points]),
            )
        )
    return found


def format_decoded(barcodes: list[DecodedBarcode]) -> str:
    """One block per barcode: symbology and data, then its classification or its refusal."""
    blocks = []
    for barcode in barcodes:
        lines = [f"{barcode.symbology}: {_shown(barcode.data)}"]
        if barcode.scan is not None:
            lines += ["  " + line for line in format_scan(barcode.scan).splitlines()]
        else:
            lines.append(f"  refused: {shown(barcode.error or '')}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _as_sent(symbol: Symbol) -> str:
    """The data as a handheld with AIM identifiers on would send it."""
    # zbar gives a UPC-E's 8 digits; zxing gives the EAN-13 it stands for.
    if symbol.symbology == "UPCE" and len(symbol.data) == 8:
        try:
            return "]E0" + Upc.parse(symbol.data).as_upc_a()
        except ParseError:
            return symbol.data
    if symbol.symbology == "I25":
        return ("]I1" if len(symbol.data) == 14 else "]I0") + symbol.data
    return symbol.aim + symbol.data


def _shown(data: str) -> str:
    """A symbol's data on one line: GS as `<GS>` (as a transcript writes it), any other
    control character spelled out."""
    return shown(data.replace(GS, "<GS>"))


def _installed(module: str) -> ModuleType | None:
    """A reader's module, or None when it or its library is missing (pyzbar raises OSError
    for a zbar library it finds but cannot load)."""
    try:
        return importlib.import_module(module)
    except (ImportError, OSError):
        return None


def _zbar_symbol(zbar: ModuleType, wrapper: ModuleType, modifiers: Any, symbol: Any) -> Symbol:
    raw = string_at(
        wrapper.zbar_symbol_get_data(symbol), wrapper.zbar_symbol_get_data_length(symbol)
    )
    try:
        name = zbar.ZBarSymbol(symbol.contents.type).name
    except ValueError:
        name = f"zbar symbology {symbol.contents.type}"
    gs1 = bool(modifiers and modifiers(symbol) & _ZBAR_GS1)
    corners = [
        (wrapper.zbar_symbol_get_loc_x(symbol, i), wrapper.zbar_symbol_get_loc_y(symbol, i))
        for i in range(wrapper.zbar_symbol_get_loc_size(symbol))
    ]
    return Symbol(
        symbology=name,
        gs1=gs1,
        data=raw.decode("utf-8", errors="replace"),
        aim=_AIM.get((name, gs1), ""),
        box=Box.around(corners or [(0, 0)]),
    )


def _modifiers_function(wrapper: ModuleType) -> Any:
    """zbar's `zbar_symbol_get_modifiers`, or None on a zbar too old to have it (then no
    symbol counts as GS1, and read_scan goes by the data's shape)."""
    try:
        return wrapper.zbar_function(
            "zbar_symbol_get_modifiers", c_uint, POINTER(wrapper.zbar_symbol)
        )
    except AttributeError:
        return None


@contextmanager
def _scanner(wrapper: ModuleType) -> Iterator[Any]:
    scanner = wrapper.zbar_image_scanner_create()
    try:
        yield scanner
    finally:
        wrapper.zbar_image_scanner_destroy(scanner)


@contextmanager
def _zbar_image(wrapper: ModuleType) -> Iterator[Any]:
    zimage = wrapper.zbar_image_create()
    try:
        yield zimage
    finally:
        wrapper.zbar_image_destroy(zimage)


def _reason(error: Exception) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return "it is a folder"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, UnidentifiedImageError):
        return "not a PNG, JPEG or other image format Pillow knows"
    return str(error) or type(error).__name__
