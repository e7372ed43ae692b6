"""Labels as images for office printers and previews: PNG and PDF (one label a page) drawn
with Pillow at the printer's resolution, one pixel a dot; SVG in the same dots.

Bars are drawn from the symbol's modules at whole dots, never scaled, so every bar of a
module is the same width: the image is what a thermal printer at that dpi would print. A
DataMatrix's modules are squares of whole dots the same way.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, ImageDraw

from labels import fonts
from labels.compose import Align, Bars, Drawing, Matrix, Text
from labels.png import grey_png
from labels.text_masks import TextMasks

_FONT_FAMILY = "Aileron, Helvetica, Arial, sans-serif"


def to_image(drawing: Drawing) -> Image.Image:
    """The label in 8-bit grey, one pixel a printer dot."""
    image = Image.new("L", (drawing.width, drawing.height), 255)
    draw = ImageDraw.Draw(image)
    for bars in drawing.bars:
        _draw_bars(image, bars)
    for matrix in drawing.matrices:
        _draw_matrix(image, matrix)
    for text in drawing.texts:
        TEXT_MASKS.draw(draw, (_left(text), text.y), text.text, text.size, text.bold)
    return image


TEXT_MASKS = TextMasks(kept=64, remembered=256)
"""Masks of the lines labels repeat: 10 to 40 kB each on the built-in layouts, at most about
300 kB for a line as wide and tall as 4x6 in stock at 300 dpi holds."""


def _draw_bars(image: Image.Image, bars: Bars) -> None:
    """The symbol in one paste rather than a rectangle a bar: black painted through a mask of
    its row of dots, the same from top to bottom."""
    dots = {ord("1"): "\xff" * bars.module, ord("0"): "\0" * bars.module}
    row = bars.symbol.modules.translate(dots).encode("latin-1")
    mask = Image.frombytes("L", (bars.width, bars.height), row * bars.height)
    image.paste(0, (bars.x, bars.y, bars.x + bars.width, bars.y + bars.height), mask)


def _draw_matrix(image: Image.Image, matrix: Matrix) -> None:
    """The symbol's modules, one pixel each, scaled by a whole number to the module's dots
    (nearest neighbour, so every module stays a square of whole dots) and painted black."""
    size = matrix.symbol.size
    modules = "".join(matrix.symbol.rows).translate({ord("1"): "\xff", ord("0"): "\0"})
    mask = Image.frombytes("L", (size, size), modules.encode("latin-1"))
    mask = mask.resize((matrix.side, matrix.side), Image.Resampling.NEAREST)
    image.paste(0, (matrix.x, matrix.y, matrix.x + matrix.side, matrix.y + matrix.side), mask)


PNG_COMPRESSION = 3
"""zlib level 3, not 6: a third of the deflating time for files a sixth bigger (10.4 kB
instead of 8.9 kB for a 4x2 inch lot label at 203 dpi); the pixels are the same."""


def to_png(drawing: Drawing) -> bytes:
    # Not Pillow's encoder: its adaptive row filters cost more than deflating (labels/png.py).
    return grey_png(to_image(drawing), drawing.dpi, PNG_COMPRESSION)


def to_pdf(drawings: Sequence[Drawing]) -> bytes:
    """One page a label, each page the size of its label. Pages are black and white, as a
    thermal printer prints them: Pillow stores those losslessly (CCITT G4), where grey
    would go through JPEG and blur the bars' edges."""
    if not drawings:
        raise ValueError("A PDF needs at least one label")
    first, *rest = [_black_and_white(to_image(drawing)) for drawing in drawings]
    out = io.BytesIO()
    first.save(
        out,
        "PDF",
        resolution=float(drawings[0].dpi),
        save_all=True,
        append_images=rest,
        title="lotscan labels",
    )
    return out.getvalue()


def to_svg(drawing: Drawing) -> str:
    """The label as SVG, its user unit one printer dot and its size in inches."""
    inches_wide = drawing.width / drawing.dpi
    inches_high = drawing.height / drawing.dpi
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{inches_wide:g}in" '
        f'height="{inches_high:g}in" viewBox="0 0 {drawing.width} {drawing.height}">',
        f'<rect width="{drawing.width}" height="{drawing.height}" fill="#fff"/>',
    ]
    for bars in drawing.bars:
        path = "".join(f"M{x} {bars.y}h{width}v{bars.height}h{-width}z" for x, width in bars.runs())
        lines.append(f'<path class="barcode" data-hri={quoteattr(bars.symbol.hri)} d="{path}"/>')
    for matrix in drawing.matrices:
        side = matrix.module
        path = "".join(f"M{x} {y}h{width}v{side}h{-width}z" for x, y, width in matrix.runs())
        hri = quoteattr(matrix.symbol.hri)
        lines.append(f'<path class="datamatrix" data-hri={hri} d="{path}"/>')
    for text in drawing.texts:
        anchor = {Align.LEFT: "start", Align.RIGHT: "end", Align.CENTER: "middle"}[text.align]
        x = {
            Align.LEFT: text.x,
            Align.RIGHT: text.x + text.width,
            Align.CENTER: text.x + text.width // 2,
        }[text.align]
        weight = ' font-weight="bold"' if text.bold else ""
        lines.append(
            f'<text x="{x}" y="{text.y + fonts.ascent(text.size)}" font-size="{text.size}" '
            f'font-family="{_FONT_FAMILY}" text-anchor="{anchor}"{weight}>'
            f"{escape(text.text)}</text>"
        )
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def _black_and_white(image: Image.Image) -> Image.Image:
    return image.point(lambda value: 255 if value >= 128 else 0).convert("1", dither=None)


def _left(text: Text) -> int:
    """Where the text starts, by its measured width and its alignment in its box."""
    if text.align == Align.LEFT:
        return text.x
    spare = text.width - fonts.text_width(text.text, text.size, text.bold)
    return text.x + (spare if text.align == Align.RIGHT else spare // 2)
