"""GS1's pairing rules for the fields of one label: the AIs a field must appear with (its
mandatory associations, the dictionary's `req=`) and the AIs it must never appear with (its
invalid pairs, `ex=`), as GS1's Barcode Syntax Dictionary gives them (`scanner.gs1_dictionary`).

A site's choice (setting `gs1_pairing`, docs/architecture.md "GS1 data"): off by default,
because a site's own labels name a part without a GTIN by (240) alone, which GS1 pairs only
with a GTIN. `read_scan` applies them to every item scanned once the site sets `strict`.
"""

from __future__ import annotations

from collections.abc import Sequence

from scanner.gs1 import GS1Error, field_name
from scanner.gs1_dictionary import entry, matches

# AIs that each carry a GTIN: GS1's usual partners for a product's attributes.
_GTIN_CARRIERS = frozenset({"01", "02", "03", "8006", "8026"})


def check_pairs(ais: Sequence[str]) -> None:
    """Raises GS1Error naming the first pairing rule the AIs of one label break: an invalid
    pair first, then a missing partner. An AI GS1's dictionary lacks has no rules here."""
    present = list(dict.fromkeys(ais))
    for ai in present:
        found = entry(ai)
        for pattern in found.excludes if found else ():
            # An AI never excludes itself: (3103) with ex=310n refuses only another (310n).
            clash = next(
                (other for other in present if other != ai and matches(pattern, other)), None
            )
            if clash is not None:
                raise GS1Error(
                    f"GS1 says {_field(ai)} and {_field(clash)} never appear together on one label"
                )
    for ai in present:
        found = entry(ai)
        others = [other for other in present if other != ai]
        for clause in found.requires if found else ():
            if not any(all(_has(pattern, others) for pattern in group) for group in clause):
                raise GS1Error(
                    f"GS1 says {_field(ai)} goes with {_partners(clause)}: this label has none"
                )


def _has(pattern: str, ais: Sequence[str]) -> bool:
    return any(matches(pattern, ai) for ai in ais)


def _field(ai: str) -> str:
    """`the lot (10)` for a field with a floor name, `(3103) NET WEIGHT (kg)` otherwise."""
    try:
        name = field_name(ai)
    except KeyError:  # an AI biip does not know yet: the dictionary's title
        found = entry(ai)
        name = f"({ai}) {found.title}" if found else f"({ai})"
    return name if name.startswith("(") else f"the {name} ({ai})"


def _partners(clause: tuple[tuple[str, ...], ...]) -> str:
    """One `req=` clause in words: `a GTIN (01), (02) or (8006)`, `(00) or both (01) and
    (21)`."""
    listed = _listed([_group(group) for group in clause], "or")
    if all(len(group) == 1 and group[0] in _GTIN_CARRIERS for group in clause):
        return f"a GTIN {listed}"
    return listed


def _group(group: tuple[str, ...]) -> str:
    shown = _listed([f"({pattern})" for pattern in group], "and")
    if len(group) == 1:
        return shown
    return f"both {shown}" if len(group) == 2 else f"all of {shown}"


def _listed(words: list[str], last: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"
