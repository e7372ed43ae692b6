"""label_png_datamatrix: label_png's batch of lot labels with a GS1 DataMatrix beside the
GS1-128 symbols.

Ours is `labels.output.render([label], layout, PNG)` for each of the 1,000 lot labels of
label_png, on the default layout with `datamatrix = "beside"`: the label composed (text rows
beside the DataMatrix, GS1-128 symbols), the DataMatrix encoded by zxing-cpp and drawn from
its modules at whole printer dots, and saved as PNG. The baseline is the same symbols drawn
by their libraries' own writers, the symbols alone: label_png's python-barcode PNG of each
GS1-128 symbol, and zxing-cpp encoding the same element strings as a DataMatrix and writing
its image at the layout's module, with its quiet zone, saved as PNG by Pillow.
"""

from __future__ import annotations

import io
from dataclasses import replace

from PIL import Image

from bench.generate import plant_database
from bench.label_png import barcode_png, check_same_symbols, label_count, lot_labels
from bench.result import Result
from bench.suite import QUICK
from bench.timing import median_seconds
from labels.compose import compose
from labels.layout import DEFAULT_LAYOUT, layout_named
from labels.output import LabelFormat, render

NAME = "label_png_datamatrix"
GOAL = 1.5
"""As label_png's: a label costs at most half as much again as its symbols drawn alone."""
SEED = 1
RUNS = 3


def run(scale: float) -> Result:
    import zxingcpp

    plant = plant_database(SEED, scale)
    layout = replace(layout_named(DEFAULT_LAYOUT), datamatrix="beside")
    labels = lot_labels(plant, label_count(scale))
    drawings = [compose(label, layout) for label in labels]
    symbols = [(bars.symbol, bars.module, bars.height) for d in drawings for bars in d.bars]
    check_same_symbols(symbols)
    # libzint's own input, as labels/datamatrix.py gives it: AIs in square brackets.
    matrices = [
        "".join(f"[{element.ai}]{element.value}" for element in label.elements())
        for label in labels
    ]

    def ours() -> list[bytes]:
        return [render([label], layout, LabelFormat.PNG) for label in labels]

    def matrix_png(text: str) -> bytes:
        barcode = zxingcpp.create_barcode(text, zxingcpp.DataMatrix, gs1=True, force_square=True)
        image = barcode.to_image(scale=layout.datamatrix_module, add_quiet_zones=True)
        out = io.BytesIO()
        pixels = bytes(image)  # type: ignore[call-overload]  # the stub lacks its buffer
        Image.frombytes("L", image.shape[::-1], pixels).save(out, "PNG")
        return out.getvalue()

    def baseline() -> list[bytes]:
        linear = [
            barcode_png(symbol, module, height, layout.dpi) for symbol, module, height in symbols
        ]
        return linear + [matrix_png(text) for text in matrices]

    ours()  # warms fonts, python-barcode's tables and zxing-cpp for both
    baseline()
    runs = RUNS if scale >= QUICK else 1
    ours_time = median_seconds(ours, runs)
    baseline_time = median_seconds(baseline, runs)
    sizes = sorted({d.matrices[0].symbol.size for d in drawings})
    return Result(
        name=NAME,
        ours=ours_time,
        baseline=baseline_time,
        goal=GOAL,
        facts=(
            f"{len(labels):,} lot labels of the plant on {layout.name} with datamatrix beside,"
            f" {len(symbols):,} GS1-128 symbols and {len(labels):,} GS1 DataMatrix symbols"
            f" ({sizes[0]} to {sizes[-1]} modules a side); medians of {RUNS} runs",
            "baseline: python-barcode ImageWriter PNG of each GS1-128 symbol and its HRI, and"
            " zxing-cpp's DataMatrix image saved by Pillow as PNG: the symbols only",
        ),
    )
