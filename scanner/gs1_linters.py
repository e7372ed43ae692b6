"""GS1's content rules for one component of an AI's data, by the names GS1's Barcode Syntax
Dictionary gives them (`N14,csum,keyoff1`): check digits and check character pairs, company
prefixes, dates and times, coordinates, flags, counts and percent-encoding. The code-list
rules (countries, currencies, IBAN...) live in scanner/gs1_codes.py and join them here.

A linter takes the component's characters, already of the right length and character set,
and answers None when they are fine, else the reason, worded to follow the field's name and
value: "The (8001) winding direction 5 {should be 0 (face out), 1 (face in) or 9 (unknown)}".
"""

from __future__ import annotations

import calendar
import functools
import re
import string
from datetime import date

from scanner import gs1_codes
from scanner.gs1_codes import Linter

SHORTEST_COMPANY_PREFIX = 4
"""GS1 Company Prefixes have 4 digits or more (General Specifications, "GS1 Company Prefix")."""
# The check character pair of (8013) and (8014) (General Specifications, "Check character
# calculation (for alphanumeric keys)"): CSET 82 in this order gives each data character
# its value, and CSET 32 the two check characters theirs.
_CSET82_ORDER = (
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_CSET32_ORDER = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit that follows `digits`: weights 3 and 1 from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return -total % 10


def lint_csum(value: str) -> str | None:
    if not _digits(value) or len(value) < 2:
        return "should be digits ending in a check digit"
    expected = check_digit(value[:-1])
    if int(value[-1]) != expected:
        return f"has a wrong check digit: it should end in {expected}"
    return None


def check_pair(data: str) -> str:
    """The two check characters that follow `data` (CSET 82) in an (8013) GMN: each
    character's value weighted by the primes from 2 up, counted from the right, summed
    modulo 1021, and that 10-bit number split into two CSET 32 characters."""
    primes = _primes(len(data))
    total = sum(
        _CSET82_ORDER.index(c) * prime for c, prime in zip(reversed(data), primes, strict=True)
    )
    total %= 1021
    return _CSET32_ORDER[total >> 5] + _CSET32_ORDER[total & 31]


def lint_csumalpha(value: str) -> str | None:
    if len(value) < 2:
        return "is too short to end in its two check characters"
    data, pair = value[:-2], value[-2:]
    if any(c not in _CSET82_ORDER for c in data):
        return "has a character a GS1 label cannot carry"
    expected = check_pair(data)
    if pair != expected:
        return f"has check characters {pair}; they should be {expected}"
    return None


def lint_key(value: str) -> str | None:
    if not _digits(value[:SHORTEST_COMPANY_PREFIX]) or len(value) < SHORTEST_COMPANY_PREFIX:
        return (
            f"does not start with a GS1 Company Prefix ({SHORTEST_COMPANY_PREFIX} digits or more)"
        )
    return None


def lint_keyoff1(value: str) -> str | None:
    if lint_key(value[1:]) is not None:
        return (
            f"does not hold a GS1 Company Prefix ({SHORTEST_COMPANY_PREFIX} digits or more) "
            "after its first digit"
        )
    return None


def lint_yymmd0(value: str) -> str | None:
    return None if yymmdd_date(value, day_00=True) else "is not a real date"


def lint_yymmdd(value: str) -> str | None:
    return None if yymmdd_date(value, day_00=False) else "is not a real date"


def lint_yyyymmdd(value: str) -> str | None:
    real = len(value) == 8 and _digits(value)
    if real and _real_date(int(value[:4]), int(value[4:6]), int(value[6:]), day_00=False):
        return None
    return "is not a real date"


def lint_hh(value: str) -> str | None:
    return None if _in_range(value, 2, 0, 23) else "is not an hour (00 to 23)"


def lint_mi(value: str) -> str | None:
    return None if _in_range(value, 2, 0, 59) else "is not a minute (00 to 59)"


def lint_ss(value: str) -> str | None:
    return None if _in_range(value, 2, 0, 59) else "is not a second (00 to 59)"


def lint_hhmi(value: str) -> str | None:
    if len(value) == 4 and lint_hh(value[:2]) is None and lint_mi(value[2:]) is None:
        return None
    return "is not a time of day (0000 to 2359)"


def lint_pcenc(value: str) -> str | None:
    if _PERCENT.search(value):
        return "has a % that is not followed by two hexadecimal digits (percent-encoding)"
    return None


def lint_latitude(value: str) -> str | None:
    if _in_range(value, 10, 0, 1_800_000_000):
        return None
    return "is not a latitude: it should be 0000000000 (90° south) to 1800000000 (90° north)"


def lint_longitude(value: str) -> str | None:
    if _in_range(value, 10, 0, 3_600_000_000):
        return None
    return "is not a longitude: it should be 0000000000 (180° west) to 3600000000 (180° east)"


def lint_yesno(value: str) -> str | None:
    return None if value in ("0", "1") else "should be 0 (no) or 1 (yes)"


def lint_zero(value: str) -> str | None:
    return None if value == "0" else "should be 0"


def lint_nonzero(value: str) -> str | None:
    return "should not be zero" if _digits(value) and not value.strip("0") else None


def lint_nozeroprefix(value: str) -> str | None:
    return "should not start with 0" if value.startswith("0") else None


def lint_winding(value: str) -> str | None:
    return (
        None if value in ("0", "1", "9") else "should be 0 (face out), 1 (face in) or 9 (unknown)"
    )


def lint_pieceoftotal(value: str) -> str | None:
    half = len(value) // 2
    if not value or len(value) % 2 or not _digits(value):
        return "should be a piece number and a total of pieces, each of the same length"
    piece, total = int(value[:half]), int(value[half:])
    if piece == 0:
        return "has piece number 0: pieces count from 1"
    if total == 0:
        return "has a total of 0 pieces"
    if piece > total:
        return f"has piece {piece} of only {total}"
    return None


def lint_posinseqslash(value: str) -> str | None:
    position, slash, count = value.partition("/")
    if not (slash and _digits(position) and _digits(count)):
        return "should be a position and a count, such as 1/3"
    if position.startswith("0") or count.startswith("0"):
        return "has a position or count that is 0 or starts with 0"
    if int(position) > int(count):
        return f"has position {position} of only {count}"
    return None


def lint_hasnondigit(value: str) -> str | None:
    return "should have a character that is not a digit" if _digits(value) or not value else None


def lint_hyphen(value: str) -> str | None:
    return None if value and not value.strip("-") else "should be a hyphen (-)"


def yymmdd_date(value: str, *, day_00: bool) -> date | None:
    """The date a YYMMDD component stands for, or None when it is no real date. The century
    is GS1's (General Specifications §7.12): from 49 years back to 50 ahead of this year. Day
    00, where `day_00` allows it, is the month's last day."""
    if len(value) != 6 or not _digits(value):
        return None
    year, month, day = _full_year(int(value[:2])), int(value[2:4]), int(value[4:])
    if not _real_date(year, month, day, day_00=day_00):
        return None
    return date(year, month, day or calendar.monthrange(year, month)[1])


LINTERS: dict[str, Linter] = {
    "csum": lint_csum,
    "csumalpha": lint_csumalpha,
    "key": lint_key,
    "keyoff1": lint_keyoff1,
    "yymmd0": lint_yymmd0,
    "yymmdd": lint_yymmdd,
    "yyyymmdd": lint_yyyymmdd,
    "hh": lint_hh,
    "mi": lint_mi,
    "ss": lint_ss,
    "hhmi": lint_hhmi,
    "pcenc": lint_pcenc,
    "latitude": lint_latitude,
    "longitude": lint_longitude,
    "yesno": lint_yesno,
    "zero": lint_zero,
    "nonzero": lint_nonzero,
    "nozeroprefix": lint_nozeroprefix,
    "winding": lint_winding,
    "pieceoftotal": lint_pieceoftotal,
    "posinseqslash": lint_posinseqslash,
    "hasnondigit": lint_hasnondigit,
    "hyphen": lint_hyphen,
    **gs1_codes.CODE_LINTERS,
}
"""Every content rule by its name in GS1's Barcode Syntax Dictionary."""


def _real_date(year: int, month: int, day: int, *, day_00: bool) -> bool:
    if not 1 <= month <= 12:
        return False
    return (day_00 or day >= 1) and day <= calendar.monthrange(year, month)[1]


def _full_year(yy: int) -> int:
    this_year = date.today().year
    year = this_year - this_year % 100 + yy
    if year - this_year >= 51:
        return year - 100
    if year - this_year <= -50:
        return year + 100
    return year


def _in_range(value: str, length: int, lowest: int, highest: int) -> bool:
    return len(value) == length and _digits(value) and lowest <= int(value) <= highest


def _digits(value: str) -> bool:
    return bool(value) and all(c in string.digits for c in value)


@functools.cache
def _primes(count: int) -> list[int]:
    found: list[int] = []
    candidate = 2
    while len(found) < count:
        if all(candidate % p for p in found if p * p <= candidate):
            found.append(candidate)
        candidate += 1
    return found
