"""The one typeface labels use (Pillow's built-in Aileron), measured in printer dots, so text
is fitted to the label once and every output places the same lines.

Bold is the regular face drawn with a stroke: Pillow carries no bold face of its own, and
a label must not depend on fonts installed on the machine.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from PIL import ImageFont

ELLIPSIS = "..."  # three dots: Zebra's built-in font has no "…"


@lru_cache(maxsize=64)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size)


def stroke(size: int, bold: bool) -> int:
    return max(1, size // 24) if bold else 0


def ascent(size: int) -> int:
    face = font(size)
    if isinstance(face, ImageFont.FreeTypeFont):
        return face.getmetrics()[0]
    return size


@lru_cache(maxsize=1024)
def text_width(text: str, size: int, bold: bool = False) -> int:
    """The text's width in dots. Cached: composing a label measures the same text several
    times (fitting its row, then placing it), and the next label measures the same part,
    description and quantity again; each measure lays out every glyph."""
    return round(font(size).getlength(text)) + 2 * stroke(size, bold)


def fit(text: str, size: int, width: int, bold: bool = False) -> str:
    """The text, cut short with an ellipsis if it is wider than `width` dots."""
    if text_width(text, size, bold) <= width:
        return text
    while text and text_width(text + ELLIPSIS, size, bold) > width:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS if text else ""


def wrap(text: str, size: int, width: int, lines: int, bold: bool = False) -> list[str]:
    """The text broken at spaces into at most `lines` lines of `width` dots; a word too long
    for a line is broken where it must be, and what does not fit ends in an ellipsis."""
    words = text.split()
    out: list[str] = []
    current = ""
    while words and len(out) < lines:
        word = words[0]
        candidate = f"{current} {word}".strip()
        if text_width(candidate, size, bold) <= width:
            current = candidate
            words.pop(0)
        elif current:
            out.append(current)
            current = ""
        else:  # a single word wider than the line
            cut = len(word)
            while cut > 1 and text_width(word[:cut], size, bold) > width:
                cut -= 1
            out.append(word[:cut])
            words[0] = word[cut:]
    if current and len(out) < lines:
        out.append(current)
        current = ""
    if (words or current) and out:
        out[-1] = fit(f"{out[-1]} {' '.join([current, *words]).strip()}", size, width, bold)
    return out


def fitting(needed: Callable[[int], int], size: int, width: int, smallest: int) -> int:
    """The largest size from `size` down to `smallest` at which `needed(size)` dots fit
    `width`."""
    while size > smallest and needed(size) > width:
        size -= 1
    return size
