"""What a scan means (docs/architecture.md, "Scan language"): an item (GS1 data), one of our
prefixed codes (`LOC:`, `JOB:`, `PO:`, `SO:`, `OP:`, `CMD:`), or text answering the current
prompt.

`read_scan` is the one classifier the workflows, `lotscan parse` and `lotscan decode` use. A
scan that cannot be read raises `ScanError` with a message for the person holding the
scanner; nothing else ever escapes it.

How a scan is told apart, in order:

1. An AIM symbology identifier (`]C1`...) when the scanner sends one: GS1 symbologies (`]C1`
   `]e0` `]d2` `]Q3` `]J1`) hold GS1 data, EAN/UPC and ITF-14 (`]E0` `]E3` `]E4`, `]I1` of
   14 digits) a GTIN, the data's length checked against the identifier; any other (`]C0`
   `]d1` `]Q1`, an add-on alone `]E1` `]E2`...) plain data, read as below but never as a
   bare GTIN.
2. A configured prefix, matched case-insensitively.
3. A web address: a GS1 Digital Link.
4. GS1-shaped data: it holds a GS (or `<GS>`, or a configured substitute after a leading
   AI), starts with `(` and a digit (the human-readable form), or starts with an (00) SSCC or
   (01)/(02)/(03) GTIN element string. The text `<GS>` separates fields only in an element
   string with no real GS or substitute in it (a transcript); elsewhere it is data.
5. All digits: 8, 12, 13 or 14 of them are a GTIN (a wrong check digit is refused, not taken
   as text); 18 with a correct check digit are an SSCC; any other run of digits (a quantity,
   a typed lot) is text.
6. Anything else is text.

GS1-shaped data that fails a check is refused, never passed on as text. A site that keeps
GS1's pairing rules (`ScanConfig.gs1_pairing` strict) has every item checked by them too.

Our own codes are told apart before anything else is looked at (no prefix can start with the
`]` of a symbology identifier), so signing in and commands never load biip, which takes a
good part of a handheld's start to import: `scanner.gs1` is imported at the first scan that
may be GS1 data.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

from scanner.errors import LotscanError
from scanner.plain_text import CSET82, is_control, quoted, shown
from scanner.settings import (
    GS1_PAIRING,
    SCAN_PREFIX_COMMAND,
    SCAN_PREFIX_JOB,
    SCAN_PREFIX_LOCATION,
    SCAN_PREFIX_OPERATOR,
    SCAN_PREFIX_PO,
    SCAN_PREFIX_SO,
    SCAN_SEPARATORS,
    Gs1Pairing,
    SettingKey,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scanner.gs1 import Element


class ScanKind(StrEnum):
    ITEM = "item"
    LOCATION = "location"
    JOB = "job"
    PO = "po"
    SO = "so"
    OPERATOR = "operator"
    COMMAND = "command"
    TEXT = "text"


COMMANDS = (
    "RECEIVE",
    "ISSUE",
    "COMPLETE",
    "SHIP",
    "MOVE",
    "ASSIGN",
    "LOOKUP",
    "RETURN",
    "HOLD",
    "DONE",
    "CANCEL",
    "UNDO",
    "GEN",
    "OK",
    "CLOSE",
    "REOPEN",
    "RELEASE",
    "RECALL",
    "SIGNOUT",
)
# The prefixed kinds, the setting that overrides each prefix, and what follows the prefix.
PREFIXED: dict[ScanKind, tuple[SettingKey[str], str]] = {
    ScanKind.OPERATOR: (SCAN_PREFIX_OPERATOR, "badge"),
    ScanKind.COMMAND: (SCAN_PREFIX_COMMAND, "command name"),
    ScanKind.LOCATION: (SCAN_PREFIX_LOCATION, "location code"),
    ScanKind.JOB: (SCAN_PREFIX_JOB, "job number"),
    ScanKind.PO: (SCAN_PREFIX_PO, "purchase order number"),
    ScanKind.SO: (SCAN_PREFIX_SO, "sales order number"),
}

_GS1_SYMBOLOGIES = frozenset({"C1", "e0", "e1", "e2", "d2", "Q3", "J1"})
# What the data after each EAN/UPC identifier holds (ISO/IEC 15424, and GS1's table of
# symbology identifiers): UPC-A and UPC-E come as EAN-13, 13 digits; ]E3 is an EAN-13 and
# its add-on in one packet; ]E1 and ]E2 an add-on alone.
_EAN_UPC = {
    "E0": ("An EAN-13 barcode (]E0)", (13,)),
    "E3": ("An EAN-13 barcode with an add-on (]E3)", (15, 18)),
    "E4": ("An EAN-8 barcode (]E4)", (8,)),
    "E1": ("A 2-digit add-on (]E1)", (2,)),
    "E2": ("A 5-digit add-on (]E2)", (5,)),
}
_ITF_14 = 14
_AIM = re.compile(r"\]([A-Za-z])([0-9A-Za-z])")
_GS_TEXT = re.compile(re.escape("<GS>"), re.IGNORECASE)
_URL = re.compile(r"https?://", re.IGNORECASE)
_KEY_ELEMENT = re.compile(r"00\d{18}|0[1-3]\d{14}")


class ScanError(LotscanError):
    """A scan that cannot be read: it changes nothing, and the message says why."""


class ScanConfigError(LotscanError):
    """A site's scan setting that would make scans ambiguous."""


