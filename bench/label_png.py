"""label_png: print previews of a batch of lot labels, one PNG a label.

Ours is `labels.output.render([label], layout, PNG)` for each of N lot labels of the plant
(read with `labels.content.label_for_lot` before timing): the label composed on the default
layout (text rows, GS1-128 symbols at whole printer dots) and saved as PNG. The baseline is
python-barcode drawing the same GS1-128 symbols (the same codewords, checked before timing)
with its `ImageWriter` to PNG, at the layout's dpi, module width and bar height, with the
human-readable line and in the same 8-bit grey: the symbol alone, without the label around it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

from barcode.codex import Gs1_128
from barcode.writer import ImageWriter
from sqlalchemy import select

from bench.generate import Plant, plant_database
from bench.result import Result
from bench.suite import QUICK
from bench.timing import median_seconds
from labels.compose import Bars, compose
from labels.content import Label, label_for_lot
from labels.layout import DEFAULT_LAYOUT, Layout, layout_named
from labels.output import LabelFormat, render
from labels.symbols import FNC1, QUIET_ZONE, Symbol
from scanner.db import open_database, reading
from scanner.gs1 import GS
from scanner.models import Lot

NAME = "label_png"
GOAL = 1.5
SEED = 1
LABELS = 1000
"""At full and quick scale alike: a label's work does not grow with the plant."""
TINY_LABELS = 10
RUNS = 3
MM_PER_INCH = 25.4


def run(scale: float) -> Result:
    plant = plant_database(SEED, scale)
    count = label_count(scale)
    layout = layout_named(DEFAULT_LAYOUT)
    labels = lot_labels(plant, count)
    symbols = [(bars.symbol, bars.module, bars.height) for bars in _bars(labels, layout)]
    check_same_symbols(symbols)

    def ours() -> list[bytes]:
        return [render([label], layout, LabelFormat.PNG) for label in labels]

    def baseline() -> list[bytes]:
        return [
            barcode_png(symbol, module, height, layout.dpi) for symbol, module, height in symbols
        ]

    ours()  # warms fonts and python-barcode's tables for both
    baseline()
    runs = RUNS if scale >= QUICK else 1
    ours_time = median_seconds(ours, runs)
    baseline_time = median_seconds(baseline, runs)
    return Result(
        name=NAME,
        ours=ours_time,
        baseline=baseline_time,
        goal=GOAL,
        facts=_facts(plant, layout, labels, symbols),
    )


def label_count(scale: float) -> int:
    """1,000 labels, except below quick scale (the smoke test), where a few show it runs."""
    return LABELS if scale >= QUICK else TINY_LABELS


def lot_labels(plant: Plant, count: int) -> list[Label]:
    """Labels for the first `count` lots of the plant, each for a whole-count container."""
    sessions = open_database(plant.url)
    try:
        with reading(sessions) as session:
            lots = session.execute(
                select(Lot.part, Lot.number).order_by(Lot.part, Lot.number).limit(count)
            ).all()
            if len(lots) < count:
                raise AssertionError(f"The plant has {len(lots)} lots, not {count}")
            return [
                label_for_lot(session, part, number, qty=Decimal(1 + position % 500))
                for position, (part, number) in enumerate(lots)
            ]
    finally:
        sessions.kw["bind"].dispose()


def barcode_png(symbol: Symbol, module: int, height: int, dpi: int) -> bytes:
    """python-barcode's PNG of the symbol's data, at `module` and `height` printer dots."""
    dot = MM_PER_INCH / dpi
    writer = ImageWriter(format="PNG", mode="L", dpi=dpi)
    code = Gs1_128(_python_barcode_data(symbol), writer=writer)
    out = io.BytesIO()
    code.write(
        out,
        {
            "module_width": module * dot,
            "module_height": height * dot,
            "quiet_zone": QUIET_ZONE * module * dot,
        },
        text=symbol.hri,
    )
    return out.getvalue()


def check_same_symbols(symbols: Sequence[tuple[Symbol, int, int]]) -> None:
    """python-barcode encodes each symbol's data to our codewords: the same symbols."""
    for symbol, _module, _height in symbols:
        theirs = tuple(Gs1_128(_python_barcode_data(symbol)).encoded)
        if theirs != symbol.codewords:
            raise AssertionError(f"python-barcode encodes {symbol.hri} differently")


def _python_barcode_data(symbol: Symbol) -> str:
    return symbol.data.replace(GS, FNC1)


def _bars(labels: Sequence[Label], layout: Layout) -> list[Bars]:
    return [bars for label in labels for bars in compose(label, layout).bars]


def _facts(
    plant: Plant,
    layout: Layout,
    labels: Sequence[Label],
    symbols: Sequence[tuple[Symbol, int, int]],
) -> tuple[str, ...]:
    return (
        f"{len(labels):,} lot labels of the plant ({plant.lots:,} lots) on {layout.name},"
        f" {len(symbols):,} GS1-128 symbols; medians of {RUNS} runs",
        "baseline: python-barcode ImageWriter, PNG, 8-bit grey, the symbol and its HRI only",
    )
