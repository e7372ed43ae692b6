"""What a message calls a GS1 field and each part of it: the words a floor worker knows
(`lot`, `expiry date`, `(8001) winding direction`), else the AI and GS1's short title."""

from __future__ import annotations

from scanner import gs1_dictionary

# What a floor worker calls the fields they meet; anything else is named by its AI.
_NAMES = {
    "00": "SSCC",
    "01": "GTIN",
    "02": "GTIN of the contents",
    "03": "GTIN",
    "10": "lot",
    "11": "production date",
    "12": "due date",
    "13": "packaging date",
    "15": "best-before date",
    "16": "sell-by date",
    "17": "expiry date",
    "21": "serial",
    "240": "part number",
    "241": "customer part number",
    "30": "count",
    "37": "count",
    "400": "order number",
}
# The parts of the fields whose data GS1 splits into components, and of single-part fields
# whose content rule is worth its own words; by AI pattern (`n` any digit).
_PARTS: dict[str, tuple[str, ...]] = {
    "253": ("GDTI", "serial component"),
    "255": ("GCN", "serial component"),
    "391n": ("currency", "amount"),
    "393n": ("currency", "price"),
    "421": ("country", "postal code"),
    "422": ("country of origin",),
    "423": ("country of initial processing",) * 5,
    "424": ("country of processing",),
    "425": ("country of disassembly",) * 5,
    "426": ("country of full processing",),
    "4307": ("ship-to country",),
    "4309": ("latitude", "longitude"),
    "4317": ("return-to country",),
    "4324": ("earliest delivery date", "earliest delivery time"),
    "4325": ("latest delivery date", "latest delivery time"),
    "433n": ("temperature", "minus sign"),
    "7003": ("expiry date", "expiry time"),
    "7007": ("harvest date", "last harvest date"),
    "7011": ("test-by date", "test-by time"),
    "703n": ("country of processing", "approval number"),
    "723n": ("certification scheme", "certification reference"),
    "7250": ("date of birth",),
    "7251": ("date of birth", "time of birth"),
    "7258": ("birth sequence",),
    "8001": ("width", "length", "core diameter", "winding direction", "splices"),
    "8003": ("leading digit", "asset type", "serial component"),
    "8006": ("GTIN", "piece of total"),
    "8008": ("production date", "production hour", "minutes", "seconds"),
    "8011": ("CPID serial",),
    "8026": ("GTIN", "piece of total"),
}


def field_name(code: str) -> str:
    """What the label's field is called in a message: `lot`, `expiry date`, `(422) ORIGIN`."""
    if code in _NAMES:
        return _NAMES[code]
    known = gs1_dictionary.entry(code)
    if known is not None:
        # GS1's short titles may end in an abbreviation's dot (`MAX TEMP F.`), which would read
        # as the end of a message's sentence.
        title = known.title.rstrip(".")
        return f"({code}) {title}" if title else f"({code})"
    from biip.gs1_application_identifiers import _GS1_APPLICATION_IDENTIFIERS

    return f"({code}) {_GS1_APPLICATION_IDENTIFIERS[code].data_title}"


def part_name(code: str, index: int, parts: int) -> str:
    """What part `index` (from 0) of AI `code`'s `parts` is called: `(8001) winding
    direction`; the field's own name for a field of one part that has no words of its own."""
    for pattern, names in _PARTS.items():
        if gs1_dictionary.matches(pattern, code) and index < len(names):
            return f"({code}) {names[index]}"
    if parts == 1:
        return field_name(code)
    return f"{field_name(code)}, part {index + 1}"
