"""GS1's content rules that check a value against a code list or an inner structure: ISO
country and currency codes, IBAN, package and media types, importer index, biological sex,
and the coupon AIs. Each is a linter (scanner/gs1_linters.py): None when the value is fine,
else the reason, worded to follow the field's name and value.

The code lists are typed from the standards and dated below; a new edition is a list to
update here. They are frozensets built once at import: a linter is a lookup, no I/O."""

from __future__ import annotations

from collections.abc import Callable

Linter = Callable[[str], str | None]


def _codes(typed: str) -> frozenset[str]:
    """A code list typed as the standard prints it, codes separated by spaces."""
    return frozenset(typed.split())


_DIGITS = frozenset("0123456789")
_CAPITALS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# ISO 3166-1 numeric (num-3) codes of the 249 assigned country names, as of the ISO 3166
# Maintenance Agency's list of 2024 (South Sudan 728, Sudan 729, Curaçao 531, Sint Maarten
# 534, Bonaire 535; the withdrawn 530 Netherlands Antilles and 736 Sudan are not in it).
_ISO3166_NUMERIC = _codes(
    """
    004 008 010 012 016 020 024 028 031 032 036 040 044 048 050 051 052 056 060 064 068 070
    072 074 076 084 086 090 092 096 100 104 108 112 116 120 124 132 136 140 144 148 152 156
    158 162 166 170 174 175 178 180 184 188 191 192 196 203 204 208 212 214 218 222 226 231
    232 233 234 238 239 242 246 248 250 254 258 260 262 266 268 270 275 276 288 292 296 300
    304 308 312 316 320 324 328 332 334 336 340 344 348 352 356 360 364 368 372 376 380 384
    388 392 398 400 404 408 410 414 417 418 422 426 428 430 434 438 440 442 446 450 454 458
    462 466 470 474 478 480 484 492 496 498 499 500 504 508 512 516 520 524 528 531 533 534
    535 540 548 554 558 562 566 570 574 578 580 581 583 584 585 586 591 598 600 604 608 612
    616 620 624 626 630 634 638 642 643 646 652 654 659 660 662 663 666 670 674 678 682 686
    688 690 694 702 703 704 705 706 710 716 724 728 729 732 740 744 748 752 756 760 762 764
    768 772 776 780 784 788 792 795 796 798 800 804 807 818 826 831 832 833 834 840 850 854
    858 860 862 876 882 887 894
    """
)