@dataclass(frozen=True)
class ScanConfig:
    """How this site's scanners and labels talk: the prefixes of our own codes, the
    characters its scanners send in place of GS (FNC1), if any, and whether its labels
    must keep GS1's pairing rules (`scanner.gs1_pairing`)."""

    operator: str = SCAN_PREFIX_OPERATOR.default
    command: str = SCAN_PREFIX_COMMAND.default
    location: str = SCAN_PREFIX_LOCATION.default
    job: str = SCAN_PREFIX_JOB.default
    po: str = SCAN_PREFIX_PO.default
    so: str = SCAN_PREFIX_SO.default
    separators: tuple[str, ...] = ()
    gs1_pairing: Gs1Pairing = GS1_PAIRING.default

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for kind, (setting, _) in PREFIXED.items():
            prefix = self.prefix(kind)
            if not prefix or not prefix.isprintable() or prefix != prefix.strip():
                raise ScanConfigError(f"Setting {setting.key}: {prefix!r} cannot be a prefix")
            if prefix[0].isdigit() or prefix[0] in "(]":
                raise ScanConfigError(
                    f"Setting {setting.key}: a prefix starting with {prefix[0]!r} "
                    "would be taken for GS1 data"
                )
            if prefix.upper() in seen:
                raise ScanConfigError(
                    f"Setting {setting.key}: {prefix!r} is already another prefix"
                )
            seen.add(prefix.upper())
        for separator in self.separators:
            if len(separator) != 1 or separator.isspace() or separator == "]":
                raise ScanConfigError(
                    f"Setting {SCAN_SEPARATORS.key}: {separator!r} cannot stand for GS"
                )
            if separator in CSET82:
                raise ScanConfigError(
                    f"Setting {SCAN_SEPARATORS.key}: {separator!r} can be part of a lot or "
                    "serial number, so it cannot stand for GS"
                )

    def prefix(self, kind: ScanKind) -> str:
        value: str = getattr(self, kind.value)
        return value


DEFAULT = ScanConfig()


def scan_config(session: Session) -> ScanConfig:
    """This site's scan configuration: the defaults, with any overrides from the settings
    table (`scan.prefix.location` = `BIN:`, `scan.separators` = `|~`: each character one
    substitute for GS; spaces and commas between them are ignored, `gs1_pairing`). Read in
    one statement: a running handheld reads it again each time its sync looks at the
    database (`sync.device.loop`)."""
    from sqlalchemy import select  # a handheld's start reads these without SQLAlchemy

    from scanner.models import Setting

    keys = [setting.key for setting in SCAN_SETTINGS]
    rows = session.execute(select(Setting.key, Setting.value).where(Setting.key.in_(keys)))
    stored = dict(rows.tuples().all())
    return scan_config_of(lambda setting: setting.value_of(stored.get(setting.key)))


SCAN_SETTINGS: tuple[SettingKey[Any], ...] = (
    *(setting for setting, _ in PREFIXED.values()),
    SCAN_SEPARATORS,
    GS1_PAIRING,
)
"""The settings a scan configuration is read from."""


def scan_config_of(value: Callable[[SettingKey[Any]], Any]) -> ScanConfig:
    """The scan configuration from `value`, which gives each of `SCAN_SETTINGS`' values:
    `scan_config`'s from a session, `scanner.device_start`'s from the rows sqlite3 read."""
    overrides: dict[str, Any] = {
        kind.value: value(setting) for kind, (setting, _) in PREFIXED.items()
    }
    overrides["gs1_pairing"] = value(GS1_PAIRING)
    separators = value(SCAN_SEPARATORS)
    if separators:
        overrides["separators"] = tuple(dict.fromkeys(c for c in separators if c not in " ,"))
    return ScanConfig(**overrides)


