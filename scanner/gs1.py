"""GS1 data as labels carry it: element strings, the human-readable form, Digital Link URIs
(scanner/gs1_digital_link.py) and bare GTINs, each field read as GS1 reads it.

Each AI's data is checked component by component as GS1's Barcode Syntax Dictionary lays it
out (scanner/gs1_dictionary.py): each component's length, its character set and GS1's
content rules for it (scanner/gs1_linters.py). biip finds the fields of a Digital Link and
knows a few AIs the dictionary lacks; it is lenient where a scanning floor cannot be: it
reports a wrong check digit without failing, lets a fixed-length field that needs a
separator (422) run into the next one, and its HRI reader deletes spaces inside a value
(`(10)LOT 123` becomes lot `LOT123`). Here each of those is an error, with a message for the
person holding the scanner.

The dictionary is read at the first field checked, not when this module is imported.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date

from biip import ParseError
from biip.gs1_application_identifiers import (
    _GS1_APPLICATION_IDENTIFIERS as KNOWN_AIS,
)
from biip.gs1_application_identifiers import (
    GS1ApplicationIdentifier,
)

from scanner import gs1_dictionary
from scanner.errors import LotscanError
from scanner.gs1_dictionary import Component, Entry
from scanner.gs1_linters import LINTERS, check_digit, yymmdd_date
from scanner.gs1_names import field_name as field_name  # labels name fields through here
from scanner.gs1_names import part_name
from scanner.numbering import CSET82
from scanner.plain_text import clipped, shown

GS = "\x1d"
GTIN_LENGTHS = (8, 12, 13, 14)

_DIGITS = frozenset("0123456789")
CSET39 = frozenset("#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
CSET64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
"""GS1's character sets: Y is CSET 39; Z is CSET 64, base64url, with `=` padding at its end
(`_padding_fits`)."""
_CHARACTERS = {"N": _DIGITS, "X": CSET82, "Y": CSET39, "Z": CSET64}
_DATES = {"yymmd0": True, "yymmdd": False}
"""The linters of a YYMMDD date, and whether each lets the day be 00."""
_TIMES = frozenset({"hhmi", "hh", "mi", "ss"})
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

    A field that needs a separator (every field GS1's dictionary does not mark as of
    predefined length: lot, serial, count, even fixed-length (422)) runs to the next GS, so
    an over-long field or a missing separator after (422) is caught rather than silently
    split."""
    elements: list[Element] = []
    position = 0
    while position < len(data):
        if data[position] == GS:  # a leading, trailing or doubled separator means nothing
            position += 1
            continue
        code, predefined = _identifier(data[position:], after=elements)
        start = position + len(code)
        following = data.find(GS, start)
        end = len(data) if following < 0 else following
        if predefined is not None:
            end = min(end, start + predefined)
        value = data[start:end]
        elements.append(check_field(code, value, to_separator=predefined is None))
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
        and check_digit(digits[:-1]) == int(digits[-1])
    )


def check_field(code: str, value: str, *, to_separator: bool = False) -> Element:
    """The field `value` of AI `code`, refused unless GS1 allows it: read component by
    component as GS1's Barcode Syntax Dictionary lays the AI out, each of the right length
    and characters and passing its content rules (a real date, a correct check digit, a
    country code...). `to_separator`: the value ran up to a separator, so one that is too
    long may be a separator the scanner dropped. An AI GS1's dictionary lacks but biip
    knows (717, 8040-8043) is checked against biip's format only."""
    known = gs1_dictionary.entry(code)
    if known is None:
        return _check_by_format(code, value, to_separator)
    name = field_name(code)
    _check_length(code, name, value, known.longest, to_separator)
    parts = _split(known, name, value)
    for index, (component, part) in enumerate(zip(known.components, parts, strict=False)):
        _check_content(known, index, component, part, value)
    first = known.components[0].linters
    day_00 = next((_DATES[linter] for linter in first if linter in _DATES), None)
    when = None if day_00 is None else yymmdd_date(parts[0], day_00=day_00)
    return Element(code, value, when)


def _check_length(code: str, name: str, value: str, longest: int | None, hint: bool) -> None:
    if not value:
        shown = name if name.startswith("(") else f"{name} ({code})"
        raise GS1Error(f"The {shown} on the label is empty")
    if longest is not None and len(value) > longest:
        missing = " (or the separator after it is missing)" if hint else ""
        raise GS1Error(
            f"{_capital(name)} {_shown(value)} is too long: a GS1 label carries at most "
            f"{longest} characters there{missing}"
        )


def _split(known: Entry, name: str, value: str) -> list[str]:
    """The value's components, each taking its length from the front in order, with their
    characters checked; optional ones at the end may be absent."""
    parts: list[str] = []
    position = 0
    count = len(known.components)
    for index, component in enumerate(known.components):
        part = value[position : position + component.longest]
        if not part and component.optional:
            break
        if not _in_character_set(component.kind, part):
            _check_characters(part_name(known.ai, index, count), component.kind, part)
        if len(part) < component.shortest:
            raise GS1Error(f"{_capital(name)} {_shown(value)} is not in GS1's form {_form(known)}")
        parts.append(part)
        position += len(part)
    return parts


