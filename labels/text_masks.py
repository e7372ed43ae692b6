"""Lines of label text drawn from their rendered masks, kept for the lines that come round
again.

Drawing a line costs FreeType a layout and a rasterisation a glyph, and for bold text a
stroke a glyph: most of a PNG label's drawing. Consecutive labels repeat most of their lines
(part, description, quantity, expiry), but not all: a lot number and its human-readable
line are new on every lot label, and rendering a line into a mask of its own costs more
than drawing it straight onto the label (finding the mask's size is one more layout). So a
line is drawn straight the first time it is seen, rendered into a mask the second time, and
drawn from that mask after that. Drawn either way, the label's pixels are the same.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from PIL import Image, ImageDraw

from labels import fonts

_Line = tuple[str, int, bool]  # the text, its size in dots, bold
_Mask = tuple[Image.Image, tuple[int, int]]  # coverage, and where it lies from the line's box


class TextMasks:
    """At most `kept` masks and `remembered` lines seen once, the least recently drawn
    forgotten first. Safe to share between threads."""

    def __init__(self, kept: int, remembered: int) -> None:
        self._kept = kept
        self._remembered = remembered
        self._masks: OrderedDict[_Line, _Mask] = OrderedDict()
        self._seen: OrderedDict[_Line, None] = OrderedDict()
        self._lock = threading.Lock()

    def draw(
        self, draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int, bold: bool
    ) -> None:
        """The line in black, `xy` the top left of its box: the stroke's left edge, the
        font's ascender line."""
        line = (text, size, bold)
        mask = self._mask(line)
        if mask is None:
            _draw_straight(draw, xy, line)
        else:
            coverage, (left, top) = mask
            draw.bitmap((xy[0] + left, xy[1] + top), coverage, fill=0)

    def __len__(self) -> int:
        """How many masks are kept."""
        with self._lock:
            return len(self._masks)

    def _mask(self, line: _Line) -> _Mask | None:
        """The line's mask, rendered now if this is the second time it is drawn; None the
        first time."""
        with self._lock:
            if line in self._masks:
                self._masks.move_to_end(line)
                return self._masks[line]
            if line not in self._seen:
                self._seen[line] = None
                if len(self._seen) > self._remembered:
                    self._seen.popitem(last=False)
                return None
            del self._seen[line]
        mask = _render(line)  # outside the lock: another thread may be drawing a label
        with self._lock:
            self._masks[line] = mask
            if len(self._masks) > self._kept:
                self._masks.popitem(last=False)
        return mask


def _draw_straight(draw: ImageDraw.ImageDraw, xy: tuple[int, int], line: _Line) -> None:
    text, size, bold = line
    stroke = fonts.stroke(size, bold)
    # The text starts `stroke` dots into its box, so that the stroke's left edge is the box's.
    draw.text(
        (xy[0] + stroke, xy[1]),
        text,
        font=fonts.font(size),
        fill=0,
        anchor="la",
        stroke_width=stroke,
        stroke_fill=0,
    )


def _render(line: _Line) -> _Mask:
    """The line's coverage (255 where it is solid), drawn as `_draw_straight` draws it, and
    where that lies from the top left of the line's box. Drawing black through it blends
    exactly as drawing the text does."""
    text, size, bold = line
    font = fonts.font(size)
    stroke = fonts.stroke(size, bold)
    left, top, right, bottom = (
        int(edge) for edge in font.getbbox(text, anchor="la", stroke_width=stroke)
    )
    coverage = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(coverage).text(
        (-left, -top),
        text,
        font=font,
        fill=255,
        anchor="la",
        stroke_width=stroke,
        stroke_fill=255,
    )
    return coverage, (left + stroke, top)