@dataclass(frozen=True)
class Item:
    """What a GS1 scan says about an item. `ai` holds every element string as decoded, in
    scan order; the named fields are the ones the workflows use."""

    ai: dict[str, str] = field(default_factory=dict)
    gtin: str | None = None
    part: str | None = None
    lot: str | None = None
    serial: str | None = None
    expiry: date | None = None
    count: int | None = None

    @property
    def names_part(self) -> bool:
        """Whether the label names its part (by GTIN or part number); one that does not is
        a lone lot or serial barcode, or the rest of a label printed in two symbols."""
        return bool(self.gtin or self.part)


@dataclass(frozen=True)
class Scan:
    kind: ScanKind
    raw: str
    value: str | None = None
    item: Item | None = None

    def as_json(self) -> dict[str, Any]:
        """`lotscan parse --json`'s shape (docs/architecture.md, "JSON shapes")."""
        if self.item is None:
            return {"kind": self.kind.value, "value": self.value}
        shape: dict[str, Any] = {"kind": self.kind.value, "ai": dict(self.item.ai)}
        for each in fields(Item):
            value = getattr(self.item, each.name)
            if each.name != "ai" and value is not None:
                shape[each.name] = value.isoformat() if isinstance(value, date) else value
        return shape


def read_scan(raw: str, config: ScanConfig = DEFAULT) -> Scan:
    """What one scan means, exactly as the scanner sent it (a trailing CR, LF or Tab and
    surrounding spaces are ignored). Raises ScanError for a scan that cannot be read."""
    data = raw.strip()
    if not data:
        raise ScanError("Nothing was scanned")
    if not data.startswith("]"):
        prefixed = _read_prefixed(raw, data, config)
        if prefixed is not None:
            return prefixed
    from scanner import gs1  # here, not at the top: biip takes ~60 ms to import (module doc)

    try:
        return _classify(raw, data, config)
    except gs1.GS1Error as error:
        raise ScanError(str(error)) from None


def format_scan(scan: Scan) -> str:
    """A readable summary, one line per field."""
    lines = [f"kind: {scan.kind.value}"]
    if scan.item is None:
        lines.append(f"value: {_visible(str(scan.value))}")
        return "\n".join(lines)
    json = scan.as_json()
    lines.append("ai: " + " ".join(f"({ai}){_visible(v)}" for ai, v in scan.item.ai.items()))
    lines += [f"{key}: {_visible(str(json[key]))}" for key in json if key not in ("kind", "ai")]
    return "\n".join(lines)


def _classify(raw: str, data: str, config: ScanConfig) -> Scan:
    """What a scan that did not start with one of our prefixes means (steps 1 and 3-6)."""
    from scanner import gs1  # loaded by read_scan (see there)

    symbology: str | None = None
    if data.startswith("]") and len(data) > 1:
        symbology, data = _split_symbology(data)
        if not data:
            raise ScanError("The barcode holds no data")
        if symbology in _GS1_SYMBOLOGIES:
            return _item(raw, _read_gs1(data, config), config)
        digits = _ean_upc_gtin(symbology, data) if symbology in _EAN_UPC else None
        if symbology == "I1" and len(data) == _ITF_14:  # ITF-14; other ITFs are plain data
            digits = data
        if digits is not None:
            return _item(raw, [gs1.Element("01", gs1.read_gtin(digits))], config)
        prefixed = _read_prefixed(raw, data, config)
        if prefixed is not None:
            return prefixed
    if _URL.match(data):
        return _item(raw, gs1.read_digital_link(data), config)
    if _looks_like_gs1(data, config):
        return _item(raw, _read_gs1(data, config), config)
    if symbology is None and data.isascii() and data.isdigit():
        if len(data) in gs1.GTIN_LENGTHS:
            return _item(raw, [gs1.Element("01", gs1.read_gtin(data))], config)
        if len(data) == 18 and gs1.has_valid_check_digit(data):
            return _item(raw, [gs1.Element("00", data)], config)
    _refuse_control_characters(data)
    return Scan(ScanKind.TEXT, raw, value=data)


def _ean_upc_gtin(symbology: str, data: str) -> str | None:
    """The GTIN's digits an EAN/UPC barcode carries, its data's length checked against its
    identifier; None for an add-on alone, which names no item (read as plain data)."""
    if symbology in ("E0", "E4"):
        # Some scanners send the add-on as a packet of its own after the main one: ]E0...]E112
        main, marker, add_on = data.partition("]E")
        if marker and add_on[:1] in ("1", "2"):
            _check_length("E" + add_on[0], add_on[1:])
            data = main
    _check_length(symbology, data)
    if symbology in ("E1", "E2"):
        return None
    return data[:13]  # ]E3: the add-on's digits follow the EAN-13's


def _check_length(symbology: str, data: str) -> None:
    barcode, lengths = _EAN_UPC[symbology]
    if data.isascii() and data.isdigit() and len(data) in lengths:
        return
    carries = " or ".join(str(length) for length in lengths)
    sent = len(data) if data.isascii() and data.isdigit() else quoted(data)
    raise ScanError(f"{barcode} carries {carries} digits; this one sent {sent}")


