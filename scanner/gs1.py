"""GS1 data as labels carry it: element strings, the human-readable form and bare GTINs, read
with biip plus the checks biip leaves to us, and Digital Link URIs (scanner/gs1_digital_link.py).

biip is lenient where a scanning floor cannot be: it reports a wrong check digit without
failing, lets a fixed-length field that needs a separator (422) run into the next one, and
its HRI reader deletes spaces inside a value (`(10)LOT 123` becomes lot `LOT123`). Here each
of those is an error, with a message for the person holding the scanner.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import date

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_application_identifiers import (
    _GS1_APPLICATION_IDENTIFIERS as KNOWN_AIS,
)
from biip.gs1_application_identifiers import (
    GS1ApplicationIdentifier,
)
from biip.gs1_element_strings import GS1ElementString

from scanner.errors import LotscanError
from scanner.numbering import CSET82
from scanner.plain_text import shown

GS = "\x1d"
GTIN_LENGTHS = (8, 12, 13, 14)

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
# Where the number that ends in a GS1 check digit sits in each field that has one.
_CHECKED_NUMBERS = {
    "00": 18,
    "01": 14,
    "02": 14,
    "03": 14,
    **{f"41{n}": 13 for n in range(8)},
    "253": 13,
    "255": 13,
    "402": 17,
    "8003": 14,
    "8006": 14,
    "8017": 18,
    "8018": 18,
    "8026": 14,
}
# Fields that start with a date YYMMDD; only these may leave the day as 00.
_DAY_00_ALLOWED = frozenset({"11", "12", "13", "15", "16", "17"})
_DATE_FIELDS = _DAY_00_ALLOWED | {"4324", "4325", "4326", "7003", "7006", "7007", "7011", "8008"}
_HRI_AI = re.compile(r"\((\d{2,4})\)")
_FORMAT_FIXED = re.compile(r"([NXYZ])(\d+)")
_FORMAT_UP_TO = re.compile(r"([NXYZ])\.\.(\d+)")


class GS1Error(LotscanError):
    """GS1 data that breaks a GS1 rule: the message says which, for the person scanning."""


@dataclass(frozen=True)
class Element:
    """One element string: the AI, its data as the label carries it, and its date if any."""

    ai: str
    value: str
    date: date | None = None


def read_element_string(data: str) -> list[Element]:
    """The element strings of GS1 data whose separators are all GS (0x1D).

    A field that needs a separator (every field outside the predefined-length table: lot,
    serial, count, even fixed-length (422)) runs to the next GS, so an over-long field or a
    missing separator after (422) is caught rather than silently split."""
    elements: list[Element] = []
    position = 0
    while position < len(data):
        if data[position] == GS:  # a leading, trailing or doubled separator means nothing
            position += 1
            continue
        ai = _application_identifier(data[position:], after=elements)
        start = position + len(ai.ai)
        following = data.find(GS, start)
        end = len(data) if following < 0 else following
        if not ai.separator_required:
            end = min(end, start + (_max_length(ai) or 0))
        value = data[start:end]
        elements.append(check_field(ai.ai, value, to_separator=ai.separator_required))
        position = end
    if not elements:
        raise GS1Error("The barcode holds no GS1 data")
    return elements


def read_hri(data: str) -> list[Element]:
    """The element strings of the human-readable form `(01)09506000134352(10)LOT123`.

    Spaces between fields are allowed (labels print them); a space inside a value is not."""
    markers = list(_HRI_AI.finditer(data))
    if not markers or data[: markers[0].start()].strip():
        raise GS1Error(f"{_shown(data)} is not GS1 data: it should look like (01)...(10)...")
    elements: list[Element] = []
    for marker, following in zip(markers, [*markers[1:], None], strict=True):
        end = following.start() if following else len(data)
        code = marker.group(1)
        if code not in KNOWN_AIS:
            raise GS1Error(f"({code}) is not a GS1 application identifier")
        elements.append(check_field(code, data[marker.end() : end].strip(" \t" + GS)))
    return elements


def read_digital_link(uri: str) -> list[Element]:
    """The element strings of a GS1 Digital Link URI on any host, as GS1's Digital Link URI
    Syntax standard reads it (scanner/gs1_digital_link.py), each field checked like any
    label's."""
    from scanner import gs1_digital_link  # it reads each field with check_field, from here

    return gs1_digital_link.read_digital_link(uri)


def read_gtin(digits: str) -> str:
    """A GTIN-8, -12, -13 or -14 with a correct check digit, as 14 digits."""
    if not (digits.isascii() and digits.isdigit() and len(digits) in GTIN_LENGTHS):
        raise GS1Error(f"{_shown(digits)} is not a GTIN: a GTIN has 8, 12, 13 or 14 digits")
    _check_digit("GTIN", digits)
    return digits.zfill(14)


def has_valid_check_digit(digits: str) -> bool:
    return (
        len(digits) > 1
        and digits.isascii()
        and digits.isdigit()
        and gs1_standard_check_digit(digits[:-1]) == int(digits[-1])
    )


