"""One entry point for every output: labels in, the bytes of a file out."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from labels.compose import compose
from labels.content import Label
from labels.errors import LabelError
from labels.images import to_pdf, to_png, to_svg
from labels.layout import Layout
from labels.zpl import to_zpl


class LabelFormat(StrEnum):
    PNG = "png"
    SVG = "svg"
    PDF = "pdf"
    ZPL = "zpl"

    @property
    def one_label_a_file(self) -> bool:
        return self in (LabelFormat.PNG, LabelFormat.SVG)


def render(labels: Sequence[Label], layout: Layout, output: LabelFormat) -> bytes:
    """The labels laid out on `layout` in `output`: PDF one page a label, ZPL one format a
    label; a PNG or SVG holds exactly one label."""
    if not labels:
        raise LabelError("No label to render")
    if output.one_label_a_file and len(labels) != 1:
        raise LabelError(f"A {output.value.upper()} file holds one label, not {len(labels)}")
    drawings = [compose(label, layout) for label in labels]
    if output == LabelFormat.PNG:
        return to_png(drawings[0])
    if output == LabelFormat.SVG:
        return to_svg(drawings[0]).encode("utf-8")
    if output == LabelFormat.PDF:
        return to_pdf(drawings)
    return to_zpl(drawings).encode("ascii")


def format_of(path: Path) -> LabelFormat | None:
    """The format a file name asks for by its suffix (`label.zpl`), if any."""
    try:
        return LabelFormat(path.suffix.lower().lstrip("."))
    except ValueError:
        return None
