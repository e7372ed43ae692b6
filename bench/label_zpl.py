"""label_zpl: the same batch of lot labels as label_png, as ZPL for a thermal printer.

Ours is `labels.output.render([label], layout, ZPL)` for each of 1,000 lot labels of the
plant: the label composed on the default layout (text rows measured to fit, GS1-128 symbols
at whole printer dots) and written as one ZPL format, the symbols as their own codewords.
The baseline is label_png's: python-barcode rendering the same GS1-128 symbols (the same
codewords, checked before timing) to PNG, the symbol alone. python-barcode writes no ZPL;
its one text output, `SVGWriter`, is ten times slower than its PNG, so PNG is the fairer
yardstick. The facts add python-barcode's bare encoding (`build()`, the bars every writer
starts from, no drawing): what a ZPL writer that composed no label would come close to.
"""

from __future__ import annotations

from barcode.codex import Gs1_128

from bench.generate import plant_database
from bench.label_png import (
    _bars,
    _python_barcode_data,
    barcode_png,
    check_same_symbols,
    label_count,
    lot_labels,
)
from bench.result import Result
from bench.suite import QUICK
from bench.timing import median_seconds
from labels.layout import DEFAULT_LAYOUT, layout_named
from labels.output import LabelFormat, render
from labels.symbols import Symbol

NAME = "label_zpl"
GOAL = 1.5
"""As label_png's: a label costs at most half as much again as python-barcode's symbol."""
SEED = 1
RUNS = 3


def run(scale: float) -> Result:
    plant = plant_database(SEED, scale)
    layout = layout_named(DEFAULT_LAYOUT)
    labels = lot_labels(plant, label_count(scale))
    symbols = [(bars.symbol, bars.module, bars.height) for bars in _bars(labels, layout)]
    check_same_symbols(symbols)

    def ours() -> list[bytes]:
        return [render([label], layout, LabelFormat.ZPL) for label in labels]

    def baseline() -> list[bytes]:
        return [
            barcode_png(symbol, module, height, layout.dpi) for symbol, module, height in symbols
        ]

    def encoding() -> list[list[str]]:
        return [barcode_bars(symbol) for symbol, _module, _height in symbols]

    ours()  # warms fonts (text is measured to fit) and python-barcode's tables
    baseline()
    runs = RUNS if scale >= QUICK else 1
    ours_time = median_seconds(ours, runs)
    baseline_time = median_seconds(baseline, runs)
    encoding_time = median_seconds(encoding, runs)
    return Result(
        name=NAME,
        ours=ours_time,
        baseline=baseline_time,
        goal=GOAL,
        facts=(
            f"{len(labels):,} lot labels of the plant on {layout.name}, {len(symbols):,}"
            f" GS1-128 symbols, one ZPL format a label; medians of {RUNS} runs",
            "baseline: python-barcode ImageWriter, PNG, 8-bit grey, the symbol and its HRI only",
            f"python-barcode encoding the symbols without drawing them: {encoding_time:.3f} s,"
            f" ours {ours_time / encoding_time:.1f} times that (ours composes the whole label)",
        ),
    )


def barcode_bars(symbol: Symbol) -> list[str]:
    """python-barcode's bars for the symbol's data: a string of 1s (bars) and 0s (spaces)."""
    bars: list[str] = Gs1_128(_python_barcode_data(symbol)).build()
    return bars