def check_field(code: str, value: str, *, to_separator: bool = False) -> Element:
    """The field `value` of AI `code`, refused unless a GS1 label could carry it: the right
    length and characters, a real date (day 00 is the month's last day where GS1 allows it),
    a correct check digit. `to_separator`: the value ran up to a separator, so one that is
    too long may be a separator the scanner dropped."""
    rules = _rules(code)
    name = rules.name
    if not value:
        shown = name if name.startswith("(") else f"{name} ({code})"
        raise GS1Error(f"The {shown} on the label is empty")
    longest = rules.longest
    if longest is not None and len(value) > longest:
        hint = " (or the separator after it is missing)" if to_separator else ""
        raise GS1Error(
            f"{_capital(name)} {_shown(value)} is too long: a GS1 label carries at most "
            f"{longest} characters there{hint}"
        )
    if rules.allowed is None:
        if not (value.isascii() and value.isdigit()):
            raise GS1Error(f"{_capital(name)} {_shown(value)} should be digits only")
    else:
        bad = [c for c in dict.fromkeys(value) if c not in rules.allowed]
        if bad:
            shown = ", ".join(_character(c) for c in bad)
            raise GS1Error(
                f"{_capital(name)} {_shown(value)} has a character a GS1 label cannot carry: "
                f"{shown}"
            )
    dated = code in _DATE_FIELDS
    if dated:
        _check_date(code, name, value)
    if not rules.pattern.fullmatch(code + value):
        raise GS1Error(f"{_capital(name)} {_shown(value)} is not in GS1's form {_form(rules.ai)}")
    when = None
    if dated:
        # Only for a date does biip read more than the checks above: the date itself.
        try:
            when = GS1ElementString.parse(code + value).date
        except (ParseError, ValueError):
            raise GS1Error(f"The {name} {_shown(value)} is not a real date and time") from None
    if code in _CHECKED_NUMBERS:
        _check_digit(name, value[: _CHECKED_NUMBERS[code]])
    return Element(code, value, when)


@dataclass(frozen=True)
class _Rules:
    """What a field of one AI may hold, read once from biip's table."""

    ai: GS1ApplicationIdentifier
    name: str
    longest: int | None
    allowed: frozenset[str] | None
    """The characters the field may hold; None for digits only."""
    pattern: re.Pattern[str]


@functools.cache
def _rules(code: str) -> _Rules:
    ai = KNOWN_AIS[code]
    kinds = _format_kinds(ai)
    return _Rules(
        ai=ai,
        name=field_name(code),
        longest=_max_length(ai),
        allowed=None if kinds == {"N"} else CSET82 | {"#"} if "Y" in kinds else CSET82,
        pattern=re.compile(ai.pattern),
    )


def field_name(code: str) -> str:
    """What the label's field is called in a message: `lot`, `expiry date`, `(422) ORIGIN`."""
    return _NAMES.get(code) or f"({code}) {KNOWN_AIS[code].data_title}"


def _application_identifier(rest: str, after: list[Element]) -> GS1ApplicationIdentifier:
    try:
        return GS1ApplicationIdentifier.extract(rest)
    except ParseError:
        pass
    if after:
        last = after[-1]
        raise GS1Error(
            f"After ({last.ai}){last.value} the label data {_shown(rest)} is not a GS1 field"
        )
    raise GS1Error(f"{_shown(rest)} does not start with a GS1 application identifier")


def _check_digit(name: str, number: str) -> None:
    expected = gs1_standard_check_digit(number[:-1])
    if int(number[-1]) != expected:
        raise GS1Error(f"The {name}'s check digit is wrong: {number} should end in {expected}")


def _check_date(code: str, name: str, value: str) -> None:
    digits = value[:6]
    if len(digits) < 6 or not digits.isdigit():
        return  # the length and digit checks name this better
    yy, mm, dd = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    if not 1 <= mm <= 12:
        raise GS1Error(f"The {name} {digits} is not a real date")
    last_day = calendar.monthrange(_full_year(yy), mm)[1]
    if dd > last_day or (dd == 0 and code not in _DAY_00_ALLOWED):
        raise GS1Error(f"The {name} {digits} is not a real date")


def _full_year(yy: int) -> int:
    """GS1's century rule (General Specifications §7.12), as biip applies it: from 49 years
    back to 50 ahead of this year."""
    this_year = date.today().year
    year = this_year - this_year % 100 + yy
    if year - this_year >= 51:
        return year - 100
    if year - this_year <= -50:
        return year + 100
    return year


def _format_kinds(ai: GS1ApplicationIdentifier) -> set[str]:
    """The kinds of characters the AI's data takes: N digits, X CSET 82, Y CSET 39, Z CSET 64."""
    return set(re.findall(r"[NXYZ]", ai.format.split("+", 1)[-1]))


def _max_length(ai: GS1ApplicationIdentifier) -> int | None:
    """The longest the AI's data can be, from its format such as `N2+X..20`; None when the
    format is one this reading does not know (its pattern still decides)."""
    total = 0
    for part in ai.format.split("+")[1:]:
        token = part.strip("[]")
        if fixed := _FORMAT_FIXED.fullmatch(token):
            total += int(fixed.group(2))
        elif up_to := _FORMAT_UP_TO.fullmatch(token):
            total += int(up_to.group(2))
        elif token == "-":
            total += 1
        else:
            return None
    return total


def _form(ai: GS1ApplicationIdentifier) -> str:
    longest = _max_length(ai)
    if _format_kinds(ai) == {"N"} and longest is not None:
        if ai.separator_required:
            return f"(up to {longest} digits)"
        return f"({longest} digits)"
    return f"({ai.format.split('+', 1)[-1]})"


def _capital(name: str) -> str:
    return name[:1].upper() + name[1:]


def _shown(value: str) -> str:
    """A value in a message: digits as they are, anything else quoted, control characters
    spelled out so the message stays one line."""
    if value.isascii() and value.isdigit():
        return value
    return f"'{shown(value)}'"


def _character(c: str) -> str:
    if c == " ":
        return "space"
    if c.isprintable():
        return f"'{c}'"
    return f"U+{ord(c):04X}"
