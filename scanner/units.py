"""Units of measure: a part's unit as sites write it, and its UN/ECE Recommendation 20
code, which EPCIS exports name a quantity's unit by (`scanner.export_epcis`). A part's unit
is checked when its part is imported, so an export never meets one it cannot name."""

from __future__ import annotations

from scanner.plain_text import quoted

UOM_CODES = {
    **dict.fromkeys(("ea", "each", "pc", "pcs", "piece", "pieces", "unit", "units"), None),
    **dict.fromkeys(("kg", "kgs", "kilogram", "kilograms"), "KGM"),
    **dict.fromkeys(("g", "gram", "grams"), "GRM"),
    "mg": "MGM",
    **dict.fromkeys(("t", "tonne", "tonnes"), "TNE"),
    **dict.fromkeys(("lb", "lbs"), "LBR"),
    "oz": "ONZ",
    **dict.fromkeys(("l", "lt", "ltr", "litre", "litres", "liter", "liters"), "LTR"),
    "ml": "MLT",
    **dict.fromkeys(("gal", "gallon", "gallons"), "GLL"),
    "m3": "MTQ",
    **dict.fromkeys(("m", "metre", "metres", "meter", "meters"), "MTR"),
    "cm": "CMT",
    "mm": "MMT",
    "km": "KMT",
    "ft": "FOT",
    "in": "INH",
    "yd": "YRD",
    "m2": "MTK",
    "ft2": "FTK",
    **dict.fromkeys(("h", "hr", "hour", "hours"), "HUR"),
    "min": "MIN",
    "s": "SEC",
}
"""A part's unit of measure as sites write it, to its UN/ECE Recommendation 20 code. A count
of pieces has none: EPCIS reads a quantity without `uom` as a count of instances. A unit
already written as a code (two or three capitals or digits, `KGM`, `H87`) is taken as it is."""


def un_ece_code(uom: str) -> str | None:
    """The UN/ECE Rec 20 code of a unit (None: a count of pieces); ValueError, saying what
    would do, for a unit lotscan cannot name."""
    code = UOM_CODES.get(uom.strip().lower(), "")
    if code != "":
        return code
    text = uom.strip()
    if 2 <= len(text) <= 3 and text.isascii() and text.isalnum() and text.upper() == text:
        return text
    raise ValueError(
        f"unit of measure {quoted(uom)} has no UN/ECE code lotscan knows: give a code such"
        " as KGM, LTR, MTR or H87, or a unit such as ea, kg, g, l, ml, m, mm, h"
    )