def _split_symbology(data: str) -> tuple[str, str]:
    """The AIM symbology identifier (`]C1` gives `C1`) and the data after it."""
    aim = _AIM.match(data)
    if aim is None:
        raise ScanError(f"The scan starts with {data[:3]!r}, which is not a symbology identifier")
    if aim.group(1) not in _aim_codes():
        raise ScanError(f"The scanner sent an unknown symbology identifier {aim.group(0)!r}")
    return aim.group(1) + aim.group(2), data[3:].strip()


@cache
def _aim_codes() -> frozenset[str]:
    """ISO/IEC 15424 code characters: biip's list, plus DotCode (J), which it lacks."""
    from biip.symbology import ISOSymbology  # loaded with scanner.gs1 by read_scan

    return frozenset({symbology.value for symbology in ISOSymbology} | {"J"})


def _read_prefixed(raw: str, data: str, config: ScanConfig) -> Scan | None:
    for kind, prefix, upper in _prefixes(config):
        if data[: len(prefix)].upper() != upper:
            continue
        value = data[len(prefix) :].strip()
        if not value:
            raise ScanError(f"{prefix} needs a {PREFIXED[kind][1]} after it")
        _refuse_control_characters(value)
        if kind is ScanKind.COMMAND:
            value = value.upper()
            if value not in COMMANDS:
                known = ", ".join(COMMANDS)
                raise ScanError(f"Unknown command {prefix}{value} (known: {known})")
        return Scan(kind, raw, value=value)
    return None


@functools.cache
def _prefixes(config: ScanConfig) -> tuple[tuple[ScanKind, str, str], ...]:
    """Each prefixed kind with its prefix as configured and in capitals, longest first, so
    that a site's `P:` does not shadow its `PO:`."""
    kinds = sorted(PREFIXED, key=lambda kind: -len(config.prefix(kind)))
    return tuple((kind, config.prefix(kind), config.prefix(kind).upper()) for kind in kinds)


def _looks_like_gs1(data: str, config: ScanConfig) -> bool:
    from scanner import gs1  # loaded by read_scan (see there)

    if gs1.GS in data or _GS_TEXT.search(data):
        return True
    body = data.lstrip("".join(config.separators))
    if _KEY_ELEMENT.match(body) or (body[:1] == "(" and body[1:2].isdigit()):
        return True
    starts_with_ai = body[:2].isascii() and body[:2].isdigit()
    return starts_with_ai and any(separator in body for separator in config.separators)


def _read_gs1(data: str, config: ScanConfig) -> list[Element]:
    from scanner import gs1  # loaded by read_scan (see there)

    for separator in config.separators:
        data = data.replace(separator, gs1.GS)
    data = data.strip(gs1.GS)
    if data.startswith("("):
        return gs1.read_hri(data)
    if _URL.match(data):
        return gs1.read_digital_link(data)
    if gs1.GS not in data:
        # A transcript (typed, or a tool's log): `<GS>` is its separator. Where a real GS
        # separates the fields, the text `<GS>` can only be part of a lot or serial.
        data = _GS_TEXT.sub(gs1.GS, data).strip(gs1.GS)
    return gs1.read_element_string(data)


def _item(raw: str, elements: list[Element], config: ScanConfig) -> Scan:
    ai: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    for element in elements:
        if ai.setdefault(element.ai, element.value) != element.value:
            raise ScanError(
                f"The label has ({element.ai}) twice, with different values: "
                f"{ai[element.ai]!r} and {element.value!r}"
            )
        dates[element.ai] = element.date
    if config.gs1_pairing is Gs1Pairing.STRICT:
        from scanner.gs1_pairing import check_pairs  # loaded with scanner.gs1 (see read_scan)

        check_pairs(list(ai))
    count = ai.get("30") or ai.get("37")
    item = Item(
        ai=ai,
        # A logistic label names its contents by (02) and their number by (37).
        gtin=ai.get("01") or ai.get("02"),
        part=ai.get("240"),
        lot=ai.get("10"),
        serial=ai.get("21"),
        expiry=dates.get("17"),
        count=int(count) if count else None,
    )
    return Scan(ScanKind.ITEM, raw, item=item)


def _refuse_control_characters(value: str) -> None:
    for c in value:
        if c != "\t" and is_control(c):
            raise ScanError(
                f"The scan has a control character (U+{ord(c):04X}) that no label carries: "
                "check the scanner's settings"
            )


def _visible(value: str) -> str:
    from scanner import gs1  # loaded by read_scan when it read this item

    return shown(value.replace(gs1.GS, "<GS>"))
