"""GS1's content rules, as the floor meets them through `read_scan`: each AI's data read
component by component as GS1's Barcode Syntax Dictionary lays it out, each component of
the right length and characters and passing GS1's rules for it (check digits and check
character pairs, company prefixes, dates and times, coordinates, flags, pieces of a total,
percent-encoding).

The check character pairs, coordinate ranges, positions and pieces of a total below are the
cases GS1's Barcode Syntax Engine tests its own linters with.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner import gs1_dictionary
from scanner.gs1_linters import LINTERS, check_pair
from scanner.scan import Scan, ScanError, read_scan

GS = "\x1d"
GTIN = "09506000134352"
OURS = {
    *("csum", "csumalpha", "key", "keyoff1", "pcenc", "latitude", "longitude", "hyphen"),
    *("yymmd0", "yymmdd", "yyyymmdd", "hhmi", "hh", "mi", "ss", "yesno", "zero", "nonzero"),
    *("nozeroprefix", "winding", "pieceoftotal", "posinseqslash", "hasnondigit"),
}


@pytest.mark.parametrize(
    "scan",
    [
        # (8013) GMN and (8014) MUDI: a check character pair over CSET 82.
        "(8013)1987654Ad4X4bL5ttr2310c2K",
        "(8013)12345678901234567890123NT",
        "(8013)7907665Bm8v2AB",
        f"(01){GTIN}(8014)12345678901234567890123NT",
        # A GS1 Company Prefix: 4 digits or more at the start, after the indicator for (01).
        "(401)95060001ABC",
        "(7023)9506-ASSEMBLY-7",
        "(8004)9506ASSET42",
        "(8010)95060001-A/B#1(8011)123",
        # (8001) roll dimensions: width, length, core, winding 0, 1 or 9, splices.
        f"(01){GTIN}(8001)05000030005011",
        f"(01){GTIN}(8001)05000030005090",
        # (4309) latitude and longitude, at their ends too.
        "(00)106141411234567897(4309)02790858483015297971",
        "(00)106141411234567897(4309)18000000003600000000",
        # Percent-encoded names and addresses.
        "(00)106141411234567897(4300)ACME%20Corp(4302)1%2F3%20High%20St",
        # (7258) position in a sequence, (8026) and (8006) piece of a total.
        "(8018)095060001343520000(7258)1/3",
        "(8018)095060001343520000(7258)3/3",
        f"(02){GTIN}(37)2(8026){GTIN}0202",
        f"(8006){GTIN}0103",
        # Dates and times; the delivery dates let the day be 00 (the month's last).
        "(00)106141411234567897(4324)2612310930",
        "(00)106141411234567897(4325)2612002359",
        f"(01){GTIN}(7003)2612310000",
        f"(01){GTIN}(8008)26123112",
        f"(01){GTIN}(8008)261231123059",
        f"(01){GTIN}(7011)261231",
        "(8018)095060001343520000(7250)20240229",
        # (4330) a temperature with its optional minus sign.
        "(00)106141411234567897(4330)001234",
        "(00)106141411234567897(4330)001234-",
        # (8003) GRAI: a leading zero, the asset type with its check digit, a serial.
        "(8003)09506000134352SER1",
        # (8030) a digital signature in base64url (CSET 64), padded as GS1 reads it or not.
        f"(01){GTIN}(21)SER1(8030)U2lnbmVkLTA3",
        f"(01){GTIN}(21)SER1(8030)U2lnb=",
        f"(01){GTIN}(21)SER1(8030)U2ln==",
        # Fields with no content rule beyond their length and characters.
        f"(01){GTIN}(7240)PROTOCOL-1",
        "(00)106141411234567897(4321)1",
        # AIs GS1's dictionary lacks and biip knows keep biip's format.
        f"(01){GTIN}(8040)123456789012345",
        f"]C101{GTIN}717AB-12",
    ],
)
def test_gs1_data_that_keeps_every_content_rule_is_read(scan: str) -> None:
    assert read_scan(scan).item is not None


@pytest.mark.parametrize(
    ("scan", "message"),
    [
        # Check character pairs.
        (
            "(8013)1987654Ad4X4bL5ttr2310cXK",
            "The (8013) GMN '1987654Ad4X4bL5ttr2310cXK' has check characters XK; they should be 2K",
        ),
        ("(8013)1987654Ad4X4bL5ttr2310c2X", "has check characters 2X; they should be 2K"),
        (
            f"(01){GTIN}(8014)950600012364",
            "The (8014) MUDI 950600012364 should have a character that is not a digit",
        ),
        # Company prefixes.
        (
            "(401)123ABC",
            "The (401) GINC '123ABC' does not start with a GS1 Company Prefix (4 digits or more)",
        ),
        ("(7023)ASSEMBLY-7", "The (7023) GIAI - ASSEMBLY 'ASSEMBLY-7' does not start with"),
        ("(8004)95X", "The (8004) GIAI '95X' does not start with a GS1 Company Prefix"),
        ("(8010)AB12", "The (8010) CPID 'AB12' does not start with a GS1 Company Prefix"),
        ("(8010)95060001abc", "(8010) CPID '95060001abc' has a character GS1 does not allow"),
        # (8001) dimensions.
        (
            f"(01){GTIN}(8001)05000030005051",
            "The (8001) winding direction 5 should be 0 (face out), 1 (face in) or 9 (unknown)",
        ),
        (f"(01){GTIN}(8001)00000030005011", "The (8001) width 0000 should not be zero"),
        (f"(01){GTIN}(8001)05000000005011", "The (8001) length 00000 should not be zero"),
        (f"(01){GTIN}(8001)0500003000011", "is not in GS1's form (N4+N5+N3+N1+N1)"),
        # (8011) no leading zero.
        ("(8010)95060001(8011)0123", "The (8011) CPID serial 0123 should not start with 0"),
        ("(8010)95060001(8011)0", "The (8011) CPID serial 0 should not start with 0"),
        # (4309) coordinates.
        (
            "(00)106141411234567897(4309)18000000013015297971",
            "The (4309) latitude 1800000001 is not a latitude: it should be 0000000000 "
            "(90° south) to 1800000000 (90° north)",
        ),
        (
            "(00)106141411234567897(4309)02790858483600000001",
            "The (4309) longitude 3600000001 is not a longitude",
        ),
        ("(00)106141411234567897(4309)027908584830152979", "is not in GS1's form (N10+N10)"),
        # Percent-encoding.
        (
            "(00)106141411234567897(4300)ACME%2GCorp",
            "The (4300) SHIP TO COMP 'ACME%2GCorp' has a % that is not followed by two "
            "hexadecimal digits (percent-encoding)",
        ),
        ("(00)106141411234567897(4301)Jo%", "The (4301) SHIP TO NAME 'Jo%' has a % that is"),
        # Position in a sequence, piece of a total.
        (
            "(8018)095060001343520000(7258)4/3",
            "The (7258) birth sequence '4/3' has position 4 of only 3",
        ),
        ("(8018)095060001343520000(7258)0/3", "'0/3' has a position or count that is 0"),
        ("(8018)095060001343520000(7258)1-3", "should be a position and a count, such as 1/3"),
        (
            f"(02){GTIN}(37)2(8026){GTIN}0302",
            "The (8026) piece of total 0302 has piece 3 of only 2",
        ),
        (f"(8006){GTIN}0003", "The (8006) piece of total 0003 has piece number 0"),
        (f"(8006){GTIN}0100", "The (8006) piece of total 0100 has a total of 0 pieces"),
        (
            f"(8006){GTIN[:-1]}30103",
            "The (8006) GTIN's check digit is wrong: 09506000134353 should end in 2",
        ),
        # Dates and times.
        (
            "(00)106141411234567897(4324)2612312460",
            "The (4324) NOT BEF DEL DT 2612312460 is not a real date and time: 2460 is not "
            "a time of day (0000 to 2359)",
        ),
        (
            "(00)106141411234567897(4324)2613310930",
            "The (4324) earliest delivery date 261331 is not a real date",
        ),
        (f"(01){GTIN}(7003)2612000930", "The (7003) expiry date 261200 is not a real date"),
        (
            f"(01){GTIN}(8008)2612311260",
            "The (8008) PROD TIME 2612311260 is not a real date and time: 60 is not a minute",
        ),
        (f"(01){GTIN}(8008)2612312400", "24 is not an hour (00 to 23)"),
        (f"(01){GTIN}(8008)261231123", "is not in GS1's form (N6+N2+[N2]+[N2])"),
        ("(8018)095060001343520000(7250)20260229", "The (7250) date of birth 20260229 is not"),
        # (4330) the minus sign is a hyphen or nothing.
        (
            "(00)106141411234567897(4330)001234+",
            "The (4330) minus sign '+' should be a hyphen (-)",
        ),
        # Flags and the GRAI's leading zero.
        (
            "(00)106141411234567897(4321)2",
            "The (4321) DANGEROUS GOODS 2 should be 0 (no) or 1 (yes)",
        ),
        ("(8003)19506000134352SER1", "The (8003) leading digit 1 should be 0"),
        (
            "(8003)09506000134353SER1",
            "The (8003) asset type's check digit is wrong: 9506000134353 should end in 2",
        ),
        # (8030) base64url: no '+' or '/' of plain base64; padding up to a multiple of 3.
        (
            f"(01){GTIN}(21)SER1(8030)U2ln+bmVk",
            "(8030) DIGSIG 'U2ln+bmVk' has a character GS1 does not allow there: '+'",
        ),
        (
            f"(01){GTIN}(21)SER1(8030)U2lnbmVk==",
            "(8030) DIGSIG 'U2lnbmVk==' ends in padding ('=') that does not fit it",
        ),
        (f"(01){GTIN}(21)SER1(8030)U2ln===", "'U2ln===' has a character GS1 does not allow"),
        # No content rule, but a length.
        (f"(01){GTIN}(7240){'P' * 21}", "(7240) PROTOCOL '" + "P" * 21 + "' is too long"),
        # AIs GS1 does not define.
        ("(23)12", "(23) is not a GS1 application identifier"),
        ("]C12312", "2312 does not start with a GS1 application identifier"),
        (f"]C101{GTIN}2312", f"After (01){GTIN} the label data 2312 is not a GS1 field"),
        (f"(01){GTIN}(8040)12345", "(8040) IMEI 12345 is not in GS1's form (N15)"),
    ],
)
def test_gs1_data_that_breaks_a_content_rule_is_refused_with_the_rule(
    scan: str, message: str
) -> None:
    with pytest.raises(ScanError) as refused:
        read_scan(scan)
    assert message in str(refused.value)


def test_the_same_rules_hold_in_an_element_string() -> None:
    with pytest.raises(ScanError, match=r"winding direction 5 should be 0"):
        read_scan(f"]C101{GTIN}800105000030005051")
    assert read_scan(f"]C101{GTIN}800105000030005011{GS}10LOT1").item is not None


def test_a_predefined_length_field_needs_no_separator_and_others_do() -> None:
    # (11) is of predefined length in GS1's dictionary; (4324) is fixed-length, yet needs GS.
    scan = read_scan(f"]C101{GTIN}1126010110LOT1")
    assert scan.item is not None and scan.item.ai == {"01": GTIN, "11": "260101", "10": "LOT1"}
    with pytest.raises(ScanError, match="is too long"):
        read_scan("]C100106141411234567897432426123109300")


def test_every_content_rule_of_ours_is_registered_and_the_check_pair_is_gs1s() -> None:
    assert set(LINTERS) >= OURS
    named = {
        linter
        for entry in gs1_dictionary.entries().values()
        for component in entry.components
        for linter in component.linters
    }
    assert named == set(LINTERS), "every content rule GS1's dictionary names, and no other"
    assert check_pair("1987654Ad4X4bL5ttr2310c") == "2K"
    assert check_pair("") == "22"


AIS = [*sorted(gs1_dictionary.entries()), "717", "8040", "8041", "8042", "8043", "23", "99"]
VALUES = st.text(alphabet=st.sampled_from("0123456789ABCXYZaz-/%#=_+ ." + GS + "é"), max_size=40)
ELEMENTS = st.lists(st.tuples(st.sampled_from(AIS), VALUES), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_is_a_scan_or_a_refusal(text: str) -> None:
    _read_or_refuse(text)


@settings(max_examples=400, deadline=None)
@given(ELEMENTS, st.sampled_from(["]C1", "]d2", ""]))
def test_any_element_string_of_random_ais_and_values_is_a_scan_or_a_refusal(
    elements: list[tuple[str, str]], symbology: str
) -> None:
    _read_or_refuse(symbology + GS.join(ai + value for ai, value in elements))
    _read_or_refuse("".join(f"({ai}){value}" for ai, value in elements))


def _read_or_refuse(text: str) -> None:
    try:
        assert isinstance(read_scan(text), Scan)
    except ScanError as refused:
        assert str(refused)
