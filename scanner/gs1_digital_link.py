"""GS1 Digital Link URIs read as GS1's Digital Link URI Syntax standard reads them
(docs/architecture.md, "GS1 data").

    https://example.com/shop/01/09506000134352/10/LOT1/21/SN1?17=261231&utm_source=flyer
    scheme  host        stem key and its value qualifiers      data attributes

- The scheme is `http` or `https`, in small letters or in capitals (`HTTPS://`, which a
  QR code's alphanumeric mode packs smaller), as GS1's own Syntax Engine reads the standard;
  `Https://` is refused. The host is a name of letters, digits, `-` and `.`, an IPv4 address
  or a bracketed IPv6 address with no zone (a zone names a network card of one computer); a
  port is digits; there is no user name (`user@`).
- The path is any stem, then the primary key and its value, then the key's qualifiers in
  the order of one of its `dlpkey=` sequences. The key is found from the end: the last
  `/AI/value` pairs all name AIs and the first of them, going back, is a primary key; so a
  stem may hold something that looks like an AI.
- A GTIN in the path is written with its 14 digits: the standard's `gtin-value` is
  `14DIGIT`, a GTIN-8, -12 or -13 taking leading zeros; shorter forms are legacy the standard
  leaves to existing resolvers. A GTIN given in the query (as a data attribute of another
  key) with 8, 12 or 13 digits is padded to 14, as GS1's Syntax Engine reads it. Short
  names (`/gtin/`, `/lot/`) were removed from the standard after 1.2, and a compressed URI
  is not in it: both are refused.
- The query holds data attributes `AI=value` (the dictionary's `?` flag), each at most once
  and never one the path gives or one of the key's qualifiers that fits its path; any
  all-digit name must be such an AI. Other names (`linkType`, `utm_source`) belong to other
  applications and are ignored, as is the fragment. Pairs are separated by `&` or `;`, the
  grammar's `queryStringDelim`; `+` is a space, as in any form-encoded query.

Values are percent-decoded once, then checked like any label's field (`gs1.check_field`).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import string
from urllib.parse import unquote

from scanner import gs1_dictionary
from scanner.gs1 import Element, GS1Error, check_field, field_name
from scanner.gs1_dictionary import Entry
from scanner.plain_text import shown

_URI = re.compile(r"(?:https?|HTTPS?)://([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?", re.DOTALL)
_URI_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=%")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST_NAME = re.compile(r"[A-Za-z0-9.-]+")
_IP_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+")
_QUERY_DELIMITER = re.compile(r"[&;]")
# The short names GS1 Digital Link 1.0-1.2 allowed for AIs in the path (the 1.2 grammar).
_SHORT_NAMES = {
    "gtin": "01", "itip": "8006", "gmn": "8013", "cpid": "8010", "gln": "414",
    "party": "417", "gsrnp": "8017", "gsrn": "8018", "gcn": "255", "sscc": "00",
    "gdti": "253", "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004",
    "cpv": "22", "lot": "10", "ser": "21", "cpsn": "8011", "glnx": "254",
    "refno": "8020", "srin": "8019",
}  # fmt: skip


def read_digital_link(uri: str) -> list[Element]:
    """The element strings of a GS1 Digital Link URI: the key, its qualifiers in path order,
    then the query's data attributes in the order given. Raises GS1Error naming the rule a
    URI breaks."""
    _check_characters(uri)
    parts = _URI.fullmatch(uri)
    if parts is None:
        raise GS1Error(
            f"{_shown(uri)} is not a GS1 Digital Link: it should start http:// or https:// (or "
            "HTTP:// or HTTPS:// in capitals)"
        )
    authority, path, query = parts.groups()
    _check_authority(authority)
    key, path_elements = _read_path(path.split("/")[1:], uri)
    return path_elements + _read_query(query or "", key, path_elements)


def _check_characters(uri: str) -> None:
    bad = [c for c in dict.fromkeys(uri) if c not in _URI_CHARACTERS]
    if bad:
        names = ", ".join("space" if c == " " else _shown(c) for c in bad)
        raise GS1Error(
            f"The web address {_shown(uri)} has a character no web address carries: {names}"
        )
    if _LONE_PERCENT.search(uri):
        raise GS1Error(
            f"The web address {_shown(uri)} has a '%' that is not followed by two hex digits"
        )


def _check_authority(authority: str) -> None:
    """The host and port (RFC 3986 §3.2, as the standard's `hostname`: no user name)."""
    if "@" in authority:
        raise GS1Error(
            f"The web address names a user ({_shown(authority)}): a GS1 Digital Link has only "
            "a host"
        )
    if authority.startswith("["):
        literal, closed, port = authority[1:].partition("]")
        if not closed:
            raise GS1Error(f"The web address's host {_shown(authority)} has no closing ']'")
        _check_ip_literal(literal)
        if port and not port.startswith(":"):
            raise GS1Error(f"The web address's host {_shown(authority)} is not an IP address")
        port = port[1:]
    else:
        host, _, port = authority.partition(":")
        if not host:
            raise GS1Error("The web address has no host: it should start https://host/")
        if not _HOST_NAME.fullmatch(host):
            raise GS1Error(f"The web address's host {_shown(host)} is not a host name")
    if port and not port.isdigit():
        raise GS1Error(f"The web address's port {_shown(port)} is not a number")


def _check_ip_literal(literal: str) -> None:
    if "%" in literal:
        raise GS1Error(
            f"The web address's host [{literal}] has a zone (%25...), which names a network "
            "card of one computer: a GS1 Digital Link cannot use it"
        )
    if _IP_FUTURE.fullmatch(literal):
        return
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        raise GS1Error(f"The web address's host [{_shown(literal)}] is not an IP address") from None


def _read_path(segments: list[str], uri: str) -> tuple[Entry, list[Element]]:
    """The primary key's entry and the path's elements, key first."""
    start = _key_position(segments)
    if start is None:
        raise _no_key(segments, uri)
    pairs = list(zip(segments[start::2], segments[start + 1 :: 2], strict=True))
    key = gs1_dictionary.entries()[pairs[0][0]]
    _check_qualifiers(key, [code for code, _ in pairs[1:]])
    return key, [_element(code, value, in_query=False) for code, value in pairs]


def _key_position(segments: list[str]) -> int | None:
    """Where the primary key's AI is: walking back over `/AI/value` pairs from the end, the
    first AI that is a primary key; None when a segment that should be an AI is not one."""
    at = len(segments) - 2
    while at >= 0:
        found = _entry_or_none(segments[at])
        if found is None:
            return None
        if found.primary_key:
            return at
        at -= 2
    return None


def _no_key(segments: list[str], uri: str) -> GS1Error:
    """The clearest reason a path holds no primary key with its qualifiers."""
    if len(segments) > 1 and segments[-1] == "" and _key_position(segments[:-1]) is not None:
        return GS1Error("The web address ends in '/': nothing may follow its last GS1 value")
    for at in reversed(range(len(segments))):
        found = _entry_or_none(segments[at])
        if found is None or not found.primary_key:
            continue
        for code_at in range(at + 2, len(segments), 2):
            code = segments[code_at]
            if _entry_or_none(code) is None:
                what = _short_name(code) or "is not a GS1 application identifier"
                return GS1Error(
                    f"In the web address, {_shown(code) if code else 'an empty segment (//)'} "
                    f"after {_key_name(found.ai)} {what}"
                )
            if code_at + 1 == len(segments):
                return GS1Error(f"In the web address, {_named(code)} has no value")
        return GS1Error(f"In the web address, {_named(found.ai)} has no value")
    for segment in segments:
        short_name = _short_name(segment)
        if short_name:
            return GS1Error(f"In the web address, {_shown(segment)} {short_name}")
    return GS1Error(f"The web address {_shown(uri)} is not a GS1 Digital Link: no product in it")


def _short_name(segment: str) -> str | None:
    """What to say of a short name for an AI (`gtin`), or None if `segment` is not one."""
    code = _SHORT_NAMES.get(segment.lower())
    if code is None:
        return None
    return f"is a short name GS1 Digital Link no longer allows: it should be /{code}/"


def _check_qualifiers(key: Entry, codes: list[str]) -> None:
    """The key's qualifiers in the path: each one of the key's, once, and all from one of
    its `dlpkey=` sequences, in that sequence's order."""
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise GS1Error(f"The web address repeats ({code}) in its path")
        seen.add(code)
        if not any(code in sequence for sequence in key.qualifiers):
            attribute = gs1_dictionary.entries()[code].data_attribute
            hint = f": it belongs in the query (?{code}=...)" if attribute else ""
            raise GS1Error(
                f"In the web address, {_named(code)} cannot follow {_key_name(key.ai)}{hint}"
            )
    if _fits(codes, key):
        return
    for sequence in key.qualifiers:
        if seen <= set(sequence):
            for before, after in itertools.pairwise(codes):
                if sequence.index(before) > sequence.index(after):
                    raise GS1Error(
                        f"In the web address, {_named(after)} must come before {_named(before)}"
                    )
    first, second = next(
        (
            (a, b)
            for a in codes
            for b in codes
            if not any(a in sequence and b in sequence for sequence in key.qualifiers)
        ),
        (codes[0], codes[-1]),
    )
    raise GS1Error(
        f"In the web address, {_key_name(key.ai)} cannot have both {_named(first)} and "
        f"{_named(second)}: they are alternatives"
    )


def _fits(codes: list[str], key: Entry) -> bool:
    """Whether `codes` follow one of the key's qualifier sequences, in its order."""
    if not codes:
        return True
    for sequence in key.qualifiers:
        if all(code in sequence for code in codes):
            places = [sequence.index(code) for code in codes]
            if places == sorted(places):
                return True
    return False


def _read_query(query: str, key: Entry, path: list[Element]) -> list[Element]:
    qualifiers = [element.ai for element in path[1:]]
    elements: list[Element] = []
    for pair in _QUERY_DELIMITER.split(query):
        code, given, value = pair.partition("=")
        if not given or not (code.isascii() and code.isdigit()):
            continue  # another application's parameter (linkType, utm_source...)
        found = gs1_dictionary.entry(code)
        if found is None:
            raise GS1Error(
                f"In the web address's query, {code} is not a GS1 application identifier"
            )
        if any(element.ai == code for element in path):
            raise GS1Error(f"The web address gives ({code}) in both its path and its query")
        if any(element.ai == code for element in elements):
            raise GS1Error(f"The web address repeats ({code}) in its query")
        if any(_fits([*qualifiers[:at], code, *qualifiers[at:]], key) for at in range(len(path))):
            raise GS1Error(
                f"In the web address, {_named(code)} belongs in the path after "
                f"{_key_name(key.ai)}, not in the query"
            )
        if not found.data_attribute:
            raise GS1Error(
                f"In the web address, {_named(code)} cannot be in the query: GS1 does not allow "
                "it as a data attribute"
            )
        elements.append(_element(code, value.replace("+", " "), in_query=True))
    return elements


def _element(code: str, raw: str, *, in_query: bool) -> Element:
    if not raw:
        where = "query" if in_query else "path"
        raise GS1Error(f"The web address's {where} gives {_named(code)} no value")
    value = unquote(raw, errors="replace")
    if code == "01":
        if in_query and value.isascii() and value.isdigit() and len(value) in (8, 12, 13):
            value = value.zfill(14)
        _check_gtin_length(value)
    return check_field(code, value)


def _check_gtin_length(value: str) -> None:
    """A GTIN in a web address has 14 digits (the standard's `gtin-value = 14DIGIT`)."""
    if not (value.isascii() and value.isdigit()) or len(value) == 14:
        return  # check_field names anything else wrong with it
    if len(value) in (8, 12, 13):
        raise GS1Error(
            f"The web address's GTIN {value} has {len(value)} digits: a web address gives a "
            f"GTIN all 14, here {value.zfill(14)}"
        )
    raise GS1Error(
        f"The web address's GTIN {_shown(value)} is not a GTIN: a GTIN has 8, 12, 13 or 14 digits"
    )


def _entry_or_none(segment: str) -> Entry | None:
    """The AI a path segment names: digits as they stand, never percent-encoded."""
    if not (segment.isascii() and segment.isdigit()):
        return None
    return gs1_dictionary.entry(segment)


def _named(code: str) -> str:
    """A field in a message: `the lot (10)`, `(235) TPX`."""
    name = field_name(code)
    return name if name.startswith("(") else f"the {name} ({code})"


def _key_name(code: str) -> str:
    """A key in a message: `the GTIN`, `(414) LOC No.`."""
    name = field_name(code)
    return name if name.startswith("(") else f"the {name}"


def _shown(value: str) -> str:
    """A value in a message: digits as they are, anything else quoted on one line."""
    if value.isascii() and value.isdigit():
        return value
    return f"'{shown(value)}'"