# ISO 3166-1 alpha-2 codes of the same 249 country names (same list, same date).
_ISO3166_ALPHA2 = _codes(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """
)

# ISO 4217 numeric codes of List One (current currencies and funds), as maintained by SIX
# for ISO up to amendment 177 (2024: 924 Zimbabwe Gold). 191 (kuna) left it in 2023;
# codes whose withdrawal was still pending in 2024 (694, 931, 932) are kept, since a
# label printed before the change still carries them.
_ISO4217_NUMERIC = _codes(
    """
    008 012 032 036 044 048 050 051 052 060 064 068 072 084 090 096 104 108 116 124 132 136
    144 152 156 170 174 188 192 203 208 214 222 230 232 238 242 262 270 292 320 324 328 332
    340 344 348 352 356 360 364 368 376 388 392 398 400 404 408 410 414 417 418 422 426 430
    434 446 454 458 462 480 484 496 498 504 512 516 524 532 533 548 554 558 566 578 586 590
    598 600 604 608 634 643 646 654 682 690 694 702 704 706 710 728 748 752 756 760 764 776
    780 784 788 800 807 818 826 834 840 858 860 882 886 901 924 925 926 927 928 929 930 931
    932 933 934 936 938 940 941 943 944 946 947 948 949 950 951 952 953 955 956 957 958 959
    960 961 962 963 964 965 967 968 969 970 971 972 973 975 976 977 978 979 980 981 984 985
    986 990 994 997 999
    """
)

# GS1's PackageTypeCode code list: UN/ECE Recommendation 21 codes with GS1's additions, as
# the GS1 Barcode Syntax Dictionary of 2024 lints them for AI (7041).
_PACKAGE_TYPES = _codes(
    """
    1A 1B 1D 1F 1G 1W 200 201 202 203 204 205 206 210 211 212 2C 3A 3H 43 44 4A 4B 4C 4D 4F
    4G 4H 5H 5L 5M 6H 6P 7A 7B 8 8A 8B 8C 9
    AA AB AC AD AF AG AH AI AJ AL AM AP APE AT AV
    B4 BB BC BD BE BF BG BGE BH BI BJ BK BL BM BME BN BO BP BQ BR BRI BS BT BU BV BW BX BY BZ
    CA CB CBL CC CCE CD CE CF CG CH CI CJ CK CL CM CN CO CP CQ CR CS CT CU CV CW CX CY CZ
    DA DB DC DG DH DI DJ DK DL DM DN DP DPE DR DS DT DU DV DW DX DY
    E1 E2 E3 EC ED EE EF EG EH EI EN
    FB FC FD FE FI FL FO FOB FP FPE FR FT FW FX
    GB GI GL GR GU GY GZ HA HB HC HG HN HR
    IA IB IC ID IE IF IG IH IK IL IN IZ JB JC JG JR JT JY KG KI
    LAB LE LG LT LU LV LZ MA MB MC ME MPE MR MS MT MW MX
    NA NE NF NG NS NT NU NV OA OB OC OD OE OF OK OPE OT OU
    P2 PA PAE PB PC PD PE PF PG PH PI PJ PK PL PLP PN PO POP PP PPE PR PT PU PUE PV PX PY PZ
    QA QB QC QD QF QG QH QJ QK QL QM QN QP QQ QR QS
    RB1 RB2 RB3 RCB RD RG RJ RK RL RO RT RZ
    S1 SA SB SC SD SE SEC SH SI SK SL SM SO SP SS ST STL SU SV SW SX SY SZ
    T1 TB TC TD TE TEV TG THE TI TK TL TN TO TR TRE TS TT TTE TU TV TW TWE TY TZ
    UC UN UUE VA VG VI VK VL VN VO VP VQ VR VS VY
    WA WB WC WD WF WG WH WJ WK WL WM WN WP WQ WR WRP WS WT WU WV WW WX WY WZ
    X11 X12 X15 X16 X17 X18 X19 X20 X3 XA XB XC XD XF XG XH XJ XK
    YA YB YC YD YF YG YH YJ YK YL YM YN YP YQ YR YS YT YV YW YX YY YZ
    ZA ZB ZC ZD ZF ZG ZH ZJ ZK ZL ZM ZN ZP ZQ ZR ZS ZT ZU ZV ZW ZX ZY ZZ
    """
)

# AIDC media types of the GS1 General Specifications (AI 7241): 01-10 assigned by ICCBBA,
# 80-99 for local or national use; 00 and 11-79 are unused or reserved.
_MEDIA_TYPES = frozenset(f"{n:02d}" for n in [*range(1, 11), *range(80, 100)])

# The importer index of AI (7040) is one character of this set (GS1 General Specifications).
_IMPORTER_INDEXES = frozenset("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")

# ISO/IEC 5218: 0 not known, 1 male, 2 female, 9 not applicable.
_ISO5218 = frozenset("0129")


def lint_iso3166(value: str) -> str | None:
    """An ISO 3166-1 numeric country code that is assigned."""
    return _country_number(value, also="")


def lint_iso3166999(value: str) -> str | None:
    """An ISO 3166-1 numeric country code, or 999 where the country is not given (AI 703s)."""
    return None if value == "999" else _country_number(value, also=" or 999")


def _country_number(value: str, also: str) -> str | None:
    name = f"is not a country code (ISO 3166){also}"
    if len(value) != 3 or not _DIGITS.issuperset(value):
        return f"{name}: it needs 3 digits"
    if value not in _ISO3166_NUMERIC:
        return f"{name}: {value} is not assigned"
    return None


def lint_iso3166alpha2(value: str) -> str | None:
    """An ISO 3166-1 alpha-2 country code that is assigned."""
    name = "is not a country code (ISO 3166 alpha-2)"
    if len(value) != 2 or not _CAPITALS.issuperset(value):
        return f"{name}: it needs 2 capital letters"
    if value not in _ISO3166_ALPHA2:
        return f"{name}: {value} is not assigned"
    return None


def lint_iso4217(value: str) -> str | None:
    """An ISO 4217 numeric currency code that is assigned."""
    name = "is not a currency code (ISO 4217)"
    if len(value) != 3 or not _DIGITS.issuperset(value):
        return f"{name}: it needs 3 digits"
    if value not in _ISO4217_NUMERIC:
        return f"{name}: {value} is not assigned"
    return None


def lint_iban(value: str) -> str | None:
    """An IBAN as ISO 13616 writes it electronically: country, check digits, BBAN, no spaces,
    with GS1's bounds on its length.
    The check digits make the whole, read with its first four characters last and letters as
    10-35, leave 1 when divided by 97."""
    name = "is not an IBAN"
    country, check, bban = value[:2], value[2:4], value[4:]
    if len(country) < 2 or not _CAPITALS.issuperset(country):
        return f"{name}: it starts with 2 capital letters, the country"
    if country not in _ISO3166_ALPHA2:
        return f"{name}: {country} is not a country code (ISO 3166)"
    if len(check) < 2 or not _DIGITS.issuperset(check):
        return f"{name}: the 2 check digits follow the country"
    bad = next((c for c in bban if c not in _DIGITS and c not in _CAPITALS), None)
    if bad is not None:
        return f"{name}: {bad!r} is not a digit or a capital letter"
    # GS1's rule (its Barcode Syntax Tests): 11 to 34 characters in all, whatever the country.
    # The SWIFT registry's length for each country is not checked, as GS1 does not.
    if not 11 <= len(value) <= 34:
        return f"{name}: an IBAN has 11 to 34 characters, this one {len(value)}"
    should = _iban_check_digits(country, bban)
    if check != should:
        return f"has IBAN check digits {check}; they should be {should}"
    return None


def _iban_check_digits(country: str, bban: str) -> str:
    as_number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{98 - as_number % 97:02d}"


def lint_packagetype(value: str) -> str | None:
    """A package type code of GS1's PackageTypeCode list (UN/ECE Recommendation 21)."""
    if value not in _PACKAGE_TYPES:
        return "is not a package type code (UN/ECE Recommendation 21)"
    return None


def lint_mediatype(value: str) -> str | None:
    """An AIDC media type code: two digits, 01-10 or 80-99."""
    if value not in _MEDIA_TYPES:
        return "is not an AIDC media type: the codes are 01 to 10 and 80 to 99"
    return None


def lint_importeridx(value: str) -> str | None:
    """The importer index, last character of AI (7040)."""
    if len(value) != 1 or value not in _IMPORTER_INDEXES:
        return "is not an importer index: one letter, digit, - or _"
    return None


def lint_iso5218(value: str) -> str | None:
    """A biological sex code of ISO/IEC 5218."""
    if len(value) != 1 or value not in _ISO5218:
        return "is not a sex code (ISO 5218): 0 not known, 1 male, 2 female, 9 not applicable"
    return None


class _CouponFault(Exception):
    """What in a coupon code's inner structure is wrong; the linter returns it as the reason."""


class _CouponFields:
    """A cursor over a coupon code's digits that takes its fields in order, failing with the
    name of the field that is missing, cut short or out of range."""

    def __init__(self, digits: str) -> None:
        self.digits = digits
        self.at = 0

    def next_is(self, indicator: str) -> bool:
        """Whether an optional field with this indicator comes next; takes the indicator."""
        if self.digits[self.at : self.at + 1] == indicator:
            self.at += 1
            return True
        return False

    def take(self, count: int, field: str) -> str:
        part = self.digits[self.at : self.at + count]
        if not part and count:
            raise _CouponFault(f"the {field} is missing")
        if len(part) < count:
            raise _CouponFault(f"the {field} is cut short: {len(part)} of {count} digits")
        self.at += count
        return part

    def code(self, field: str, allowed: str) -> str:
        digit = self.take(1, field)
        if digit not in allowed:
            raise _CouponFault(f"the {field} is {digit}; it should be one of {', '.join(allowed)}")
        return digit

    def sized(self, field: str, lengths: dict[str, int]) -> str:
        """A field led by its length indicator (VLI), one digit mapped to the field's length."""
        indicator = self.take(1, f"{field} length digit")
        if indicator not in lengths:
            allowed = ", ".join(lengths)
            raise _CouponFault(
                f"the {field} length digit is {indicator}; it should be one of {allowed}"
            )
        return self.take(lengths[indicator], field)

    def done(self, hint: str = "") -> None:
        if self.at < len(self.digits):
            raise _CouponFault(f"{self.digits[self.at :]} is left over after the last field{hint}")


# Length indicators (VLI) of the coupon fields and the lengths they stand for.
_COMPANY_PREFIX = {str(n): n + 6 for n in range(7)}
_OTHER_COMPANY_PREFIX = {**_COMPANY_PREFIX, "9": 0}  # 9: the primary company prefix applies
_VALUE = {str(n): n for n in range(1, 6)}
_SERIAL = {str(n): n + 6 for n in range(10)}
_RETAILER = {str(n): n + 6 for n in range(1, 8)}
_REQUIREMENT_CODES = "012349"


def lint_couponcode(value: str) -> str | None:
    """The North American coupon code of AI (8110), as the North American Coupon Application
    Guideline Using GS1 DataBar lays it out: company prefix, offer code, save value, primary
    purchase requirement, then optional fields 1 to 6 and 9, each at most once, in order."""
    try:
        _read_coupon(_coupon_digits(value))
    except _CouponFault as fault:
        return f"is not a coupon code: {fault}"
    return None


def _coupon_digits(value: str) -> _CouponFields:
    bad = next((c for c in value if c not in _DIGITS), None)
    if bad is not None:
        raise _CouponFault(f"{bad!r} is not a digit")
    return _CouponFields(value)


def _read_coupon(fields: _CouponFields) -> None:
    fields.sized("company prefix", _COMPANY_PREFIX)
    fields.take(6, "offer code")
    fields.sized("save value", _VALUE)
    _purchase(fields, "primary purchase")
    if fields.next_is("1"):
        fields.code("additional purchase rules code", "0123")
        _purchase(fields, "second purchase")
        fields.sized("second purchase company prefix", _OTHER_COMPANY_PREFIX)
    if fields.next_is("2"):
        _purchase(fields, "third purchase")
        fields.sized("third purchase company prefix", _OTHER_COMPANY_PREFIX)
    expires = _coupon_date(fields, "expiration date") if fields.next_is("3") else None
    starts = _coupon_date(fields, "start date") if fields.next_is("4") else None
    if expires is not None and starts is not None and expires < starts:
        raise _CouponFault(f"it expires ({expires}) before it starts ({starts})")
    if fields.next_is("5"):
        fields.sized("serial number", _SERIAL)
    if fields.next_is("6"):
        fields.sized("retailer company prefix or GLN", _RETAILER)
    if fields.next_is("9"):
        fields.code("save value code", "01256")
        fields.code("save value applies to item", "012")
        fields.take(1, "store coupon flag")
        fields.code("don't multiply flag", "01")
    fields.done("; optional fields come in the order 1, 2, 3, 4, 5, 6, 9")


def _purchase(fields: _CouponFields, which: str) -> None:
    fields.sized(f"{which} requirement", _VALUE)
    fields.code(f"{which} requirement code", _REQUIREMENT_CODES)
    fields.take(3, f"{which} family code")


def _coupon_date(fields: _CouponFields, field: str) -> str:
    """A YYMMDD date. Read as 20YY, every year divisible by 4 has a 29 February."""
    date = fields.take(6, field)
    year, month, day = int(date[:2]), int(date[2:4]), int(date[4:])
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        raise _CouponFault(f"the {field} {date} is not a date (YYMMDD)")
    return date


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


def lint_couponposoffer(value: str) -> str | None:
    """The paperless coupon of AI (8112), as the GS1 AI (8112) Coupon Data Specifications lay
    it out: format code, funder company prefix, offer code, serial number."""
    try:
        fields = _coupon_digits(value)
        fields.code("format code", "01")
        fields.sized("funder company prefix", _COMPANY_PREFIX)
        fields.take(6, "offer code")
        fields.sized("serial number", _SERIAL)
        fields.done()
    except _CouponFault as fault:
        return f"is not a paperless coupon code: {fault}"
    return None


CODE_LINTERS: dict[str, Linter] = {
    "iso3166": lint_iso3166,
    "iso3166999": lint_iso3166999,
    "iso3166alpha2": lint_iso3166alpha2,
    "iso4217": lint_iso4217,
    "iban": lint_iban,
    "packagetype": lint_packagetype,
    "mediatype": lint_mediatype,
    "importeridx": lint_importeridx,
    "iso5218": lint_iso5218,
    "couponcode": lint_couponcode,
    "couponposoffer": lint_couponposoffer,
}
"""The linters of this module by the name GS1's Barcode Syntax Dictionary gives them."""