def _in_character_set(kind: str, part: str) -> bool:
    if kind == "Z":
        return CSET64.issuperset(part.rstrip("=")) and _padding_fits(part)
    return _CHARACTERS[kind].issuperset(part)


def _padding_fits(part: str) -> bool:
    """CSET 64 as GS1's Syntax Engine reads it: padding is optional, at most two `=` at the
    end, and present only where it brings the length to a multiple of three."""
    padding = len(part) - len(part.rstrip("="))
    return padding == 0 or (padding <= 2 and len(part) % 3 == 0)


def _check_characters(name: str, kind: str, part: str) -> None:
    if kind == "N":
        if not all(c in _DIGITS for c in part):
            raise GS1Error(f"{_capital(name)} {_shown(part)} should be digits only")
        return
    allowed = _CHARACTERS[kind]
    body = part.rstrip("=") if kind == "Z" and len(part) - len(part.rstrip("=")) <= 2 else part
    bad = [c for c in dict.fromkeys(body) if c not in allowed]
    if bad:
        where = "a GS1 label cannot carry" if kind == "X" else "GS1 does not allow there"
        raise GS1Error(
            f"{_capital(name)} {_shown(part)} has a character {where}: "
            + ", ".join(_character(c) for c in bad)
        )
    if kind == "Z" and not _padding_fits(part):
        raise GS1Error(
            f"{_capital(name)} {_shown(part)} ends in padding ('=') that does not fit it: GS1 "
            "pads it to a multiple of 3 characters with at most two '='"
        )


def _check_content(known: Entry, index: int, component: Component, part: str, value: str) -> None:
    """The component's content rules (GS1's linters), each with words for the floor."""
    for linter in component.linters:
        if linter == "csum":  # lotscan's long-standing words for a check digit
            if not has_valid_check_digit(part):
                _check_digit(part_name(known.ai, index, len(known.components)), part)
            continue
        reason = LINTERS[linter](part)  # every name the dictionary uses (a test holds this)
        if reason is None:
            continue
        if linter in _TIMES and _DATES.keys() & set(known.components[0].linters):
            raise GS1Error(
                f"The {field_name(known.ai)} {_shown(value)} is not a real date and time: "
                f"{_shown(part)} {reason}"
            )
        name = part_name(known.ai, index, len(known.components))
        raise GS1Error(f"The {name} {_shown(part)} {reason}")


def _check_by_format(code: str, value: str, to_separator: bool) -> Element:
    """A field of an AI that only biip knows, checked against biip's format and pattern."""
    if code not in KNOWN_AIS:
        raise GS1Error(f"({code}) is not a GS1 application identifier")
    ai = KNOWN_AIS[code]
    name = field_name(code)
    _check_length(code, name, value, _max_length(ai), to_separator)
    _check_characters(name, "N" if _format_kinds(ai) == {"N"} else "X", value)
    if not re.fullmatch(ai.pattern, code + value):
        raise GS1Error(f"{_capital(name)} {_shown(value)} is not in GS1's form {_format_of(ai)}")
    return Element(code, value)


def _identifier(rest: str, after: list[Element]) -> tuple[str, int | None]:
    """The AI that `rest` starts with, and its length when it takes no separator."""
    known = gs1_dictionary.identifier_at(rest)
    if known is not None:
        return known.ai, known.longest if known.predefined_length else None
    try:
        ai = GS1ApplicationIdentifier.extract(rest)
        return ai.ai, None if ai.separator_required else _max_length(ai)
    except ParseError:
        pass
    if after:
        last = after[-1]
        raise GS1Error(
            f"After ({last.ai}){last.value} the label data {_shown(rest)} is not a GS1 field"
        )
    raise GS1Error(f"{_shown(rest)} does not start with a GS1 application identifier")


def _check_digit(name: str, number: str) -> None:
    expected = check_digit(number[:-1])
    if int(number[-1]) != expected:
        raise GS1Error(f"The {name}'s check digit is wrong: {number} should end in {expected}")


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


def _format_of(ai: GS1ApplicationIdentifier) -> str:
    return f"({ai.format.split('+', 1)[-1]})"


@functools.cache
def _form(known: Entry) -> str:
    """The AI's layout in a message: `(14 digits)`, `(up to 8 digits)`, `(N3+X..9)`."""
    if len(known.components) == 1 and known.components[0].kind == "N":
        only = known.components[0]
        if only.shortest == only.longest:
            return f"({only.longest} digits)"
        return f"(up to {only.longest} digits)"
    shapes = []
    for c in known.components:
        shape = f"{c.kind}{'..' if c.shortest != c.longest else ''}{c.longest}"
        shapes.append(f"[{shape}]" if c.optional else shape)
    return f"({'+'.join(shapes)})"


def _capital(name: str) -> str:
    return name[:1].upper() + name[1:]


def _shown(value: str) -> str:
    """A value in a message: digits as they are, anything else quoted, control characters
    spelled out so the message stays one line, a long one cut (`clipped`)."""
    value = clipped(value)
    if value.isascii() and value.isdigit():
        return value
    return f"'{shown(value)}'"


def _character(c: str) -> str:
    if c == " ":
        return "space"
    if c.isprintable():
        return f"'{c}'"
    return f"U+{ord(c):04X}"
