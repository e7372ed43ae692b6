"""Barcodes in a photo or a screenshot, each read like a scan (`lotscan decode`).

zbar (through pyzbar) drops the leading FNC1 of a GS1 symbol and sends no AIM symbology
identifier, so a GS1-128 holding `10LOT123` would look like a plain Code 128 holding the same
text. zbar does know (its symbol's GS1 modifier); pyzbar does not pass it on, so the symbols
are walked here through pyzbar's ctypes wrapper, and each gets back the AIM identifier a
handheld would have sent (`]C1`, `]Q3`, `]E0`...) before `read_scan` sees it.

pyzbar is imported only when an image is read, so the rest of lotscan works without zbar.
pyzbar reads linear codes and QR; not Data Matrix, Aztec or (in practice) PDF417.
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

ZBAR_HELP = (
    "Reading barcodes from images needs the zbar library: install it with "
    "`apt-get install libzbar0` (Debian/Ubuntu) or `brew install zbar` (macOS)"
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
_NAMES = {("CODE128", True): "GS1-128", ("QRCODE", True): "GS1-QR"}


class ZbarMissing(LotscanError):
    """The zbar library is not installed."""

    def __init__(self) -> None:
        super().__init__(ZBAR_HELP)


class ImageUnreadable(LotscanError):
    """The file is not an image lotscan can open."""


@dataclass(frozen=True)
class DecodedBarcode:
    """One barcode found in an image: its symbology, the data zbar read, and what that data
    means as a scan (or why it cannot be read)."""

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


def decode_image(path: Path, config: ScanConfig = DEFAULT) -> list[DecodedBarcode]:
    """Every barcode zbar finds in the image at `path`, each read as a scan; an empty list when
    there is none. Raises ImageUnreadable or ZbarMissing."""
    image = open_image(path)
    found = []
    for symbology, data, gs1 in read_symbols(image):
        try:
            scan, error = read_scan(_as_sent(symbology, data, gs1), config), None
        except ScanError as refusal:
            scan, error = None, str(refusal)
        name = _NAMES.get((symbology, gs1), symbology)
        found.append(DecodedBarcode(name, data, scan, error))
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


def read_symbols(image: Image.Image) -> list[tuple[str, str, bool]]:
    """(zbar's symbology name, the data, whether zbar saw it as GS1) for each symbol."""
    zbar = _load_zbar()
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
            raw = string_at(
                wrapper.zbar_symbol_get_data(symbol), wrapper.zbar_symbol_get_data_length(symbol)
            )
            try:
                name = zbar.ZBarSymbol(symbol.contents.type).name
            except ValueError:
                name = f"zbar symbology {symbol.contents.type}"
            gs1 = bool(modifiers and modifiers(symbol) & _ZBAR_GS1)
            found.append((name, raw.decode("utf-8", errors="replace"), gs1))
            symbol = wrapper.zbar_symbol_next(symbol)
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


def _as_sent(symbology: str, data: str, gs1: bool) -> str:
    """The data as a handheld with AIM identifiers on would send it."""
    if symbology == "UPCE":
        try:
            return "]E0" + Upc.parse(data).as_upc_a()
        except ParseError:
            return data
    if symbology == "I25":
        return ("]I1" if len(data) == 14 else "]I0") + data
    return _AIM.get((symbology, gs1), "") + data


def _shown(data: str) -> str:
    """A symbol's data on one line: GS as `<GS>` (as a transcript writes it), any other
    control character spelled out."""
    return shown(data.replace(GS, "<GS>"))


def _load_zbar() -> ModuleType:
    try:
        return importlib.import_module("pyzbar.pyzbar")
    except (ImportError, OSError):
        raise ZbarMissing() from None


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
